"""The stream job end to end on the example model: real source and merge databases."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from datasurface.platforms.yellow.job import JobOutcome
from tests.job.harness import PLATFORMS, SECRET, STORE, Stack, address, customer, load_source


def _initial(stack: Stack) -> None:
    load_source(stack, [customer(i) for i in range(1, 21)], [address(i, i) for i in range(1, 21)])


@pytest.mark.parametrize("platform", PLATFORMS)
def test_batches_follow_the_source(stack: Stack, platform: str) -> None:
    _initial(stack)
    first = stack.run(platform)
    assert (first.outcome, first.batch_id, first.counts.inserted) == (JobOutcome.DONE, 1, 40)
    assert stack.live_rows(platform, "customers") == stack.source_rows("customers")
    assert stack.live_rows(platform, "addresses") == stack.source_rows("addresses")

    # Change set: update two customers (one NULL -> value), delete one with its address, add one.
    rows = [customer(i) for i in range(1, 21) if i != 5]
    rows[1] = customer(2, email="changed@example.com")
    rows[2] = customer(3, phone="+1-555-9999")  # was NULL
    rows.append(customer(21))
    addrs = [address(i, i) for i in range(1, 21) if i != 5] + [address(21, 21), address(22, 21, "shipping")]
    load_source(stack, rows, addrs)
    second = stack.run(platform)
    assert second.outcome is JobOutcome.DONE and second.batch_id == 2
    assert (second.counts.inserted, second.counts.updated, second.counts.deleted) == (3, 2, 2)
    assert stack.live_rows(platform, "customers") == stack.source_rows("customers")
    assert stack.live_rows(platform, "addresses") == stack.source_rows("addresses")

    # A no-change batch commits and changes nothing.
    before = stack.merge_rows(platform, "customers", synthetic=True)
    third = stack.run(platform)
    assert (third.batch_id, third.counts.inserted, third.counts.updated, third.counts.deleted) == (3, 0, 0, 0)
    assert stack.merge_rows(platform, "customers", synthetic=True) == before
    assert [b["state"] for b in stack.batches(platform)] == ["COMMITTED"] * 3


def test_forensic_history_keeps_every_version(stack: Stack) -> None:
    _initial(stack)
    stack.run("YellowForensic")
    load_source(stack, [customer(i) for i in range(2, 21)], [address(i, i) for i in range(2, 21)])  # delete c1
    stack.run("YellowForensic")
    load_source(stack, [customer(i) for i in range(1, 21)], [address(i, i) for i in range(1, 21)])  # c1 is back
    stack.run("YellowForensic")
    versions = [r for r in stack.merge_rows("YellowForensic", "customers") if r["id"] == "c00001"]
    assert [(v["ds_surf_batch_in"], v["ds_surf_batch_out"]) for v in versions] == [(1, 1), (3, 2147483647)]


def test_keep_working_resumes_until_done(stack: Stack) -> None:
    load_source(stack, [customer(i) for i in range(1, 251)], [address(i, i) for i in range(1, 251)])
    outcomes = []
    for _ in range(20):
        result = stack.run("YellowLive", max_rows=100, chunk_rows=40)
        outcomes.append(result.outcome)
        if result.outcome is JobOutcome.DONE:
            break
    assert outcomes[0] is JobOutcome.KEEP_WORKING and outcomes[-1] is JobOutcome.DONE
    assert len(outcomes) >= 5  # 500 rows at 100 per run
    assert stack.live_rows("YellowLive", "customers") == stack.source_rows("customers")
    assert stack.batches("YellowLive")[0]["rows_total"] == 500


def test_cli_exit_codes_and_status_json(stack: Stack) -> None:
    _initial(stack)
    first = stack.job("run", "YellowLive", "--max-rows", "10", "--chunk-rows", "10")
    assert first.returncode == 75, first.stderr
    status = json.loads(stack.job("status", "YellowLive", "--json").stdout)
    assert status["batch_id"] == 1 and status["state"] == "STARTED"
    assert status["datasets"]["customers"]["rows_staged"] == 10
    done = stack.job("run", "YellowLive", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "DONE"
    status = json.loads(stack.job("status", "YellowLive", "--json").stdout)
    assert status["state"] == "COMMITTED" and status["rows_inserted"] == 40 and status["rows_total"] == 40
    assert status["started_at"].endswith("+00:00") and status["ended_at"].endswith("+00:00")


def test_duplicate_keys_fail_the_batch_and_merge_nothing(stack: Stack) -> None:
    """The second dataset (addresses) has a duplicate key: customers must not be merged."""
    with stack.source.begin() as conn:
        conn.execute(text("ALTER TABLE addresses DROP CONSTRAINT addresses_pkey"))
    _initial(stack)
    with stack.source.begin() as conn:
        conn.execute(text("INSERT INTO addresses SELECT * FROM addresses WHERE id = 'a00007'"))
    result = stack.job("run", "YellowForensic")
    assert result.returncode == 1
    assert "Stream 'Store1' / Dataset 'addresses'" in result.stderr and "a00007" in result.stderr
    assert stack.merge_rows("YellowForensic", "customers") == []
    assert stack.batches("YellowForensic")[0]["state"] == "FAILED"
    # Fixed at the source, the next run starts a new batch and commits.
    with stack.source.begin() as conn:
        conn.execute(text("DELETE FROM addresses WHERE ctid IN (SELECT max(ctid) FROM addresses WHERE id = 'a00007')"))
    assert stack.job("run", "YellowForensic").returncode == 0
    assert [b["state"] for b in stack.batches("YellowForensic")] == ["FAILED", "COMMITTED"]
    assert len(stack.live_rows("YellowForensic", "customers")) == 20


def test_model_change_mid_batch_restarts_the_batch(stack: Stack) -> None:
    _initial(stack)
    stack.run("YellowForensic")  # batch 1 committed with the old schema
    assert stack.run("YellowForensic", max_rows=5, chunk_rows=5).outcome is JobOutcome.KEEP_WORKING
    # The producer adds a nullable column, at the source and in the model.
    with stack.source.begin() as conn:
        conn.execute(text("ALTER TABLE customers ADD COLUMN loyalty_tier varchar(10)"))
        conn.execute(text("UPDATE customers SET loyalty_tier = 'gold' WHERE id = 'c00002'"))
    eco = stack.model_dir / "eco.py"
    eco.write_text(
        eco.read_text().replace(
            'DDLColumn("updated_at", Timestamp(), nullable=False),\n            ],\n            primary_key=["id"],\n        ),\n        classification=DataClassification.PII,\n    )\n\n\ndef _addresses',
            'DDLColumn("updated_at", Timestamp(), nullable=False),\n                DDLColumn("loyalty_tier", VarChar(10)),\n            ],\n            primary_key=["id"],\n        ),\n        classification=DataClassification.PII,\n    )\n\n\ndef _addresses',
        )
    )
    assert "loyalty_tier" in eco.read_text()
    result = stack.run("YellowForensic")
    assert result.outcome is JobOutcome.DONE and result.batch_id == 2
    batches = stack.batches("YellowForensic")
    assert batches[1]["reason"].startswith("reset: the model changed mid-batch (schema changed: customers)")
    history = [r for r in stack.merge_rows("YellowForensic", "customers") if r["id"] == "c00002"]
    assert [(r["loyalty_tier"], r["ds_surf_batch_in"], r["ds_surf_batch_out"]) for r in history] == [
        (None, 1, 1),
        ("gold", 2, 2147483647),
    ]
    assert stack.live_rows("YellowForensic", "customers") == stack.source_rows("customers")


def test_job_reset_refuses_a_committed_batch_and_restarts_an_open_one(stack: Stack) -> None:
    _initial(stack)
    assert stack.job("run", "YellowLive").returncode == 0
    refused = stack.job("reset", "YellowLive")
    assert refused.returncode == 1 and "batch 1 is COMMITTED" in refused.stderr
    assert stack.job("run", "YellowLive", "--max-rows", "5", "--chunk-rows", "5").returncode == 75
    reset = stack.job("reset", "YellowLive")
    assert reset.returncode == 0 and "batch 2 reset to STARTED" in reset.stdout
    status = json.loads(stack.job("status", "YellowLive", "--json").stdout)
    assert status["state"] == "STARTED" and status["datasets"]["customers"]["rows_staged"] == 0
    assert stack.job("run", "YellowLive").returncode == 0


def test_errors_name_the_stream_and_never_print_secrets(stack: Stack, tmp_path: Path) -> None:
    _initial(stack)
    with stack.source.begin() as conn:
        conn.execute(text("ALTER TABLE addresses RENAME TO addresses_gone"))
    failed = stack.job("run", "YellowLive")
    assert failed.returncode == 1
    assert "Platform 'YellowLive' / Stream 'Store1' / Dataset 'addresses'" in failed.stderr
    assert "Traceback" not in failed.stderr
    missing = stack.job("run", "YellowLive", extra_env={"CUSTOMER_DB_USER": ""})
    assert missing.returncode == 1
    assert "Credential 'customer_db': environment variable CUSTOMER_DB_USER is not set" in missing.stderr
    bad_db = stack.job("run", "YellowLive", extra_env={"DATASURFACE_MERGE_DB": "no_such_db"})
    assert bad_db.returncode == 1
    for result in (failed, missing, bad_db):
        assert SECRET not in result.stdout + result.stderr
    unknown = stack.job("run", "YellowPurple")
    assert unknown.returncode == 1 and "Platform 'YellowPurple' is not in the model" in unknown.stderr


def test_a_second_job_on_a_busy_stream_touches_nothing(stack: Stack) -> None:
    _initial(stack)
    import os
    import subprocess
    import sys

    env = {**os.environ, **stack.env, "DATASURFACE_PAUSE_AT": "inside-merge:6"}
    first = subprocess.Popen(
        [sys.executable, "-m", "datasurface.cli", "job", "run", "--model", str(stack.model_dir),
         "--platform", "YellowForensic", "--stream", STORE],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the first job is inside its merge
            with stack.merge.connect() as conn:
                held = conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).scalar_one()
                staged = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")
                ).scalar_one()
            if held and staged:
                break
            time.sleep(0.1)
        second = stack.job("run", "YellowForensic")
        assert second.returncode == 0
        assert "busy, another job holds the stream; nothing was changed" in second.stdout + second.stderr
    finally:
        _out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert [b["state"] for b in stack.batches("YellowForensic")] == ["COMMITTED"]
    assert len(stack.live_rows("YellowForensic", "customers")) == 20


def test_widening_a_type_keeps_the_consumer_views(stack: Stack) -> None:
    """Postgres refuses ALTER COLUMN TYPE under a view: the job drops and recreates them."""
    _initial(stack)
    assert stack.job("run", "YellowForensic").returncode == 0
    assert (
        stack.cli("views", "reconcile", "--model", str(stack.model_dir), "--platform", "YellowForensic").returncode == 0
    )
    eco = stack.model_dir / "eco.py"
    eco.write_text(
        eco.read_text().replace('DDLColumn("first_name", VarChar(100)', 'DDLColumn("first_name", VarChar(300)', 1)
    )
    with stack.source.begin() as conn:
        conn.execute(text("ALTER TABLE customers ALTER COLUMN first_name TYPE varchar(300)"))
        conn.execute(text("UPDATE customers SET first_name = repeat('x', 250) WHERE id = 'c00003'"))
    widened = stack.job("run", "YellowForensic")
    assert widened.returncode == 0, widened.stderr
    assert "views recreated" in widened.stderr
    listing = json.loads(
        stack.cli("views", "list", "--model", str(stack.model_dir), "--platform", "YellowForensic", "--json").stdout
    )
    text_listing = json.dumps(listing)
    assert '"exists": false' not in text_listing and '"exists": true' in text_listing
    with stack.merge.connect() as conn:
        width = conn.execute(
            text(
                "SELECT character_maximum_length FROM information_schema.columns"
                " WHERE table_name = 'yellowforensic__store1__customers__hist' AND column_name = 'first_name'"
            )
        ).scalar_one()
    assert width == 300
