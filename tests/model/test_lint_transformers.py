"""Lint rules for DataTransformers: ownership of the output store, capture, code, cycles."""

from __future__ import annotations

from datasurface import model as m
from datasurface.model.lint import lint_ecosystem
from tests.model.builders import Bundle, people_dataset, valid_bundle


def with_transformer() -> Bundle:
    """The consumer workspace masks `hr.people` into its own store `masked_hr`."""
    b = valid_bundle()
    b.workspace.transformer = m.DataTransformer(
        m.CodeReference("maskers.people", "mask", "1.0", "transformers"), "masked_hr"
    )
    b.consumer.datastores.append(
        m.Datastore("masked_hr", [people_dataset("people")], m.DataTransformerOutput("analytics"))
    )
    return b


def rules(b: Bundle) -> list[tuple[str, str]]:
    return [(p.rule, p.path) for p in lint_ecosystem(b.eco, b.assignments).errors]


def test_a_well_formed_transformer_is_clean() -> None:
    assert rules(with_transformer()) == []


def test_output_store_must_exist() -> None:
    b = with_transformer()
    assert b.workspace.transformer is not None
    b.workspace.transformer.output_store = "nowhere"
    assert ("transformer-output-unknown", "Team 'consumers' / Workspace 'analytics' / DataTransformer") in rules(b)


def test_output_store_must_belong_to_the_same_team() -> None:
    b = with_transformer()
    store = b.consumer.datastores.pop()
    b.producer.datastores.append(store)
    assert ("transformer-output-other-team", "Team 'consumers' / Workspace 'analytics' / DataTransformer") in rules(b)


def test_output_store_capture_must_name_the_workspace() -> None:
    b = with_transformer()
    b.consumer.datastores[0].capture = m.DataTransformerOutput("someone_else")
    found = rules(b)
    assert ("transformer-output-capture", "Team 'consumers' / Datastore 'masked_hr'") in found
    assert ("transformer-output-orphan", "Team 'consumers' / Datastore 'masked_hr'") in found


def test_code_reference_must_be_well_formed() -> None:
    b = with_transformer()
    assert b.workspace.transformer is not None
    b.workspace.transformer.code = m.CodeReference("maskers..people", "mask-it", " ", "../outside")
    problems = [p for p in lint_ecosystem(b.eco, b.assignments).errors if p.rule == "transformer-code-reference"]
    messages = " | ".join(p.message for p in problems)
    assert len(problems) == 4
    assert "module 'maskers..people'" in messages and "callable 'mask-it'" in messages
    assert "version is empty" in messages and "folder '../outside'" in messages
    assert all(p.path == "Team 'consumers' / Workspace 'analytics' / DataTransformer" for p in problems)


def test_transformers_may_not_form_a_cycle() -> None:
    """analytics masks hr into masked_hr; a second workspace reads masked_hr and writes into a
    store analytics reads: masked_hr -> loop_store -> masked_hr."""
    b = with_transformer()
    b.consumer.datastores.append(
        m.Datastore("loop_store", [people_dataset("people")], m.DataTransformerOutput("loop_ws"))
    )
    b.consumer.workspaces.append(
        m.Workspace(
            "loop_ws",
            m.DataPlatformManagedDataContainer("managed"),
            [m.DatasetGroup("g", [m.DatasetSink("masked_hr", "people")])],
            m.DataTransformer(m.CodeReference("loop", "run", "1"), "loop_store"),
        )
    )
    assert rules(b) == []  # no cycle yet: analytics reads hr only
    b.workspace.dsgs[0].sinks.append(m.DatasetSink("loop_store", "people"))
    cycles = [p for p in lint_ecosystem(b.eco, b.assignments).errors if p.rule == "transformer-cycle"]
    assert len(cycles) == 1
    assert (
        "loop_store -> masked_hr -> loop_store" in cycles[0].message
        or "masked_hr -> loop_store -> masked_hr" in cycles[0].message
    )


def test_transformer_output_is_one_multi_dataset_stream() -> None:
    b = with_transformer()
    assert b.consumer.datastores[0].is_multi_dataset()


def _with_masked_reader(platform: str) -> Bundle:
    """`readers` reads analytics's transformer output `masked_hr` on `platform`."""
    b = with_transformer()
    milestoning = m.Milestoning.FORENSIC if platform == "forensic_p" else m.Milestoning.LIVE_ONLY
    b.consumer.workspaces.append(
        m.Workspace(
            "readers",
            m.DataPlatformManagedDataContainer("managed"),
            [m.DatasetGroup("masked", [m.DatasetSink("masked_hr", "people")], milestoning)],
        )
    )
    b.assignments.assignments.append(
        m.DSGPlatformAssignment("readers", "masked", platform, m.AssignmentStatus.PROVISIONED)
    )
    return b


def test_output_is_read_where_the_transformer_runs() -> None:
    # analytics is served on both platforms, so its transformer can run on either.
    assert rules(_with_masked_reader("forensic_p")) == []
    assert rules(_with_masked_reader("live_p")) == []


def test_output_read_on_a_platform_not_serving_the_transformer_workspace() -> None:
    b = _with_masked_reader("forensic_p")
    # analytics leaves forensic_p: nothing would run its transformer there.
    b.assignments.assignments[1].status = m.AssignmentStatus.DECOMMISSIONED
    problems = [p for p in lint_ecosystem(b.eco, b.assignments).errors if p.rule == "transformer-output-platform"]
    assert [p.path for p in problems] == ["Assignment 'readers/masked/forensic_p'"]
    assert "workspace 'analytics'" in problems[0].message and "platform 'forensic_p'" in problems[0].message


def test_a_decommissioned_reader_needs_no_transformer() -> None:
    b = _with_masked_reader("forensic_p")
    b.assignments.assignments[1].status = m.AssignmentStatus.DECOMMISSIONED
    b.assignments.assignments[2].status = m.AssignmentStatus.DECOMMISSIONED
    assert rules(b) == []
