"""One connection to the source database that survives the database going away.

A transaction that fails because the connection broke is retried on a new connection after
a back-off (0.5 s, doubling, capped), until `reconnect_timeout` seconds have passed since
the first failure; then `ReconnectGaveUp` is raised. Other database errors are the caller's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from datasurface.errors import DataSurfaceError

T = TypeVar("T")

INITIAL_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0


class ReconnectGaveUp(DataSurfaceError):
    """The database stayed unreachable for the whole reconnect timeout."""


def describe(url: URL) -> str:
    """Where the database is, without user or password (they are credential values)."""
    # URL.set() ignores None, so build a fresh URL from the parts we want to show.
    bare = URL.create(url.drivername, host=url.host, port=url.port, database=url.database)
    return bare.render_as_string(hide_password=True)


def is_connection_error(exc: BaseException) -> bool:
    # OperationalError covers refused connections, server shutdown (AdminShutdown) and a
    # server that vanished mid-statement; SQLAlchemy also flags invalidated connections.
    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def first_line(exc: BaseException) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


class Connector:
    def __init__(
        self,
        engine: Engine,
        reconnect_timeout: float,
        warn: Callable[[str], None],
        stop: threading.Event | None = None,
    ) -> None:
        self.engine = engine
        self.reconnect_timeout = reconnect_timeout
        self.reconnects = 0
        self._warn = warn
        self._stop = stop or threading.Event()
        self._conn: Connection | None = None
        self.where = describe(engine.url)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except DBAPIError:
                pass  # closing a dead connection: nothing left to release
            self._conn = None
        self.engine.dispose()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except DBAPIError:
                pass
            self._conn = None
        # Pooled connections opened before the outage are dead too.
        self.engine.dispose()

    def transaction(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one transaction, reconnecting and re-running it after connection errors.

        `work` must be safe to run again after a failed attempt (see writer.py).
        """
        deadline: float | None = None
        backoff = INITIAL_BACKOFF_S
        failed_once = False
        while True:
            try:
                if self._conn is None:
                    self._conn = self.engine.connect()
                with self._conn.begin():
                    result = work(self._conn)
                if failed_once and deadline is not None:
                    self.reconnects += 1
                    outage = time.monotonic() - (deadline - self.reconnect_timeout)
                    self._warn(f"simulate: reconnected to {self.where} after {outage:.1f} s")
                return result
            except Exception as exc:
                if not is_connection_error(exc):
                    self._rollback_quietly()
                    raise
                self._drop()
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.reconnect_timeout
                    self._warn(
                        f"warning: lost the connection to {self.where} ({first_line(exc)}); "
                        f"retrying for up to {self.reconnect_timeout:g} s"
                    )
                failed_once = True
                if self._stop.is_set():
                    raise ReconnectGaveUp(f"stopped while reconnecting to {self.where} ({first_line(exc)})") from exc
                if now >= deadline:
                    raise ReconnectGaveUp(
                        f"cannot reach the database at {self.where} after {self.reconnect_timeout:g} s "
                        f"({first_line(exc)})"
                    ) from exc
                # Event.wait, not sleep: a stop request (Ctrl-C) ends the wait at once.
                self._stop.wait(min(backoff, max(0.0, deadline - now)))
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _rollback_quietly(self) -> None:
        if self._conn is not None and self._conn.in_transaction():
            try:
                self._conn.rollback()
            except DBAPIError:
                self._drop()
