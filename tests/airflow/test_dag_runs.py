"""Stream DAGs run with `dag.test()` (local launcher) against real Postgres: the exit code of
`datasurface job run` drives the run: 0 DONE, 75 KEEP_WORKING (re-trigger), other ERROR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from datasurface.platforms.yellow import naming
from datasurface.platforms.yellow.stream_config import dag_id_for
from tests.airflow.helpers import dag_runs, parse, write_model_config
from tests.job.harness import STORE, Stack

PLATFORM = "YellowLive"
DAG_ID = dag_id_for(PLATFORM, STORE)


def _write_config(stack: Stack) -> None:
    configs = write_model_config(stack, PLATFORM)
    # Store1, the transformer's output MaskedCustomers, and Consumer1's transformer.
    assert {c.launcher for c in configs} == {"local"} and len(configs) == 3


def _run(shim: Path) -> tuple[Any, dict[str, str]]:
    bag = parse(shim)
    assert bag.import_errors == {}
    dag = bag.dags[DAG_ID]
    run = dag.test()
    return run, {ti.task_id: ti.state for ti in run.get_task_instances()}


def _runs() -> list[Any]:
    return dag_runs(DAG_ID)


def test_done_commits_a_batch(stack: Stack, shim: Path) -> None:
    _write_config(stack)

    run, states = _run(shim)

    assert run.state == "success"
    assert states == {"job": "success", "done": "success", "keep_working": "skipped"}
    batches = stack.batches(PLATFORM)
    assert [b["state"] for b in batches] == ["COMMITTED"]
    assert batches[0]["rows_inserted"] == 60
    assert len(stack.live_rows(PLATFORM, "customers")) == 30


def test_keep_working_retriggers_the_dag(stack: Stack, shim: Path) -> None:
    # A row budget of 10 with chunks of 10: the first run stages a chunk and exits 75.
    eco = stack.model_dir / "eco.py"
    text = eco.read_text()
    anchor = 'namespace=_env("DATASURFACE_NAMESPACE", "datasurface"),'
    assert anchor in text
    eco.write_text(text.replace(anchor, anchor + " max_rows_per_run=10, chunk_rows=10,"))
    _write_config(stack)
    before = {r.run_id for r in _runs()}

    run, states = _run(shim)

    assert run.state == "success"
    assert states == {"job": "skipped", "keep_working": "success", "done": "skipped"}
    assert [b["state"] for b in stack.batches(PLATFORM)] == ["STARTED"]
    queued = [r for r in _runs() if r.run_id not in before and r.run_id != run.run_id]
    assert len(queued) == 1
    assert queued[0].state == "queued"
    assert queued[0].conf["datasurface"] == "KEEP_WORKING"
    assert queued[0].conf["previous_run_id"] == run.run_id


def test_error_fails_the_run(stack: Stack, shim: Path, factory_env: pytest.MonkeyPatch) -> None:
    _write_config(stack)
    factory_env.delenv("POSTGRES_USER")  # the job can't build the merge credential: exit 1

    run, states = _run(shim)

    assert run.state == "failed"
    assert states == {"job": "failed", "done": "upstream_failed", "keep_working": "skipped"}
    with stack.merge.connect() as conn:  # nothing started: it failed before touching the database
        assert not inspect(conn).has_table(naming.batch_metrics_table(PLATFORM))
