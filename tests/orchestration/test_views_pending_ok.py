"""`views reconcile --pending-ok`: what the infrastructure DAG runs, so that a platform whose
first batches haven't committed yet doesn't show a failed run; real failures still exit 1."""

from __future__ import annotations

from tests.job.harness import Stack


def test_pending_views_exit_0_only_with_the_flag(stack: Stack) -> None:
    args = ["views", "reconcile", "--model", str(stack.model_dir), "--platform", "YellowLive"]
    strict = stack.cli(*args)
    assert strict.returncode == 1 and "pending" in strict.stdout
    tolerant = stack.cli(*args, "--pending-ok")
    assert tolerant.returncode == 0, tolerant.stderr
    assert "pending" in tolerant.stdout  # still reported


def test_pending_ok_does_not_hide_a_broken_database(stack: Stack) -> None:
    args = ["views", "reconcile", "--model", str(stack.model_dir), "--platform", "YellowLive", "--pending-ok"]
    broken = stack.cli(*args, extra_env={"DATASURFACE_MERGE_DB": "no_such_database"})
    assert broken.returncode == 1
