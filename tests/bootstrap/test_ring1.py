"""Ring 1 against a real Postgres: creates the merge database and the platforms' tables,
runs the first merge handler, and does nothing new the second time."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from datasurface.cli import cli
from datasurface.model.loader import load_model
from datasurface.platforms.yellow.bootstrap import run_ring1
from datasurface.platforms.yellow.naming import batch_metrics_table, config_table

from .conftest import SANDBOX_MODEL

PLATFORMS = ("YellowLive", "YellowForensic")


@pytest.fixture
def merge_db(pg_server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A merge database name that does not exist yet, with the sandbox model's environment
    pointing at the test server; dropped afterwards."""
    url = make_url(pg_server_url)
    name = f"dsr1_{uuid.uuid4().hex[:8]}"
    env = {
        "DATASURFACE_MERGE_HOST": url.host or "127.0.0.1",
        "DATASURFACE_MERGE_PORT": str(url.port or 5432),
        "DATASURFACE_MERGE_DB": name,
        "DATASURFACE_SOURCE_HOST": url.host or "127.0.0.1",
        "DATASURFACE_SOURCE_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_PASSWORD": url.password or "",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        yield name
    finally:
        admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _merge_url(pg_server_url: str, name: str) -> str:
    return make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)


def test_creates_database_and_tables_idempotently(pg_server_url: str, merge_db: str) -> None:
    eco = load_model(SANDBOX_MODEL).ecosystem
    first = run_ring1(eco)
    assert first.databases_created == [merge_db]
    assert first.platforms == list(PLATFORMS)
    assert first.merge_handler is None
    engine = create_engine(_merge_url(pg_server_url, merge_db), poolclass=NullPool)
    try:
        tables = set(inspect(engine).get_table_names())
        for platform in PLATFORMS:
            assert {batch_metrics_table(platform), config_table(platform)} <= tables
        with engine.begin() as conn:  # data survives a re-run
            conn.execute(text(f"INSERT INTO \"{config_table('YellowLive')}\" VALUES ('s', '{{}}'::jsonb, now())"))
        second = run_ring1(eco)
        assert second.databases_created == [] and second.databases_existing == [merge_db]
        assert set(inspect(engine).get_table_names()) == tables
        with engine.connect() as conn:
            assert conn.execute(text(f'SELECT count(*) FROM "{config_table("YellowLive")}"')).scalar_one() == 1
    finally:
        engine.dispose()


def test_cli_runs_the_first_merge_handler_from_a_seeded_repo(pg_server_url: str, merge_db: str, tmp_path: Path) -> None:
    repo, models = tmp_path / "repo", tmp_path / "models"
    args = [
        "bootstrap", "--ring", "1", "--model", str(SANDBOX_MODEL), "--repo", str(repo),
        "--seed-from", str(SANDBOX_MODEL), "--models-dir", str(models), "--json",
    ]  # fmt: skip
    runner = CliRunner()
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["databases_created"] == [merge_db]
    assert report["merge_handler"]["result"]["ok"] is True
    deployed = sorted(p.name for p in models.iterdir() if p.name.startswith("model-"))
    assert len(deployed) == 1
    engine = create_engine(_merge_url(pg_server_url, merge_db), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            expected = {
                # Store1 is packed (one row per pack); the transformer's output is not.
                "YellowLive": ["MaskedCustomers", "pack:pack0000", "transformer:Consumer1"],
                "YellowForensic": ["pack:pack0000"],
            }
            for platform in PLATFORMS:
                sql = f'SELECT stream FROM "{config_table(platform)}" ORDER BY stream'
                assert conn.execute(text(sql)).scalars().all() == expected[platform]
        # Again: the database exists, the repo has the same commit, no new model folder.
        second = runner.invoke(cli, args)
        assert second.exit_code == 0, second.output
        assert json.loads(second.stdout)["databases_existing"] == [merge_db]
        assert sorted(p.name for p in models.iterdir() if p.name.startswith("model-")) == deployed
    finally:
        engine.dispose()


def test_unreachable_database_names_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATASURFACE_MERGE_HOST", "127.0.0.1")
    monkeypatch.setenv("DATASURFACE_MERGE_PORT", "1")  # nothing listens on port 1
    monkeypatch.setenv("POSTGRES_USER", "postgres")
    result = CliRunner().invoke(cli, ["bootstrap", "--ring", "1", "--model", str(SANDBOX_MODEL)])
    assert result.exit_code == 1
    assert "Platform 'YellowLive' / merge database 'yellow_merge'" in result.output


def test_missing_credential_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSTGRES_USER", raising=False)
    result = CliRunner().invoke(cli, ["bootstrap", "--ring", "1", "--model", str(SANDBOX_MODEL)])
    assert result.exit_code == 1
    assert "POSTGRES_USER" in result.output
