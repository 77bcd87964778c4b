"""Stream DAGs run with `dag.test()` (local launcher) against real Postgres: the exit code of
`datasurface job run` drives the run: 0 DONE, 75 KEEP_WORKING (re-trigger), other ERROR."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from datasurface.model.loader import load_model
from datasurface.platforms.yellow import naming
from datasurface.platforms.yellow.platform import YellowDataPlatform
from datasurface.platforms.yellow.stream_config import build_stream_configs, dag_id_for, sync_config_rows
from tests.airflow.helpers import parse
from tests.job.harness import STORE, Stack, address, customer, load_source, make_stack

PLATFORM = "YellowLive"
DAG_ID = dag_id_for(PLATFORM, STORE)


@pytest.fixture
def stack(
    pg_database_factory: Callable[[], str], tmp_path: Path, factory_env: pytest.MonkeyPatch, airflow_db: Path
) -> Iterator[Stack]:
    """A source and merge database, the example model with the local launcher, its config rows
    written as the merge handler would, and the environment a local Airflow worker would have."""
    s = make_stack(pg_database_factory(), pg_database_factory(), tmp_path)
    for name, value in s.env.items():
        factory_env.setenv(name, value)
    factory_env.setenv("DATASURFACE_PLATFORMS", PLATFORM)
    factory_env.setenv("DATASURFACE_FACTORY_DB_URL", s.merge_url)
    load_source(s, [customer(n) for n in range(30)], [address(n, n) for n in range(30)])
    try:
        yield s
    finally:
        s.dispose()


def _write_config(stack: Stack) -> None:
    model = load_model(stack.model_dir)
    platform = model.ecosystem.platform(PLATFORM)
    assert isinstance(platform, YellowDataPlatform)
    configs = build_stream_configs(model.ecosystem, model.assignments, platform, models_dir=str(stack.model_dir))
    assert [c.launcher for c in configs] == ["local"]
    with stack.merge.begin() as conn:
        sync_config_rows(conn, PLATFORM, configs, dt.datetime.now(dt.UTC))


def _run(shim: Path) -> tuple[Any, dict[str, str]]:
    bag = parse(shim)
    assert bag.import_errors == {}
    dag = bag.dags[DAG_ID]
    run = dag.test()
    return run, {ti.task_id: ti.state for ti in run.get_task_instances()}


def _runs() -> list[Any]:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == DAG_ID).order_by(DagRun.id).all()
        session.expunge_all()
        return runs


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
