"""sandbox/scripts/e2e.sh, the steps of .github/workflows/kind-e2e.yml, against the fake
docker/kind/kubectl: it passes on a sandbox that commits batches and re-runs cleanly, and
fails, saying why, when no batch commits or a re-run restarts a pod."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from .conftest import REPO_ROOT
from .test_make_up import STAMP, _env, _events, _fake_bin

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "kind-e2e.yml"


def _e2e(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    path = f"{_fake_bin(tmp_path)}:{os.environ['PATH']}"
    env = _env(tmp_path, path, {"E2E_MAKE": f"make --no-print-directory -o {STAMP}", **extra})
    return subprocess.run(
        ["bash", str(REPO_ROOT / "sandbox" / "scripts" / "e2e.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_e2e_passes_on_a_healthy_sandbox(tmp_path: Path) -> None:
    done = _e2e(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 committed batch(es)" in done.stdout
    assert "yellowforensic__consumer1__views.forensicdsg__store1__customers__vh: 42 row(s)" in done.stdout
    assert "nothing restarted, re-created or re-run" in done.stdout
    events = _events(tmp_path)
    # up, up (no change), down, up (start), purge.
    assert events.count("create cluster") == 1
    assert "stop datasurface-control-plane" in events and "start datasurface-control-plane" in events
    assert events[-1] == "delete cluster"
    assert done.stdout.rstrip().endswith(")") and "e2e: ok" in done.stdout


def test_e2e_fails_when_no_batch_commits(tmp_path: Path) -> None:
    done = _e2e(tmp_path, FAKE_BATCHES="0", E2E_TIMEOUT_BATCH="1")
    assert done.returncode != 0
    assert "no COMMITTED batch in datasurface_merge.yellowforensic__batch_metrics after 1s" in done.stderr
    assert "STOPPED at step [2/6]" in done.stderr


def test_e2e_fails_when_a_rerun_restarts_a_pod(tmp_path: Path) -> None:
    done = _e2e(tmp_path, FAKE_RESTART_ON_RERUN="airflow-scheduler")
    assert done.returncode != 0
    assert "ERROR: the re-run changed the cluster" in done.stderr
    assert "airflow-scheduler-6d5f8-abcde restarts=1," in done.stderr


def test_the_workflow_runs_the_script_on_dispatch_and_nightly() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as True.
    triggers = workflow.get("on", workflow.get(True))
    assert "workflow_dispatch" in triggers and triggers["schedule"][0]["cron"]
    steps = workflow["jobs"]["e2e"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert any(r.strip() == "bash sandbox/scripts/e2e.sh" for r in runs)
    cleanup = next(s for s in steps if "PURGE=1" in s.get("run", ""))
    assert cleanup["if"] == "always()"
