"""`datasurface simulate` / `python -m simulator`: summaries, usage errors, unreachable database."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from datasurface import embedded_pg
from datasurface.cli import cli
from simulator.operations import DEFAULT_WEIGHTS, Operation
from tests.simulator.helpers import check_integrity

REPO_ROOT = Path(__file__).resolve().parents[2]


def _invoke(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["simulate", *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_text_summary(pg_url: str) -> None:
    code, out, err = _invoke("--url", pg_url, "--create-tables", "--rate", "0", "--max-changes", "200", "--seed", "1")
    assert code == 0, err
    assert out.startswith("simulated 200 changes on postgresql+psycopg://")
    assert "seed 1, stopped by max_changes" in out
    for op in Operation:
        assert f"  {op.value}" in out
    assert "rows now: customers " in out and "integrity: ok" in out
    assert "postgres@" not in out  # the user name is a credential value: never printed


def test_json_summary(pg_url: str) -> None:
    code, out, err = _invoke(
        "--url", pg_url, "--create-tables", "--rate", "0", "--max-changes", "150", "--seed", "2", "--json", "--quiet"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["changes"] == 150 == sum(data["operations"].values())
    assert set(data["operations"]) == {op.value for op in Operation}
    assert data["seed"] == 2 and data["failed"] == 0 and data["stopped_by"] == "max_changes"
    assert data["rows"]["customers"] > 0 and data["integrity_problems"] == [] and data["error"] is None
    assert data["simulated_clock"]["start"] == "2024-01-01T00:00:00"


def test_missing_tables_says_to_create_them(pg_url: str) -> None:
    code, _, err = _invoke("--url", pg_url, "--max-changes", "1")
    assert code == 1
    assert "table(s) 'customers', 'addresses' missing" in err and "--create-tables" in err


def test_model_resolves_the_store1_source_from_env(pg_url: str) -> None:
    url = make_url(pg_url)
    env: dict[str, str | None] = {
        "DATASURFACE_SOURCE_HOST": url.host,
        "DATASURFACE_SOURCE_PORT": str(url.port or 5432),
        "DATASURFACE_SOURCE_DB": url.database,
        "CUSTOMER_DB_USER": url.username,
        "CUSTOMER_DB_PASSWORD": url.password,
    }
    args = ["--model", str(REPO_ROOT / "sandbox" / "model"), "--create-tables", "--rate", "0", "--max-changes", "50"]
    code, out, err = _invoke(*args, "--json", env=env)
    assert code == 0, err
    assert json.loads(out)["database"].endswith(f"/{url.database}")
    check_integrity(pg_url)

    code, _, err = _invoke(*args, env={**env, "CUSTOMER_DB_USER": None})
    assert code == 1
    assert "Datastore 'Store1' / Credential 'customer_db'" in err and "CUSTOMER_DB_USER" in err

    code, _, err = _invoke(*args, "--store", "Nope", env=env)
    assert code == 1 and "Datastore 'Nope' is not in the model" in err


@pytest.mark.parametrize(
    "args",
    [
        [],  # neither --url nor --model
        ["--url", "x", "--rate", "-1"],
        ["--url", "x", "--batch-size", "0"],
        ["--url", "x", "--max-changes", "-5"],
        ["--url", "x", "--weights", "bogus=1"],
        ["--url", "x", "--weights", "insert_customer=0"],
        ["--url", "x", "--no-such-option"],
    ],
)
def test_bad_arguments_exit_2(args: list[str]) -> None:
    code, _, err = _invoke(*args)
    assert code == 2, err


def test_unreachable_database_exits_1_after_the_reconnect_timeout() -> None:
    port = embedded_pg.free_port()  # nothing listens there
    started = time.monotonic()
    code, out, err = _invoke(
        "--url", f"postgresql+psycopg://someone:secret@127.0.0.1:{port}/customer_db", "--reconnect-timeout", "1"
    )
    assert code == 1 and out == ""
    assert f"cannot reach the database at postgresql+psycopg://127.0.0.1:{port}/customer_db after 1 s" in err
    assert "--reconnect-timeout" in err and "secret" not in err and "someone" not in err
    assert time.monotonic() - started < 10


def test_python_dash_m_simulator_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "--help"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "python -m simulator" in done.stdout and "--reconnect-timeout" in done.stdout


def test_help_lists_every_operation_with_its_default_weight() -> None:
    result = CliRunner().invoke(cli, ["simulate", "--help"])
    assert result.exit_code == 0
    for op, weight in DEFAULT_WEIGHTS.items():
        assert f"{op.value}={weight} " in result.stdout
