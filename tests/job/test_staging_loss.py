"""Staging is UNLOGGED: a server crash empties it while the batch's checkpoints still count
its chunks as staged. The job must notice and ingest the batch again, ending exactly like a
run that was never interrupted. The loss is simulated by emptying staging behind the job's
back (which is what crash recovery does to an unlogged table), at each point it can happen.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from datasurface import embedded_pg
from datasurface.platforms.yellow import naming
from datasurface.platforms.yellow.job import JobOutcome
from tests.job.harness import PLATFORMS, STORE, Stack, address, customer, load_source, make_stack


def _staging(platform: str, dataset: str) -> str:
    return naming.quote_ident(naming.staging_table(platform, STORE, dataset))


def _lose_staging(stack: Stack, platform: str, *, keep_some: bool = False) -> None:
    with stack.merge.begin() as conn:
        for dataset in ("customers", "addresses"):
            if keep_some:  # only part of it: the merge's exact row count must catch this
                conn.execute(
                    text(
                        f"DELETE FROM {_staging(platform, dataset)} WHERE ctid IN (SELECT min(ctid) FROM {_staging(platform, dataset)})"
                    )
                )
            else:
                conn.execute(text(f"TRUNCATE {_staging(platform, dataset)}"))


def _second_batch_source(stack: Stack) -> None:
    rows = [customer(i, email=f"new{i}@example.com") if i % 4 == 0 else customer(i) for i in range(2, 26)]
    load_source(stack, rows, [address(i, i) for i in range(2, 26)])


def _check_batch_two(stack: Stack, platform: str) -> None:
    assert stack.live_rows(platform, "customers") == stack.source_rows("customers")
    assert stack.live_rows(platform, "addresses") == stack.source_rows("addresses")
    batches = stack.batches(platform)
    assert [(b["batch_id"], b["state"]) for b in batches] == [(1, "COMMITTED"), (2, "COMMITTED")]
    # c1 deleted, c21..c25 new, every 4th of c2..c20 changed; same for addresses (no changes).
    assert (batches[1]["rows_inserted"], batches[1]["rows_updated"], batches[1]["rows_deleted"]) == (10, 5, 2)
    assert batches[1]["rows_total"] == 48


@pytest.mark.parametrize("platform", PLATFORMS)
def test_staging_lost_mid_ingestion_is_ingested_again(stack: Stack, platform: str) -> None:
    load_source(stack, [customer(i) for i in range(1, 21)], [address(i, i) for i in range(1, 21)])
    assert stack.run(platform).outcome is JobOutcome.DONE
    _second_batch_source(stack)
    first = stack.run(platform, max_rows=10, chunk_rows=10)  # stops after one chunk
    assert first.outcome is JobOutcome.KEEP_WORKING and first.batch_id == 2
    _lose_staging(stack, platform)
    for _ in range(20):
        result = stack.run(platform, max_rows=10, chunk_rows=10)
        if result.outcome is JobOutcome.DONE:
            break
    assert result.outcome is JobOutcome.DONE and result.batch_id == 2
    _check_batch_two(stack, platform)


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("keep_some", [False, True], ids=["emptied", "partly"])
def test_staging_lost_after_ingestion_is_ingested_again(stack: Stack, platform: str, keep_some: bool) -> None:
    load_source(stack, [customer(i) for i in range(1, 21)], [address(i, i) for i in range(1, 21)])
    assert stack.run(platform).outcome is JobOutcome.DONE
    _second_batch_source(stack)
    # One chunk per dataset, the budget spent after each: the second run ends INGESTED.
    assert stack.run(platform, max_rows=1).outcome is JobOutcome.KEEP_WORKING
    ingested = stack.run(platform, max_rows=1)
    assert ingested.outcome is JobOutcome.KEEP_WORKING
    assert stack.batches(platform)[-1]["state"] == "INGESTED"
    _lose_staging(stack, platform, keep_some=keep_some)
    result = stack.run(platform)
    assert result.outcome is JobOutcome.DONE and result.batch_id == 2
    _check_batch_two(stack, platform)
    reasons = [b["reason"] for b in stack.batches(platform)]
    assert reasons[1] is not None and "re-ingested" in reasons[1]


def _crash_and_restart(data_dir: Path, port: int) -> None:
    """``pg_ctl stop -m immediate`` (no shutdown checkpoint: crash recovery at the next
    start, which resets every unlogged table), then start the server again."""
    data_dir = data_dir.resolve()
    # embedded_pg has no public crash helper: drive its pg_ctl the way its own stop() does.
    embedded_pg._run(
        "pg_ctl", ["-D", str(data_dir), "-w", "-m", "immediate", "stop"], data_dir, embedded_pg._run_as(), 60
    )
    embedded_pg.start(data_dir, port)


def test_a_real_crash_empties_staging_and_the_job_ingests_again(
    embedded_pg_tmp_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = "YellowForensic"
    data_dir, port = embedded_pg_tmp_dir / "server", embedded_pg.free_port()
    embedded_pg.start(data_dir, port)
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE crash_src")
        conn.execute("CREATE DATABASE crash_mrg")
    stack = make_stack(embedded_pg.url_for(port, "crash_src"), embedded_pg.url_for(port, "crash_mrg"), tmp_path)
    for name, value in stack.env.items():  # the model reads its hosts from the environment
        monkeypatch.setenv(name, value)
    try:
        load_source(stack, [customer(i) for i in range(1, 21)], [address(i, i) for i in range(1, 21)])
        assert stack.run(platform).outcome is JobOutcome.DONE
        _second_batch_source(stack)
        assert stack.run(platform, max_rows=1).outcome is JobOutcome.KEEP_WORKING
        assert stack.run(platform, max_rows=1).outcome is JobOutcome.KEEP_WORKING
        assert stack.batches(platform)[-1]["state"] == "INGESTED"
        stack.dispose()  # its pooled connections die with the server

        _crash_and_restart(data_dir, port)
        with stack.merge.connect() as conn:  # the crash did empty staging
            assert conn.execute(text(f"SELECT count(*) FROM {_staging(platform, 'customers')}")).scalar_one() == 0
        result = stack.run(platform)
        assert result.outcome is JobOutcome.DONE and result.batch_id == 2
        _check_batch_two(stack, platform)
    finally:
        stack.dispose()
