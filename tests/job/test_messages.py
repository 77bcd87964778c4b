"""The job's messages for a newcomer's mistakes: one line naming the object and the fix, no
traceback, no secret; and a value that doesn't fit its model type fails the batch."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from datasurface.model.containers import MySQLDatabase
from datasurface.model.credential import Credential
from datasurface.platforms.yellow import naming
from datasurface.platforms.yellow.connections import ConnectionFailedError, engine_for
from tests.job.harness import SECRET, Stack, address, customer, load_source


def _one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr and SECRET not in stderr
    return errors[0]


def test_wrong_source_port_and_wrong_merge_port_read_differently(stack: Stack) -> None:
    load_source(stack, [customer(1)], [address(1, 1)])
    bad_source = stack.job("run", "YellowLive", extra_env={"DATASURFACE_SOURCE_PORT": "1"})
    bad_merge = stack.job("run", "YellowLive", extra_env={"DATASURFACE_MERGE_PORT": "1"})
    assert bad_source.returncode == 1 and bad_merge.returncode == 1
    source_line, merge_line = _one_error_line(bad_source.stderr), _one_error_line(bad_merge.stderr)
    assert "Stream 'Store1': source database 'customer_db'" in source_line and ":1: cannot connect" in source_line
    assert "Stream 'Store1': merge database" in merge_line
    assert "merge database" not in source_line and "source database" not in merge_line
    # The wrong source port started no batch.
    status = json.loads(stack.job("status", "YellowLive", "--json").stdout)
    assert status["batch_id"] is None


def test_a_refused_login_names_the_credential_and_its_variables(stack: Stack) -> None:
    load_source(stack, [customer(1)], [address(1, 1)])
    result = stack.job("run", "YellowLive", extra_env={"CUSTOMER_DB_USER": "no_such_user"})
    line = _one_error_line(result.stderr)
    assert "credential 'customer_db'" in line and "CUSTOMER_DB_USER" in line and "CUSTOMER_DB_PASSWORD" in line
    assert "Platform 'YellowLive' / Stream 'Store1': source database 'customer_db'" in line


def test_a_wrong_mariadb_password_names_the_credential(mariadb_url: str) -> None:
    url = make_url(mariadb_url)
    container = MySQLDatabase("orders_db", host=url.host or "127.0.0.1", port=url.port or 3306, database="")
    env = {"ORDERS_CRED_USER": url.username or "root", "ORDERS_CRED_PASSWORD": "wrong-password"}
    engine = engine_for(container, Credential("orders_cred"), env, role="Stream 'Orders': source database")
    try:
        with pytest.raises(ConnectionFailedError) as info, engine.connect():
            pass
    finally:
        engine.dispose()
    message = str(info.value)
    assert "Stream 'Orders': source database 'orders_db'" in message
    assert "credential 'orders_cred'" in message and "ORDERS_CRED_USER" in message
    assert "ORDERS_CRED_PASSWORD" in message and "wrong-password" not in message


def test_a_transformer_fed_stream_run_first_says_so_and_opens_no_batch(stack: Stack) -> None:
    load_source(stack, [customer(1)], [address(1, 1)])
    result = stack.cli(
        "job", "run", "--model", str(stack.model_dir), "--platform", "YellowLive", "--stream", "MaskedCustomers"
    )
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert "does not exist" in line and "workspace 'Consumer1'" in line and "datasurface transformer run" in line
    with stack.merge.connect() as conn:
        open_batches = conn.execute(
            text(
                f'SELECT count(*) FROM "{naming.batch_metrics_table("YellowLive")}"'
                " WHERE stream = 'MaskedCustomers' AND state IN ('STARTED', 'INGESTED')"
            )
        ).scalar_one()
    assert open_batches == 0


def test_a_value_that_does_not_fit_fails_the_batch_and_merges_nothing(stack: Stack) -> None:
    load_source(stack, [customer(i) for i in range(1, 4)], [address(i, i) for i in range(1, 4)])
    assert stack.job("run", "YellowLive").returncode == 0
    # The source widens a column beyond the model's type and writes a longer value.
    with stack.source.begin() as conn:
        conn.execute(text("ALTER TABLE customers ALTER COLUMN first_name TYPE varchar(500)"))
        conn.execute(text("UPDATE customers SET first_name = repeat('x', 300) WHERE id = 'c00002'"))
    result = stack.job("run", "YellowLive")
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert "Dataset 'customers'" in line and "column 'first_name'" in line and "id='c00002'" in line
    assert "character varying(500)" in line and "FAILED" in line
    batches = stack.batches("YellowLive")
    assert [b["state"] for b in batches] == ["COMMITTED", "FAILED"]
    # Nothing of the failed batch reached the live table.
    assert {r["first_name"] for r in stack.live_rows("YellowLive", "customers")} == {"First1", "First2", "First3"}


def test_a_type_change_under_an_open_batch_widens_or_gives_one_line(stack: Stack) -> None:
    load_source(stack, [customer(i) for i in range(1, 4)], [address(i, i) for i in range(1, 4)])
    assert stack.job("run", "YellowLive").returncode == 0
    load_source(stack, [customer(i) for i in range(1, 5)], [address(i, i) for i in range(1, 5)])
    # A job is killed mid-batch (its batch stays open), then the model widens a column.
    died = stack.job("run", "YellowLive", extra_env={"DATASURFACE_KILL_AT": "after-chunk:1"})
    assert died.returncode == -9
    eco = stack.model_dir / "eco.py"
    source = eco.read_text()
    eco.write_text(source.replace('DDLColumn("first_name", VarChar(100)', 'DDLColumn("first_name", VarChar(300)', 1))
    widened = stack.job("run", "YellowLive")
    assert widened.returncode == 0, widened.stderr
    assert stack.live_rows("YellowLive", "customers") == stack.source_rows("customers")
    # A change the engine can't apply in place (date to timestamp) is one line, no traceback.
    eco.write_text(eco.read_text().replace('DDLColumn("dob", Date())', 'DDLColumn("dob", Timestamp())', 1))
    refused = stack.job("run", "YellowLive")
    assert refused.returncode == 1
    line = _one_error_line(refused.stderr)
    assert "Stream 'Store1'" in line and "'dob'" in line and "only widening changes are applied" in line
