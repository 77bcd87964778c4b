"""The pipeline graph: streams per platform, from the model and the assignments."""

from __future__ import annotations

import json
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


def test_cli_dot_and_unknown_platform() -> None:
    cmd = [sys.executable, "-m", "datasurface.cli", "graph", str(SANDBOX_MODEL)]
    dot = subprocess.run([*cmd, "--dot"], capture_output=True, text=True, check=True).stdout
    assert dot.startswith("digraph") and '"YellowLive:Store1" -> "Consumer1/LiveDSG"' in dot
    bad = subprocess.run([*cmd, "--platform", "Purple"], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "Platform 'Purple' is not in the model" in bad.stderr
