"""Shared pytest fixtures: real databases for every test that needs one.

Fixture contract (other test modules rely on it; keep it stable):

- ``pg_server_url`` (session): admin SQLAlchemy URL of a PostgreSQL server. Taken from
  ``DATASURFACE_TEST_PG_URL`` when set, else an embedded PostgreSQL 18 started once per
  session under ``<repo>/.pytest_pg/`` on a free port and stopped at session end.
- ``pg_url`` (function): URL of a fresh, uniquely named database (``dst_<8 hex>``) on that
  server, dropped (forcibly) after the test.
- ``pg_engine`` (function): SQLAlchemy Engine on ``pg_url``, disposed after the test.
- ``mariadb_url`` (function): URL of a fresh database on the MariaDB/MySQL server at
  ``DATASURFACE_TEST_MYSQL_URL`` (default ``mysql+pymysql://root@127.0.0.1:3306/``),
  dropped after the test; the test is skipped if that server is unreachable.
- ``embedded_pg_tmp_dir`` (function): an empty directory where an embedded server may be
  started (under ``.pytest_pg``, because pytest's own tmp dirs are 0700 and, as root, the
  server runs as another OS user); any server left running in it is stopped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from datasurface import embedded_pg

PG_URL_ENV = "DATASURFACE_TEST_PG_URL"
MYSQL_URL_ENV = "DATASURFACE_TEST_MYSQL_URL"
DEFAULT_MYSQL_URL = "mysql+pymysql://root@127.0.0.1:3306/"

REPO_ROOT = Path(__file__).resolve().parent.parent
# Not pytest's tmp_path: its base /tmp/pytest-of-<user> is mode 0700, which the server's
# OS user cannot traverse when we run as root. Git-ignored.
PG_SCRATCH_ROOT = REPO_ROOT / ".pytest_pg"
_OWNER_FILE = "owner.pid"


def _render(url: URL) -> str:
    # str(URL) masks the password as '***'; fixtures hand out usable URLs.
    return url.render_as_string(hide_password=False)


def _normalise_pg_url(raw: str) -> str:
    """Default to the psycopg 3 driver: the only PostgreSQL driver the project installs."""
    url = make_url(raw)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return _render(url)


def _reap_stale_sessions() -> None:
    """Stop servers and delete dirs left by test sessions that were killed (no teardown ran)."""
    if not PG_SCRATCH_ROOT.is_dir():
        return
    for session_dir in PG_SCRATCH_ROOT.iterdir():
        try:
            owner = int((session_dir / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or being created right now by another session: leave it
        if psutil.pid_exists(owner):
            continue
        embedded_pg.stop_all(session_dir)
        shutil.rmtree(session_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def _pg_session_dir() -> Iterator[Path]:
    """This session's scratch dir under .pytest_pg; removed (servers stopped) at the end."""
    _reap_stale_sessions()
    session_dir = PG_SCRATCH_ROOT / f"s{os.getpid()}-{uuid.uuid4().hex[:6]}"
    session_dir.mkdir(parents=True)
    (session_dir / _OWNER_FILE).write_text(str(os.getpid()))
    try:
        yield session_dir
    finally:
        embedded_pg.stop_all(session_dir)
        shutil.rmtree(session_dir, ignore_errors=True)


@pytest.fixture
def embedded_pg_tmp_dir(_pg_session_dir: Path) -> Iterator[Path]:
    path = _pg_session_dir / f"t{uuid.uuid4().hex[:8]}"
    path.mkdir()
    try:
        yield path
    finally:
        embedded_pg.stop_all(path)
        shutil.rmtree(path, ignore_errors=True)


def _start_embedded(data_dir: Path) -> str:
    # free_port() is racy (another process may grab the port before the server binds it):
    # retry with a new port rather than fail the whole session.
    last: embedded_pg.EmbeddedPgError | None = None
    for _ in range(3):
        try:
            return embedded_pg.start(data_dir, embedded_pg.free_port(), fast=True)
        except embedded_pg.EmbeddedPgError as exc:
            if "already in use" not in str(exc):
                raise
            last = exc
    assert last is not None
    raise last


@pytest.fixture(scope="session")
def pg_server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    raw = os.environ.get(PG_URL_ENV)
    if raw:
        url = _normalise_pg_url(raw)
        _check_pg_reachable(url, f"{PG_URL_ENV} server")
        yield url
        return
    # Requested lazily so that a session using an external server creates no scratch dir.
    session_dir: Path = request.getfixturevalue("_pg_session_dir")
    data_dir = session_dir / "server"
    url = _start_embedded(data_dir)
    try:
        yield url
    finally:
        embedded_pg.stop(data_dir)


def _check_pg_reachable(url: str, what: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except DBAPIError as exc:
        # Fail, never skip: merge behaviour must be tested against a real Postgres.
        pytest.fail(f"{what} not reachable at {_masked(url)}: {exc.orig}", pytrace=False)
    finally:
        engine.dispose()


def _masked(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@pytest.fixture(scope="session")
def _pg_admin_engine(pg_server_url: str) -> Iterator[Engine]:
    # AUTOCOMMIT: CREATE/DROP DATABASE cannot run inside a transaction block.
    engine = create_engine(pg_server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def pg_url(pg_server_url: str, _pg_admin_engine: Engine) -> Iterator[str]:
    name = f"dst_{uuid.uuid4().hex[:8]}"
    with _pg_admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _render(make_url(pg_server_url).set(database=name))
    finally:
        _drop_pg_database(_pg_admin_engine, name)


def _drop_pg_database(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        version = int(conn.execute(text("show server_version_num")).scalar_one())
        if version >= 130000:
            # FORCE ends connections a test (or a leaked pool) left open.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            conn.execute(
                text("select pg_terminate_backend(pid) from pg_stat_activity where datname = :d"),
                {"d": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = create_engine(pg_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _mariadb_server_url() -> str:
    """The MariaDB admin URL, checked once per session (skips every dependant if unreachable)."""
    url = make_url(os.environ.get(MYSQL_URL_ENV, DEFAULT_MYSQL_URL))
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except DBAPIError as exc:
        pytest.skip(
            f"MariaDB not reachable at {url.render_as_string(hide_password=True)} ({exc.orig}); set {MYSQL_URL_ENV}"
        )
    finally:
        engine.dispose()
    return _render(url)


@pytest.fixture
def mariadb_url(_mariadb_server_url: str) -> Iterator[str]:
    name = f"dst_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_mariadb_server_url, poolclass=NullPool)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE DATABASE `{name}`"))
        try:
            yield _render(make_url(_mariadb_server_url).set(database=name))
        finally:
            with admin.begin() as conn:
                # Like WITH (FORCE) on Postgres: a connection a test left open would otherwise
                # hold a metadata lock and make DROP DATABASE wait forever.
                leftovers = conn.execute(
                    text("select id from information_schema.processlist where db = :d and id <> connection_id()"),
                    {"d": name},
                ).scalars()
                for conn_id in list(leftovers):
                    # It may have gone by itself since the select: fine.
                    with contextlib.suppress(DBAPIError):
                        conn.execute(text(f"KILL {int(conn_id)}"))
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    finally:
        admin.dispose()


@pytest.fixture
def pg_database_factory(pg_server_url: str, _pg_admin_engine: Engine) -> Iterator[Callable[[], str]]:
    """Make extra fresh databases (e.g. a source and a merge database) dropped at teardown."""
    made: list[str] = []

    def make() -> str:
        name = f"dst_{uuid.uuid4().hex[:8]}"
        with _pg_admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return _render(make_url(pg_server_url).set(database=name))

    try:
        yield make
    finally:
        for name in made:
            _drop_pg_database(_pg_admin_engine, name)
