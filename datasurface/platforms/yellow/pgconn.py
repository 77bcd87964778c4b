"""Postgres connections for the job path on psycopg alone, shaped like SQLAlchemy's.

Why not SQLAlchemy here: a `job run` of a small table is mostly start-up, and importing
SQLAlchemy (with its Postgres dialect) costs 0.15-0.20 s of the 0.47 s measured before the
first SQL statement (`python -m benchmarks first_load`, `job_startup_s`), while every statement
the job sends is a hand-written text statement that SQLAlchemy only passes through. psycopg
is needed anyway.

The shape is the subset of SQLAlchemy 2's `Engine` / `Connection` / `Result` the engine
modules use (`execute(text(...), params)`, `begin()`, `begin_nested()`, `commit()`,
`scalar_one()`, `mappings()`, `connection.driver_connection`, ...), so one function body
serves both kinds of connection: this module's, in the job, and SQLAlchemy's, where a caller
holds one (non-Postgres sources, tests, the merge handler). `text()` here returns a
`Statement` that SQLAlchemy can execute too: SQLAlchemy 2 dispatches `Connection.execute`
to the statement's `_execute_on_connection`, which hands over to SQLAlchemy's own `text()`
(already imported whenever a SQLAlchemy connection exists).

Database errors are psycopg's own here and SQLAlchemy's there; code that handles either
catches `database_errors()` and asks `integrity_violation()`.
"""

from __future__ import annotations

import functools
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeAlias

import psycopg
from psycopg.rows import RowMaker

# SQLAlchemy's rule for bound names in text(): ":name", not "::type" and not "\:".
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


class Row(tuple[Any, ...]):
    """A result row: a tuple whose values can also be read by column name (`row.batch_id`),
    like SQLAlchemy's. Unlike a namedtuple, two columns may share a name (the first wins)."""

    __slots__ = ()
    _index: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            return self[type(self)._index[name]]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def _mapping(self) -> dict[str, Any]:
        return {name: self[i] for name, i in type(self)._index.items()}


def _row_factory(cursor: psycopg.Cursor[Any]) -> RowMaker[Row]:
    return _row_class(tuple(column.name for column in cursor.description or ()))


@functools.lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    """One Row class per column list, made once: a pack run sends the same few dozen
    statements for each of its members, and making a class costs ~7 us."""
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)
    return type("Row", (Row,), {"__slots__": (), "_index": index})


class Statement:
    """A SQL text with `:name` parameters, executable here and by SQLAlchemy."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def plain(self) -> str:
        """The text to send without parameters: as written, an escaped colon (`\\:`) unescaped."""
        return self.text.replace("\\:", ":")

    @property
    def pyformat(self) -> str:
        """The text to send with parameters: `:name` as psycopg's `%(name)s`, and a literal
        `%` doubled (only then: without parameters psycopg sends the text as it is)."""
        return _BIND.sub(lambda m: f"%({m.group(1)})s", self.text.replace("%", "%%")).replace("\\:", ":")

    def __str__(self) -> str:
        return self.text

    def _execute_on_connection(self, connection: Any, distilled_params: Any, execution_options: Any) -> Any:
        # Called by a SQLAlchemy Connection's execute(): run as SQLAlchemy's text().
        from sqlalchemy import text as sqlalchemy_text

        clause = sqlalchemy_text(self.text)
        return clause._execute_on_connection(connection, distilled_params, execution_options)


#: A connection or engine of either kind (this module's, or SQLAlchemy's): what the engine
#: modules accept. `Any` because SQLAlchemy's `execute` is typed for its own statements only.
AnyConnection: TypeAlias = Any
AnyEngine: TypeAlias = Any


def text(sql: str) -> Statement:
    return Statement(sql)


class NoResultFound(psycopg.ProgrammingError):
    """`one()`/`scalar_one()` found no row."""


class MultipleResultsFound(psycopg.ProgrammingError):
    """`one()`/`scalar_one()` found more than one row."""


class Result:
    """The rows of one statement, fetched at once (the job path's statements return few)."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self.rowcount = cursor.rowcount
        self._rows: list[Row] = cursor.fetchall() if cursor.description else []

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)

    def fetchall(self) -> list[Row]:
        return list(self._rows)

    all = fetchall

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if not self._rows:
            raise NoResultFound("no row was found when one was required")
        if len(self._rows) > 1:
            raise MultipleResultsFound("multiple rows were found when exactly one was required")
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def mappings(self) -> _Mappings:
        return _Mappings([row._mapping for row in self])


class _Mappings(list[dict[str, Any]]):
    def all(self) -> list[dict[str, Any]]:
        return list(self)


class _Dialect:
    name = "postgresql"


class _DriverHandle:
    """`conn.connection` as SQLAlchemy has it: the driver's connection under two names."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.driver_connection = raw
        self.dbapi_connection = raw


_ISOLATION = {
    "READ COMMITTED": psycopg.IsolationLevel.READ_COMMITTED,
    "REPEATABLE READ": psycopg.IsolationLevel.REPEATABLE_READ,
    "SERIALIZABLE": psycopg.IsolationLevel.SERIALIZABLE,
}


class Transaction:
    """A transaction (`savepoint` None) or a savepoint, ended by `commit()` or `rollback()`,
    or by the end of a `with` block: committed, or rolled back if the block raised."""

    def __init__(self, raw: psycopg.Connection[Any], savepoint: str | None) -> None:
        self._raw = raw
        self._savepoint = savepoint
        self._active = True

    def commit(self) -> None:
        if self._active:
            self._active = False
            if self._savepoint is None:
                self._raw.commit()
            else:
                self._raw.execute(f"RELEASE SAVEPOINT {self._savepoint}")

    def rollback(self) -> None:
        if self._active:
            self._active = False
            if self._savepoint is None:
                self._raw.rollback()
            else:
                self._raw.execute(f"ROLLBACK TO SAVEPOINT {self._savepoint}")

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()


class Connection:
    """One checked-out connection. Like SQLAlchemy 2: a transaction begins with the first
    statement and ends with `commit()`/`rollback()`; closing returns the connection to the
    engine's pool, rolled back."""

    dialect = _Dialect()

    def __init__(self, engine: Engine, raw: psycopg.Connection[Any]) -> None:
        self.engine = engine
        self._raw: psycopg.Connection[Any] | None = raw
        self.connection = _DriverHandle(raw)
        self._savepoints = 0

    @property
    def raw(self) -> psycopg.Connection[Any]:
        if self._raw is None:
            raise psycopg.InterfaceError("this connection is closed")
        return self._raw

    def execute(self, statement: Statement | str, parameters: Any = None) -> Result:
        observe = self.engine.on_statement
        if observe is None:
            return self._execute(statement, parameters)
        start = time.perf_counter()
        try:
            return self._execute(statement, parameters)
        finally:
            observe(str(statement), time.perf_counter() - start)

    def _execute(self, statement: Statement | str, parameters: Any) -> Result:
        sql = statement if isinstance(statement, Statement) else Statement(statement)
        with self.raw.cursor(row_factory=_row_factory) as cursor:
            if parameters is None or (isinstance(parameters, Mapping) and not parameters):
                cursor.execute(sql.plain)
            elif isinstance(parameters, Mapping):
                cursor.execute(sql.pyformat, parameters)
            else:  # a sequence of parameter sets: executemany
                cursor.executemany(sql.pyformat, list(parameters))
            return Result(cursor)

    def commit(self) -> None:
        self.raw.commit()

    def rollback(self) -> None:
        self.raw.rollback()

    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def execution_options(self, *, isolation_level: str | None = None, **_ignored: Any) -> Connection:
        """Only the isolation level of the next transaction is an option here."""
        if isolation_level is not None:
            self.raw.isolation_level = _ISOLATION[isolation_level.upper()]
        return self

    def begin(self) -> Transaction:
        """A transaction: committed at the end of a `with` block, rolled back on an exception."""
        if self.in_transaction():
            raise psycopg.ProgrammingError("a transaction is already begun on this connection")
        return Transaction(self.raw, None)

    def begin_nested(self) -> Transaction:
        """A savepoint in the current transaction (begun first if there is none)."""
        self._savepoints += 1
        name = f"ds_sp_{self._savepoints}"
        self.raw.execute(f"SAVEPOINT {name}")
        return Transaction(self.raw, name)

    def close(self) -> None:
        if self._raw is not None:
            raw, self._raw = self._raw, None
            self.engine._check_in(raw)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Engine:
    """Connections to one database, reused: at most `pool_size` at once when given (a pack's
    connection budget), otherwise as many as asked for. `on_connect_error` turns a failed
    connect into the caller's error (which database, what to fix)."""

    dialect = _Dialect()

    def __init__(
        self,
        conninfo: str,
        *,
        connect_args: Mapping[str, Any] | None = None,
        pool_size: int | None = None,
        on_connect_error: Callable[[psycopg.Error], Exception] | None = None,
    ) -> None:
        self._conninfo = conninfo
        self._connect_args = dict(connect_args or {})
        self._on_connect_error = on_connect_error
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(pool_size) if pool_size else None
        #: Called with (statement text, seconds) after each `execute` (benchmarks profile with it).
        self.on_statement: Callable[[str, float], None] | None = None

    def connect(self) -> Connection:
        if self._slots is not None:
            self._slots.acquire()
        try:
            raw = self._check_out()
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise
        return Connection(self, raw)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for raw in idle:
            raw.close()

    def _check_out(self) -> psycopg.Connection[Any]:
        with self._lock:
            while self._idle:
                raw = self._idle.pop()
                if not raw.closed and not raw.broken:
                    return raw
        try:
            return psycopg.connect(self._conninfo, **self._connect_args)
        except psycopg.OperationalError as exc:
            if self._on_connect_error is None:
                raise
            raise self._on_connect_error(exc) from None

    def _check_in(self, raw: psycopg.Connection[Any]) -> None:
        try:
            if not raw.closed and not raw.broken:
                if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    raw.rollback()
                raw.isolation_level = None
                with self._lock:
                    self._idle.append(raw)
        finally:
            if self._slots is not None:
                self._slots.release()


def connect_params(host: str, port: int, database: str, user: str, password: str | None) -> dict[str, Any]:
    """psycopg's connection keywords; no `password` at all when there is none (trust auth,
    or one from ~/.pgpass or PGPASSWORD)."""
    params: dict[str, Any] = {"host": host, "port": port, "dbname": database, "user": user}
    if password:
        params["password"] = password
    return params


def database_errors() -> tuple[type[BaseException], ...]:
    """The errors a database call can raise: psycopg's, and SQLAlchemy's once it is in use
    (evaluated when an `except` clause is reached, so SQLAlchemy is never imported for it)."""
    if "sqlalchemy.exc" in sys.modules:
        return (psycopg.Error, sys.modules["sqlalchemy.exc"].SQLAlchemyError)
    return (psycopg.Error,)


def driver_error(exc: BaseException) -> BaseException:
    """The driver's own error under a SQLAlchemy wrapper (its `orig`), else `exc` itself."""
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, BaseException) else exc


def integrity_violation(exc: BaseException) -> bool:
    """A constraint refused a row (NOT NULL, unique, ...)."""
    return isinstance(driver_error(exc), psycopg.errors.IntegrityError)


def first_line(exc: BaseException) -> str:
    """The first line of a database error's message, the driver's where SQLAlchemy wraps it."""
    lines = str(driver_error(exc)).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
