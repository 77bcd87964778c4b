"""`pgconn`: the job path's psycopg connections behave as the SQLAlchemy connections the
engine modules were written for, and the job never imports SQLAlchemy."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine as SAEngine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from datasurface.model.containers import PostgresDatabase
from datasurface.model.credential import Credential
from datasurface.platforms.yellow import pgconn
from datasurface.platforms.yellow.connections import ConnectionFailedError, job_engine_for


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def engine(pg_url: str) -> Iterator[pgconn.Engine]:
    eng = pgconn.Engine(_conninfo(pg_url))
    yield eng
    eng.dispose()


def test_named_parameters_casts_and_percent_signs(engine: pgconn.Engine) -> None:
    with engine.connect() as conn:
        row = conn.execute(
            # As in SQLAlchemy's text(): ":a::int" would not bind (write CAST); "::" casts stay.
            pgconn.text("SELECT CAST(:a AS int) + 1 AS n, 'x%' || :b AS s, '10:30'::time AS t, 'a:b' AS colon"),
            {"a": "41", "b": "y"},
        ).one()
        assert (row.n, row.s, str(row.t), row.colon) == (42, "x%y", "10:30:00", "a:b")
        # Without parameters the text goes as written: a lone % is no placeholder.
        assert conn.execute(pgconn.text("SELECT '100%'")).scalar_one() == "100%"


def test_rows_by_index_name_and_duplicate_names(engine: pgconn.Engine) -> None:
    with engine.connect() as conn:
        result = conn.execute(pgconn.text("SELECT 1 AS a, sum(x) AS n, count(*) AS n FROM (VALUES (1), (2)) v(x)"))
        row = result.one()
        assert row == (1, 3, 2) and row[0] == 1 and row.a == 1 and row.n == 3
        assert row._mapping == {"a": 1, "n": 3}
        with pytest.raises(AttributeError):
            _ = row.missing
        rows = conn.execute(pgconn.text("SELECT g AS v FROM generate_series(1, 3) g")).mappings().all()
        assert rows == [{"v": 1}, {"v": 2}, {"v": 3}]
        assert conn.execute(pgconn.text("SELECT 1 WHERE false")).first() is None
        with pytest.raises(pgconn.NoResultFound):
            conn.execute(pgconn.text("SELECT 1 WHERE false")).one()
        with pytest.raises(pgconn.MultipleResultsFound):
            conn.execute(pgconn.text("SELECT generate_series(1, 2)")).scalar_one()


def test_transactions_and_savepoints(engine: pgconn.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(pgconn.text("CREATE TABLE t (id int PRIMARY KEY)"))
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(pgconn.text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("rolled back")
    with engine.connect() as conn:
        conn.execute(pgconn.text("INSERT INTO t VALUES (2)"))
        savepoint = conn.begin_nested()
        with pytest.raises(psycopg.errors.UniqueViolation) as caught:
            conn.execute(pgconn.text("INSERT INTO t VALUES (2)"))
        assert pgconn.integrity_violation(caught.value)
        savepoint.rollback()  # the outer transaction goes on
        with conn.begin_nested():
            conn.execute(pgconn.text("INSERT INTO t VALUES (3)"))
        conn.commit()
    with engine.connect() as conn:
        assert [r.id for r in conn.execute(pgconn.text("SELECT id FROM t ORDER BY id"))] == [2, 3]
    with engine.connect() as conn:
        conn.execute(pgconn.text("INSERT INTO t VALUES (4)"))
    # Closing without commit rolls back, as SQLAlchemy does.
    with engine.connect() as conn:
        assert conn.execute(pgconn.text("SELECT count(*) FROM t")).scalar_one() == 2


def test_connections_are_reused_and_pool_size_bounds_them(pg_url: str) -> None:
    engine = pgconn.Engine(_conninfo(pg_url), pool_size=1)
    try:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")  # before the transaction
            first_pid = conn.execute(pgconn.text("SELECT pg_backend_pid()")).scalar_one()
            assert conn.execute(pgconn.text("SHOW transaction_isolation")).scalar_one() == "repeatable read"
        got: list[float] = []
        holder = engine.connect()

        def second() -> None:
            start = time.perf_counter()
            with engine.connect() as conn:
                got.append(time.perf_counter() - start)
                assert conn.execute(pgconn.text("SHOW transaction_isolation")).scalar_one() == "read committed"

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        assert got == []  # waits for the only slot
        assert holder.execute(pgconn.text("SELECT pg_backend_pid()")).scalar_one() == first_pid
        holder.close()
        thread.join(5)
        assert len(got) == 1 and got[0] >= 0.25
    finally:
        engine.dispose()


def test_statements_run_on_sqlalchemy_connections_too(pg_engine: SAEngine) -> None:
    """One function body serves both kinds: the engine modules' `text()` on SQLAlchemy."""
    with pg_engine.begin() as typed:
        conn: Any = typed  # SQLAlchemy's stubs type execute() for its own statements only
        conn.execute(pgconn.text("CREATE TABLE u (id int PRIMARY KEY, note text)"))
        conn.execute(pgconn.text("INSERT INTO u VALUES (:id, :note)"), {"id": 1, "note": "50% off: now"})
        assert conn.execute(pgconn.text("SELECT note FROM u WHERE id = :id"), {"id": 1}).scalar_one() == "50% off: now"
    with pytest.raises(pgconn.database_errors()) as caught, pg_engine.begin() as typed:
        conn = typed
        conn.execute(pgconn.text("INSERT INTO u VALUES (1, 'again')"))
    assert isinstance(caught.value, SAIntegrityError) and pgconn.integrity_violation(caught.value)
    assert pgconn.first_line(caught.value).startswith("duplicate key value violates unique constraint")


def test_a_failed_connect_names_the_database_and_the_fix(pg_url: str) -> None:
    url = make_url(pg_url)
    closed = PostgresDatabase("mergedb", host=url.host or "127.0.0.1", port=1, database=url.database or "")
    engine = job_engine_for(closed, Credential("merge_db"), {"MERGE_DB_USER": "postgres"}, role="merge database")
    with pytest.raises(ConnectionFailedError) as caught:
        engine.connect()
    message = str(caught.value)
    assert message.startswith(f"merge database 'mergedb' at {closed.host}:1: cannot connect")
    assert "check that the server runs" in message


_NO_SQLALCHEMY = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(m for m in sys.modules if m.startswith(("sqlalchemy", "pydantic"))))))
sys.argv = ["datasurface", *sys.argv[2:]]
from datasurface.cli import main
main(sys.argv[1:])
"""


def test_job_run_imports_neither_sqlalchemy_nor_pydantic(tmp_path: Path) -> None:
    """Start-up is the cost of a small table's batch: the job path stays off SQLAlchemy and
    pydantic (0.2-0.3 s of imports). `--help` of `job run` loads the whole command module."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _NO_SQLALCHEMY, str(out), "job", "run", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == []
