"""One point in time per batch: a resumed batch re-reads what an earlier run staged; a batch
that spans runs says it is not point-in-time; and `job status` only reads, in UTC."""

from __future__ import annotations

import json

from sqlalchemy import text

from datasurface.platforms.yellow import naming
from datasurface.platforms.yellow.job import JobOutcome
from tests.job.harness import Stack, address, customer, load_source


def test_a_batch_resumed_after_a_kill_reads_every_dataset_again_in_one_snapshot(stack: Stack) -> None:
    load_source(stack, [customer(i) for i in range(1, 5)], [address(i, i) for i in range(1, 5)])
    assert stack.run("YellowLive").outcome is JobOutcome.DONE  # batch 1: a first load
    load_source(stack, [customer(i) for i in range(1, 6)], [address(i, i) for i in range(1, 6)])
    # Batch 2 is killed once its first dataset (customers, one chunk) is staged: the open
    # batch holds customers as they were before the source changed.
    killed = stack.job("run", "YellowLive", "--chunk-rows", "1000", extra_env={"DATASURFACE_KILL_AT": "after-chunk:1"})
    assert killed.returncode == -9, killed.stderr
    # The producer changes both tables (as one transaction) before the next run.
    new_customers = [customer(i, first_name=f"Changed{i}") for i in range(1, 7)]
    new_addresses = [address(i, i, city="Shelbyville") for i in range(1, 7)]
    load_source(stack, new_customers, new_addresses)
    result = stack.run("YellowLive")
    assert (result.outcome, result.batch_id) == (JobOutcome.DONE, 2)
    # Both datasets are the source at one moment: the changed one (not customers from before).
    assert stack.live_rows("YellowLive", "customers") == stack.source_rows("customers")
    assert stack.live_rows("YellowLive", "addresses") == stack.source_rows("addresses")
    status = json.loads(stack.job("status", "YellowLive", "--json").stdout)
    assert status["point_in_time"] is True
    assert status["datasets"]["customers"]["rows_staged"] == 6


def test_a_batch_that_spans_runs_is_recorded_as_not_point_in_time(stack: Stack) -> None:
    # 10 rows over a budget of 2 per run: no direct first load, the batch spans runs.
    load_source(stack, [customer(i) for i in range(1, 6)], [address(i, i) for i in range(1, 6)])
    first = stack.run("YellowLive", max_rows=2, chunk_rows=2)
    assert first.outcome is JobOutcome.KEEP_WORKING
    outcomes: list[JobOutcome] = [first.outcome]
    while outcomes[-1] is JobOutcome.KEEP_WORKING:
        outcomes.append(stack.run("YellowLive", max_rows=2, chunk_rows=2).outcome)
    status = json.loads(stack.job("status", "YellowLive", "--json").stdout)
    assert (status["state"], status["point_in_time"]) == ("COMMITTED", False)
    # The batch metrics row says so too.
    with stack.merge.connect() as conn:
        stored = conn.execute(
            text(
                f"SELECT batch_state->>'point_in_time' FROM \"{naming.batch_metrics_table('YellowLive')}\""
                " WHERE batch_id = 1"
            )
        ).scalar_one()
    assert stored == "false"
    assert stack.live_rows("YellowLive", "customers") == stack.source_rows("customers")
    # The next batch fits in one run: point-in-time again.
    assert stack.run("YellowLive").outcome is JobOutcome.DONE
    assert json.loads(stack.job("status", "YellowLive", "--json").stdout)["point_in_time"] is True


def test_exactly_max_rows_needs_one_run_and_no_empty_chunk(stack: Stack) -> None:
    load_source(stack, [customer(1)], [address(1, 1)])
    assert stack.run("YellowLive").outcome is JobOutcome.DONE  # batch 1: a first load
    # customers 4 + addresses 4 rows = max_rows, each a multiple of the chunk size.
    load_source(stack, [customer(i) for i in range(1, 5)], [address(i, i) for i in range(1, 5)])
    result = stack.run("YellowLive", max_rows=8, chunk_rows=2)
    assert (result.outcome, result.rows_staged_this_run) == (JobOutcome.DONE, 8)
    assert stack.live_rows("YellowLive", "addresses") == stack.source_rows("addresses")


def test_job_status_only_reads_and_prints_utc(stack: Stack) -> None:
    before = stack.job("status", "YellowLive", "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["batch_id"] is None
    with stack.merge.connect() as conn:  # status created nothing
        assert conn.execute(text("SELECT count(*) FROM pg_class WHERE relname LIKE 'yellowlive%'")).scalar_one() == 0
        assert (
            conn.execute(text("SELECT to_regclass(:t)"), {"t": naming.batch_metrics_table("YellowLive")}).scalar()
            is None
        )
    # The merge database's sessions run in a zone far from UTC.
    database = stack.merge.url.database
    with stack.merge.connect() as conn:
        conn.execute(text(f"ALTER DATABASE \"{database}\" SET timezone = 'Asia/Kolkata'"))
        conn.commit()
    stack.merge.dispose()
    load_source(stack, [customer(1)], [address(1, 1)])
    assert stack.job("run", "YellowLive").returncode == 0
    as_json = json.loads(stack.job("status", "YellowLive", "--json").stdout)
    assert as_json["started_at"].endswith("+00:00") and as_json["ended_at"].endswith("+00:00")
    plain = stack.job("status", "YellowLive").stdout
    assert f"started {as_json['started_at']}" in plain and "+05:30" not in plain
