"""Every lint rule: break a valid model in one place and check the problem names the object."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from datasurface import model as m
from datasurface.model.lint import lint_ecosystem
from datasurface.platforms.yellow.platform import YellowDataPlatform
from tests.model.builders import Bundle, people_dataset, valid_bundle


def test_the_valid_bundle_is_clean() -> None:
    bundle = valid_bundle()
    problems = lint_ecosystem(bundle.eco, bundle.assignments)
    assert problems.items == []


def _rename_column(b: Bundle) -> None:
    b.dataset.schema.columns[1].name = "first name"


def _second_team_same_store(b: Bundle) -> None:
    b.consumer.datastores.append(m.Datastore("hr", [people_dataset()], b.store.capture))


def _second_zone_same_team(b: Bundle) -> None:
    b.eco.zone_declarations.append(m.GovernanceZoneDeclaration("apac", m.GitHubRepository("acme/apac")))
    b.eco.zones.append(
        m.GovernanceZone(
            "apac",
            team_declarations=[m.TeamDeclaration("producers", m.GitHubRepository("acme/p2"))],
            teams=[m.Team("producers")],
        )
    )


def _duplicate_workspace(b: Bundle) -> None:
    b.producer.workspaces.append(m.Workspace("analytics", m.DataPlatformManagedDataContainer("managed")))


def _nullable_pk(b: Bundle) -> None:
    b.dataset.schema.columns[0].nullable = True


def _unknown_pk(b: Bundle) -> None:
    b.dataset.schema.primary_key = ["person_id"]


def _no_pk(b: Bundle) -> None:
    b.dataset.schema.primary_key = []


def _bad_cron(b: Bundle) -> None:
    capture = b.store.capture
    assert isinstance(capture, m.SQLSnapshotIngestion)
    capture.trigger = m.CronTrigger("61 * * * *")


def _sink_unknown_store(b: Bundle) -> None:
    b.workspace.dsgs[0].sinks[0].store = "payroll"


def _sink_unknown_dataset(b: Bundle) -> None:
    b.workspace.dsgs[0].sinks[0].dataset = "salaries"


def _deprecated_without_allowance(b: Bundle) -> None:
    b.dataset.deprecation = m.DeprecationStatus.DEPRECATED


def _no_sinks(b: Bundle) -> None:
    b.workspace.dsgs[0].sinks = []


def _no_container(b: Bundle) -> None:
    b.workspace.container = None


def _assign_unknown_workspace(b: Bundle) -> None:
    b.assignments.assignments.append(m.DSGPlatformAssignment("nowhere", "live", "live_p"))


def _assign_unknown_dsg(b: Bundle) -> None:
    b.assignments.assignments.append(m.DSGPlatformAssignment("analytics", "nothing", "live_p"))


def _assign_unknown_platform(b: Bundle) -> None:
    b.assignments.assignments.append(m.DSGPlatformAssignment("analytics", "live", "purple"))


def _forensic_on_live_platform(b: Bundle) -> None:
    b.assignments.assignments.append(m.DSGPlatformAssignment("analytics", "history", "live_p"))


def _bad_credential(b: Bundle) -> None:
    capture = b.store.capture
    assert isinstance(capture, m.SQLSnapshotIngestion)
    capture.credential = m.Credential("hr-cred")


def _bad_platform_credential(b: Bundle) -> None:
    platform = b.eco.platforms[0]
    assert isinstance(platform, YellowDataPlatform)
    platform.merge_credential = m.Credential("1merge")


def _container_not_allowed(b: Bundle) -> None:
    capture = b.store.capture
    assert isinstance(capture, m.SQLSnapshotIngestion)
    capture.source = m.PostgresDatabase("shadow_db", host="x", database="y")


def _platform_not_allowed(b: Bundle) -> None:
    b.zone.policies.allowed_platforms = ["live_p"]


def _undeclared_zone(b: Bundle) -> None:
    b.eco.zone_declarations = []


def _undeclared_team(b: Bundle) -> None:
    b.zone.team_declarations.pop()


def _reserved_column(b: Bundle) -> None:
    b.dataset.schema.columns.append(m.DDLColumn("ds_surf_batch_id", m.Integer()))


def _zero_length_varchar(b: Bundle) -> None:
    b.dataset.schema.columns[1].type = m.VarChar(0)


def _bad_decimal(b: Bundle) -> None:
    b.dataset.schema.columns[2].type = m.Decimal(4, 6)


def _bad_source_table(b: Bundle) -> None:
    capture = b.store.capture
    assert isinstance(capture, m.SQLSnapshotIngestion)
    capture.table_names = {"people": "x" * 70}


def _illegal_store_name(b: Bundle) -> None:
    b.store.name = "hr-data"
    for dsg in b.workspace.dsgs:
        dsg.sinks[0].store = "hr-data"


def _illegal_workspace_name(b: Bundle) -> None:
    b.workspace.name = "9lives"


def _duplicate_dsg(b: Bundle) -> None:
    b.workspace.dsgs[1].name = "live"


def _duplicate_assignment(b: Bundle) -> None:
    b.assignments.assignments.append(m.DSGPlatformAssignment("analytics", "live", "live_p"))


def _no_capture(b: Bundle) -> None:
    b.store.capture = None


# (case id, how to break the model, rule expected, path the problem must name)
CASES: list[tuple[str, Callable[[Bundle], None], str, str]] = [
    ("illegal column name", _rename_column, "illegal-name", "Team 'producers' / Datastore 'hr' / Dataset 'people' / Column 'first name'"),
    ("illegal store name", _illegal_store_name, "illegal-name", "Team 'producers' / Datastore 'hr-data'"),
    ("illegal workspace name", _illegal_workspace_name, "illegal-name", "Team 'consumers' / Workspace '9lives'"),
    ("duplicate datastore", _second_team_same_store, "duplicate-datastore", "Ecosystem 'acme'"),
    ("duplicate team", _second_zone_same_team, "duplicate-team", "Ecosystem 'acme'"),
    ("duplicate workspace", _duplicate_workspace, "duplicate-workspace", "Ecosystem 'acme'"),
    ("duplicate dataset", lambda b: b.store.datasets.append(people_dataset("people")), "duplicate-dataset", "Team 'producers' / Datastore 'hr'"),
    ("duplicate column", lambda b: b.dataset.schema.columns.append(m.DDLColumn("name", m.Text())), "duplicate-column", "Team 'producers' / Datastore 'hr' / Dataset 'people'"),
    ("duplicate column ignoring case", lambda b: b.dataset.schema.columns.append(m.DDLColumn("NAME", m.Text())), "duplicate-column", "Team 'producers' / Datastore 'hr' / Dataset 'people'"),
    ("duplicate dsg", _duplicate_dsg, "duplicate-dataset-group", "Team 'consumers' / Workspace 'analytics'"),
    ("nullable primary key", _nullable_pk, "primary-key-nullable", "Team 'producers' / Datastore 'hr' / Dataset 'people' / Column 'id'"),
    ("unknown primary key", _unknown_pk, "primary-key-column-missing", "Team 'producers' / Datastore 'hr' / Dataset 'people'"),
    ("no primary key", _no_pk, "no-primary-key", "Team 'producers' / Datastore 'hr' / Dataset 'people'"),
    ("bad cron", _bad_cron, "invalid-cron", "Team 'producers' / Datastore 'hr'"),
    ("sink to unknown store", _sink_unknown_store, "sink-unknown-store", "Team 'consumers' / Workspace 'analytics' / DSG 'live' / Sink 'payroll.people'"),
    ("sink to unknown dataset", _sink_unknown_dataset, "sink-unknown-dataset", "Team 'consumers' / Workspace 'analytics' / DSG 'live' / Sink 'hr.salaries'"),
    ("dsg without sinks", _no_sinks, "dsg-has-no-sinks", "Team 'consumers' / Workspace 'analytics' / DSG 'live'"),
    ("workspace without container", _no_container, "workspace-has-no-container", "Team 'consumers' / Workspace 'analytics'"),
    ("assignment to unknown workspace", _assign_unknown_workspace, "assignment-unknown-workspace", "Assignment 'nowhere/live/live_p'"),
    ("assignment to unknown dsg", _assign_unknown_dsg, "assignment-unknown-dsg", "Assignment 'analytics/nothing/live_p'"),
    ("assignment to unknown platform", _assign_unknown_platform, "assignment-unknown-platform", "Assignment 'analytics/live/purple'"),
    ("duplicate assignment", _duplicate_assignment, "duplicate-assignment", "Assignment 'analytics/live/live_p'"),
    ("forensic dsg on live-only platform", _forensic_on_live_platform, "platform-cannot-serve", "Assignment 'analytics/history/live_p'"),
    ("illegal credential name", _bad_credential, "credential-name", "Team 'producers' / Datastore 'hr'"),
    ("illegal platform credential", _bad_platform_credential, "credential-name", "Platform 'live_p'"),
    ("container the zone forbids", _container_not_allowed, "container-not-allowed", "Team 'producers' / Datastore 'hr'"),
    ("platform the zone forbids", _platform_not_allowed, "platform-not-allowed", "Assignment 'analytics/history/forensic_p'"),
    ("zone not declared", _undeclared_zone, "zone-not-declared", "Zone 'emea'"),
    ("team not declared", _undeclared_team, "team-not-declared", "Zone 'emea' / Team 'consumers'"),
    ("reserved column prefix", _reserved_column, "reserved-column-name", "Team 'producers' / Datastore 'hr' / Dataset 'people' / Column 'ds_surf_batch_id'"),
    ("zero-length varchar", _zero_length_varchar, "bad-type", "Team 'producers' / Datastore 'hr' / Dataset 'people' / Column 'name'"),
    ("scale above precision", _bad_decimal, "bad-type", "Team 'producers' / Datastore 'hr' / Dataset 'people' / Column 'balance'"),
    ("source table too long", _bad_source_table, "source-table-name", "Team 'producers' / Datastore 'hr' / Dataset 'people'"),
    ("store without capture", _no_capture, "store-has-no-capture", "Team 'producers' / Datastore 'hr'"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "breaker", "rule", "path"), CASES, ids=[c[0] for c in CASES])
def test_rule_reports_the_object(case: str, breaker: Callable[[Bundle], None], rule: str, path: str) -> None:
    bundle = valid_bundle()
    breaker(bundle)
    problems = lint_ecosystem(bundle.eco, bundle.assignments)
    matching = [p for p in problems.errors if p.rule == rule]
    assert matching, f"{case}: expected rule {rule}, got {[str(p) for p in problems.items]}"
    assert any(p.path == path for p in matching), [p.path for p in matching]
    assert all(p.message and p.hint for p in matching), "every problem says what is wrong and how to fix it"
    assert any(str(p).startswith(f"ERROR: {path}: ") for p in matching), "the printed line leads with the path"


def test_deprecated_dataset_used_is_a_warning_naming_the_sink() -> None:
    bundle = valid_bundle()
    _deprecated_without_allowance(bundle)
    problems = lint_ecosystem(bundle.eco, bundle.assignments)
    assert problems.errors == []
    assert [(p.rule, p.path) for p in problems.warnings] == [
        ("deprecated-dataset-used", "Team 'consumers' / Workspace 'analytics' / DSG 'live' / Sink 'hr.people'"),
        ("deprecated-dataset-used", "Team 'consumers' / Workspace 'analytics' / DSG 'history' / Sink 'hr.people'"),
    ]


def test_deprecated_dataset_is_fine_with_allowance() -> None:
    bundle = valid_bundle()
    bundle.dataset.deprecation = m.DeprecationStatus.DEPRECATED
    for dsg in bundle.workspace.dsgs:
        for sink in dsg.sinks:
            sink.allow_deprecated = True
    assert lint_ecosystem(bundle.eco, bundle.assignments).errors == []


def test_decommissioned_assignment_is_not_linted_by_the_platform() -> None:
    """A forensic DSG once wrongly on a live platform, now decommissioned, is history only."""
    bundle = valid_bundle()
    bundle.assignments.assignments.append(
        m.DSGPlatformAssignment("analytics", "history", "live_p", m.AssignmentStatus.DECOMMISSIONED)
    )
    assert lint_ecosystem(bundle.eco, bundle.assignments).errors == []


def test_warnings_do_not_count_as_errors() -> None:
    bundle = valid_bundle()
    bundle.producer.datastores.append(m.Datastore("empty_store", [], bundle.store.capture))
    problems = lint_ecosystem(bundle.eco, bundle.assignments)
    assert not problems.has_errors()
    assert [p.rule for p in problems.warnings] == ["store-has-no-datasets"]
