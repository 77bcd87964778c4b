"""The embedded PostgreSQL helper and the database fixtures built on it.

The lifecycle tests start their own embedded server even when DATASURFACE_TEST_PG_URL
points the other fixtures at an external one, so the embedded path is always exercised.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from datasurface import embedded_pg
from tests.conftest import PG_URL_ENV, _normalise_pg_url


def _scalar(url: str, sql: str) -> object:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def _can_connect(port: int) -> bool:
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def test_embedded_server_lifecycle(embedded_pg_tmp_dir: Path) -> None:
    data_dir = embedded_pg_tmp_dir / "data"
    port = embedded_pg.free_port()

    url = embedded_pg.start(data_dir, port)
    try:
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        assert embedded_pg.is_running(data_dir)
        assert embedded_pg.running_port(data_dir) == port
        version = str(_scalar(url, "select version()"))
        assert version.startswith("PostgreSQL 18."), version
        assert int(str(_scalar(url, "show server_version_num"))) >= 180000
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text("create table keep_me (k int primary key)"))
                conn.execute(text("insert into keep_me values (1), (2)"))
                # PG 17+ MERGE features (the reason we need this wheel rather than PG 15/16).
                actions = conn.execute(
                    text(
                        "merge into keep_me t using (values (2), (3)) s(k) on t.k = s.k "
                        "when not matched then insert values (s.k) "
                        "when not matched by source then delete "
                        "returning merge_action(), t.k"
                    )
                ).all()
                assert sorted(actions) == [("DELETE", 1), ("INSERT", 3)]
        finally:
            engine.dispose()

        # Starting again on the same dir and port is a no-op returning the same URL...
        assert embedded_pg.start(data_dir, port) == url
        # ... but asking for another port is an error that names the data dir.
        with pytest.raises(embedded_pg.EmbeddedPgError, match=str(data_dir)):
            embedded_pg.start(data_dir, embedded_pg.free_port())
    finally:
        embedded_pg.stop(data_dir)

    assert not embedded_pg.is_running(data_dir)
    assert embedded_pg.running_port(data_dir) is None
    assert not _can_connect(port)
    embedded_pg.stop(data_dir)  # stopping a stopped server is a no-op

    # Restart on the existing data dir: no initdb, the table is still there.
    port2 = embedded_pg.free_port()
    url2 = embedded_pg.start(data_dir, port2)
    try:
        assert _scalar(url2, "select to_regclass('public.keep_me') is not null") is True
    finally:
        embedded_pg.stop(data_dir)
    assert not embedded_pg.is_running(data_dir)


def test_embedded_cli(embedded_pg_tmp_dir: Path) -> None:
    data_dir = embedded_pg_tmp_dir / "cli"
    port = embedded_pg.free_port()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "datasurface.embedded_pg", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    started = cli("start", "--data-dir", str(data_dir), "--port", str(port))
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == embedded_pg.url_for(port)
    try:
        status = cli("status", "--data-dir", str(data_dir))
        assert (status.returncode, status.stdout.strip()) == (0, embedded_pg.url_for(port))
    finally:
        stopped = cli("stop", "--data-dir", str(data_dir))
    assert stopped.returncode == 0, stopped.stderr
    status = cli("status", "--data-dir", str(data_dir))
    assert status.returncode == 1
    assert "not running" in status.stderr


def test_start_refuses_a_non_postgres_dir(embedded_pg_tmp_dir: Path) -> None:
    data_dir = embedded_pg_tmp_dir / "junk"
    data_dir.mkdir()
    (data_dir / "something.txt").write_text("not a cluster")
    with pytest.raises(embedded_pg.EmbeddedPgError, match=rf"{data_dir}.*not a PostgreSQL data"):
        embedded_pg.start(data_dir, embedded_pg.free_port())


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root hands off to another user")
def test_root_data_dir_must_be_traversable(embedded_pg_tmp_dir: Path) -> None:
    private = embedded_pg_tmp_dir / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(embedded_pg.EmbeddedPgError, match="cannot traverse"):
        embedded_pg.start(private / "data", embedded_pg.free_port())


def test_pg_server_url_honours_env(pg_server_url: str) -> None:
    raw = os.environ.get(PG_URL_ENV)
    if raw:
        assert pg_server_url == _normalise_pg_url(raw)
    else:
        assert make_url(pg_server_url).host == "127.0.0.1"
    assert make_url(pg_server_url).drivername == "postgresql+psycopg"


# Names of the databases handed out by pg_url in this module, to prove they differ and go away.
_seen_pg_databases: list[str] = []


@pytest.mark.parametrize("round_", [1, 2])
def test_pg_url_gives_a_fresh_database(pg_url: str, pg_engine: Engine, round_: int) -> None:
    name = make_url(pg_url).database
    assert name is not None and name.startswith("dst_")
    assert name not in _seen_pg_databases
    _seen_pg_databases.append(name)
    with pg_engine.begin() as conn:
        assert conn.execute(text("select current_database()")).scalar_one() == name
        # Plain CREATE (no IF NOT EXISTS): the second round fails if it shares the first's DB.
        assert not inspect(conn).has_table("isolation_marker")
        conn.execute(text("create table isolation_marker (round int)"))
        conn.execute(text("insert into isolation_marker values (:r)"), {"r": round_})


def test_pg_url_databases_are_dropped(pg_server_url: str, pg_url: str) -> None:
    if not _seen_pg_databases:
        pytest.skip("run together with test_pg_url_gives_a_fresh_database")
    engine = create_engine(pg_server_url)
    try:
        with engine.connect() as conn:
            present = conn.execute(
                text("select count(*) from pg_database where datname = any(:names)"),
                {"names": _seen_pg_databases},
            ).scalar_one()
    finally:
        engine.dispose()
    assert present == 0


def test_mariadb_url_gives_a_fresh_database(mariadb_url: str) -> None:
    name = make_url(mariadb_url).database
    assert name is not None and name.startswith("dst_")
    engine = create_engine(mariadb_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(text("select database()")).scalar_one() == name
            assert not inspect(conn).has_table("isolation_marker")
            conn.execute(text("create table isolation_marker (round int)"))
    finally:
        engine.dispose()


def test_a_port_held_by_another_postgres_is_one_line(embedded_pg_tmp_dir: Path) -> None:
    """Before: the cause was the last of about 15 pg_ctl lines. Now one line names the port,
    the program holding it and the fix, and the second server is never started."""
    port = embedded_pg.free_port()
    first, second = embedded_pg_tmp_dir / "first", embedded_pg_tmp_dir / "second"
    embedded_pg.start(first, port)
    try:
        with pytest.raises(embedded_pg.EmbeddedPgError) as caught:
            embedded_pg.start(second, port, port_variable="DATASURFACE_LOCAL_PG_PORT")
        message = str(caught.value)
        assert "\n" not in message, message
        assert f"port {port} on 127.0.0.1 is already in use by postgres (pid " in message
        assert "export DATASURFACE_LOCAL_PG_PORT=<port>" in message
        assert not embedded_pg.is_running(second)
    finally:
        embedded_pg.stop(first)
