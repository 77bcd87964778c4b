"""The pipeline graph: streams per platform, from the model and the assignments."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

from datasurface import model as m
from datasurface.graph import DSGRef, build_graph
from tests.model.builders import valid_bundle

SANDBOX_MODEL = Path(__file__).resolve().parents[2] / "sandbox" / "model"


def test_multi_dataset_store_is_one_stream_with_only_the_needed_datasets() -> None:
    b = valid_bundle()  # the store has people and contractors; only people is sunk
    graphs = {g.platform.name: g for g in build_graph(b.eco, b.assignments)}
    live = graphs["live_p"].streams
    assert [(s.stream, s.datasets, s.dsgs) for s in live] == [("hr", ["people"], [DSGRef("analytics", "live")])]
    assert live[0].cron == "*/5 * * * *" and live[0].trigger == "cron:*/5 * * * *"
    forensic = graphs["forensic_p"].streams
    assert [(s.stream, s.dsgs) for s in forensic] == [("hr", [DSGRef("analytics", "history")])]


def test_single_dataset_store_has_a_stream_per_dataset() -> None:
    b = valid_bundle()
    capture = b.store.capture
    assert isinstance(capture, m.SQLSnapshotIngestion)
    capture.consistency = m.IngestionConsistency.SINGLE_DATASET
    capture.trigger = m.ExternallyTriggered()
    b.workspace.dsgs[0].sinks.append(m.DatasetSink("hr", "contractors"))
    b.workspace.priority = 7
    (graph,) = build_graph(b.eco, b.assignments, platform="live_p")
    assert [(s.stream, s.datasets, s.trigger, s.cron, s.priority) for s in graph.streams] == [
        ("hr.contractors", ["contractors"], "external", None, 7),
        ("hr.people", ["people"], "external", None, 7),
    ]


def test_decommissioned_assignments_have_no_streams() -> None:
    b = valid_bundle()
    b.assignments.assignments[0].status = m.AssignmentStatus.DECOMMISSIONED
    graphs = {g.platform.name: g for g in build_graph(b.eco, b.assignments)}
    assert graphs["live_p"].streams == []


def test_cli_json_lists_streams_for_both_sandbox_platforms() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "datasurface.cli", "graph", str(SANDBOX_MODEL), "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    streams = json.loads(out)["streams"]
    assert {(s["platform"], s["stream"]) for s in streams} == {
        ("YellowLive", "Store1"),
        ("YellowForensic", "Store1"),
        ("YellowLive", "MaskedCustomers"),  # the transformer's output, read by MaskedConsumer
    }
    store1 = [s for s in streams if s["stream"] == "Store1"]
    assert all(s["datasets"] == ["customers", "addresses"] and s["trigger"] for s in store1)
    (masked,) = [s for s in streams if s["stream"] == "MaskedCustomers"]
    assert masked["datasets"] == ["customers"] and masked["trigger"] == "external"
    assert masked["dsgs"] == [{"workspace": "MaskedConsumer", "dsg": "MaskedDSG"}]
    # Not just "external": the stream says which transformer writes its store.
    assert masked["fed_by"] == {"kind": "transformer", "workspace": "Consumer1"}
    assert all(s["fed_by"] == {"kind": "source", "store": "Store1"} for s in store1)


def test_cli_dot_and_unknown_platform() -> None:
    cmd = [sys.executable, "-m", "datasurface.cli", "graph", str(SANDBOX_MODEL)]
    dot = subprocess.run([*cmd, "--dot"], capture_output=True, text=True, check=True).stdout
    assert dot.startswith("digraph") and '"stream:YellowLive:Store1" -> "dsg:YellowLive:Consumer1/LiveDSG"' in dot
    bad = subprocess.run([*cmd, "--platform", "Purple"], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "Platform 'Purple' is not in the model" in bad.stderr


def _sandbox_graph(*flags: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "datasurface.cli", "graph", str(SANDBOX_MODEL), *flags],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_cli_json_has_the_transformer_and_lineage_end_to_end() -> None:
    """The sandbox (eco.py): Store1 feeds Consumer1's LiveDSG on YellowLive, Consumer1's
    transformer reads it and writes MaskedCustomers, which MaskedConsumer reads on YellowLive."""
    data = json.loads(_sandbox_graph("--json"))
    assert data["transformers"] == [
        {
            "platform": "YellowLive",
            "workspace": "Consumer1",
            "output_store": "MaskedCustomers",
            "output_stream": "MaskedCustomers",
            "input_streams": ["Store1"],
            "inputs": [{"workspace": "Consumer1", "dsg": "LiveDSG"}],
            "trigger": "after its inputs commit",
        }
    ]
    chain = [
        "store:Store1",
        "stream:YellowLive:Store1",
        "dsg:YellowLive:Consumer1/LiveDSG",
        "transformer:YellowLive:Consumer1",
        "store:MaskedCustomers",
        "stream:YellowLive:MaskedCustomers",
        "dsg:YellowLive:MaskedConsumer/MaskedDSG",
    ]
    edges = {(e["from"], e["to"]) for e in data["edges"]}
    assert set(itertools.pairwise(chain)) <= edges
    assert ("store:Store1", "stream:YellowForensic:Store1") in edges
    assert ("stream:YellowForensic:Store1", "dsg:YellowForensic:Consumer1/ForensicDSG") in edges
    assert len(edges) == 8  # the seven-node chain's six, plus the forensic platform's two
    kinds = {n["id"]: n["kind"] for n in data["nodes"]}
    assert {kinds[n] for n in chain} == {"store", "stream", "dsg", "transformer"}
    assert {e for pair in edges for e in pair} == set(kinds)


def test_cli_mermaid_draws_the_same_edges_as_the_json() -> None:
    mermaid = _sandbox_graph("--mermaid")
    data = json.loads(_sandbox_graph("--json"))
    assert mermaid.splitlines()[0] == "flowchart LR"
    labels = dict(re.findall(r'^\s*(n\d+)[\[\(\{]+"([^"]+)"', mermaid, flags=re.MULTILINE))
    arrows = {(labels[a], labels[b]) for a, b in re.findall(r"^\s*(n\d+) --> (n\d+)$", mermaid, flags=re.MULTILINE)}
    prefix = {"store": "", "stream": "stream ", "dsg": "DSG ", "transformer": ""}
    label_of = {n["id"]: prefix[n["kind"]] + n["label"] for n in data["nodes"]}
    # Labels repeat across platforms (stream Store1 on both), but each (from, to) pair is unique.
    assert sorted(arrows) == sorted({(label_of[e["from"]], label_of[e["to"]]) for e in data["edges"]})
    assert mermaid.count("subgraph ") == 2 and "Consumer1 transformer" in mermaid


def test_mermaid_escapes_quotes_in_names() -> None:
    from datasurface.graph_draw import to_mermaid

    b = valid_bundle()
    b.workspace.dsgs[0].name = 'say "hi"'
    for a in b.assignments.assignments:
        if a.dsg == "live":
            a.dsg = 'say "hi"'
    text = to_mermaid(build_graph(b.eco, b.assignments, platform="live_p"))
    assert 'DSG analytics/say #quot;hi#quot;"]' in text
    assert '"hi"' not in text


def test_readme_shows_the_example_models_lineage_as_graph_draws_it() -> None:
    readme = (SANDBOX_MODEL.parents[1] / "README.md").read_text()
    assert f"```mermaid\n{_sandbox_graph('--mermaid')}```" in readme
