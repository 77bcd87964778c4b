"""Run the simulator: set up, optionally bulk-load, then make changes until a limit is reached.

Each change set (`batch_size` changes) is one transaction: it commits whole or not at all.
After a connection error the same change set is written again once the database is back
(see connection.py and writer.py), so a run with a database restart ends with the same
contents as an uninterrupted run. Any other database error (for example a row someone
deleted by hand) rolls the change set back, counts its changes as failed and reloads the
in-memory index from the database; three such failures in a row end the run.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import DBAPIError

from datasurface.errors import DataSurfaceError
from simulator.clock import SimulatedClock
from simulator.connection import Connector, ReconnectGaveUp, first_line
from simulator.fake_data import RowFactory
from simulator.integrity import integrity_problems, row_counts
from simulator.operations import DEFAULT_WEIGHTS, Operation
from simulator.planner import Change, Planner
from simulator.progress import Progress
from simulator.schema import metadata
from simulator.state import load_state
from simulator.summary import Summary
from simulator.writer import ChangeWriter

BULK_BATCH = 5000  # customers per executemany transaction of the initial load
MAX_CONSECUTIVE_FAILURES = 3


class SimulatorError(DataSurfaceError):
    """The run cannot start; the message says what is wrong and how to fix it."""


@dataclass
class SimulatorConfig:
    seed: int
    rate: float = 10.0  # changes per second; 0 = as fast as possible
    max_changes: int | None = None
    duration: float | None = None  # seconds of changes (the initial load is not counted)
    batch_size: int = 1
    initial_customers: int = 0  # bulk-load until the table holds at least this many customers
    create_tables: bool = False
    weights: Mapping[Operation, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    reconnect_timeout: float = 60.0


def _check_tables(conn: Connection, where: str) -> None:
    present = set(inspect(conn).get_table_names())
    missing = [t for t in metadata.tables if t not in present]
    if missing:
        raise SimulatorError(
            f"{where}: table(s) {', '.join(repr(t) for t in missing)} missing; "
            "run with --create-tables to create the example model's customer schema"
        )


class Simulator:
    def __init__(
        self,
        engine: Engine,
        config: SimulatorConfig,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
        journal: list[Change] | None = None,
    ) -> None:
        self.config = config
        self.journal = journal  # when given, every committed change is appended (tests, tooling)
        self.stop = stop or threading.Event()
        self.progress = progress or Progress(quiet=True)
        self.connector = Connector(engine, config.reconnect_timeout, self.progress.say, self.stop)
        self.writer = ChangeWriter(engine.dialect.name)
        self.rng = random.Random(config.seed)
        self.clock = SimulatedClock(self.rng)
        self.rows = RowFactory(config.seed, self.rng)
        self.summary = Summary(seed=config.seed, database=self.connector.where)

    def run(self) -> Summary:
        """Raises SimulatorError if setup fails; later failures are reported in `summary.error`."""
        started = time.monotonic()
        try:
            planner = self._set_up()
            self.summary.clock_start = self.clock.now
            try:
                self._initial_load(planner)
                self._change_loop(planner)
                self._final_stats()
            except (ReconnectGaveUp, SimulatorError) as exc:
                self.summary.error = str(exc)
                self.summary.stopped_by = "error"
        finally:
            self.summary.elapsed_s = time.monotonic() - started
            self.summary.reconnects = self.connector.reconnects
            self.summary.clock_end = self.clock.now
            self.progress.finish()
            self.connector.close()
        return self.summary

    def _set_up(self) -> Planner:
        try:
            if self.config.create_tables:
                self.connector.transaction(lambda conn: metadata.create_all(conn))
            self.connector.transaction(lambda conn: _check_tables(conn, self.connector.where))
            state = self.connector.transaction(load_state)
        except ReconnectGaveUp as exc:
            raise SimulatorError(
                f"{exc}: is it running? check --url (or, with --model, DATASURFACE_SOURCE_HOST/PORT/DB and "
                "the credential's _USER/_PASSWORD variables); --reconnect-timeout sets how long to wait"
            ) from None
        except DBAPIError as exc:
            raise SimulatorError(f"{self.connector.where}: {first_line(exc)}") from None
        return Planner(state, self.config.weights, self.rng, self.clock, self.rows)

    def _initial_load(self, planner: Planner) -> None:
        missing = self.config.initial_customers - len(planner.state.customers)
        while missing > 0 and not self.stop.is_set():
            batch = [planner.new_customer(self.clock.advance()) for _ in range(min(BULK_BATCH, missing))]
            try:
                self._write_bulk(batch)
            except DBAPIError as exc:
                raise SimulatorError(f"initial load into {self.connector.where} failed: {first_line(exc)}") from None
            missing -= len(batch)
            self.summary.initial_customers += len(batch)
            self.progress.note(f"simulate: loaded {self.summary.initial_customers} initial customers")

    def _write_bulk(self, batch: list[Change]) -> None:
        self.connector.transaction(lambda conn: self.writer.bulk_insert_customers(conn, batch))

    def _change_loop(self, planner: Planner) -> None:
        t0 = time.monotonic()
        try:
            self._changes(planner, t0)
        finally:
            self.summary.changing_s = time.monotonic() - t0

    def _changes(self, planner: Planner, t0: float) -> None:
        cfg = self.config
        attempted = 0
        consecutive_failures = 0
        while True:
            now = time.monotonic()
            if self.stop.is_set():
                self.summary.stopped_by = "signal"
                return
            if cfg.max_changes is not None and attempted >= cfg.max_changes:
                self.summary.stopped_by = "max_changes"
                return
            if cfg.duration is not None and now - t0 >= cfg.duration:
                self.summary.stopped_by = "duration"
                return
            if cfg.rate > 0:
                due = t0 + attempted / cfg.rate
                if due > now:
                    limit = t0 + cfg.duration if cfg.duration is not None else due
                    self.stop.wait(min(due, limit) - now)
                    continue  # re-check the limits after waiting
            size = cfg.batch_size if cfg.max_changes is None else min(cfg.batch_size, cfg.max_changes - attempted)
            batch = [planner.next_change() for _ in range(size)]
            try:
                self._write(batch)
                consecutive_failures = 0
            except DBAPIError as exc:
                consecutive_failures += 1
                self.summary.failed += size
                self.progress.say(
                    f"warning: change set of {size} rolled back on {self.connector.where} ({first_line(exc)}); "
                    "reloading the index of rows from the database"
                )
                if consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                    raise SimulatorError(
                        f"{consecutive_failures} change sets in a row failed on {self.connector.where}; "
                        f"last error: {first_line(exc)}"
                    ) from None
                planner.resync(self.connector.transaction(load_state))
            except ReconnectGaveUp:
                self.summary.failed += size
                if self.stop.is_set():
                    self.summary.stopped_by = "signal"
                    return
                raise
            attempted += size
            self.progress.update(self.summary.changes, self.summary.failed, time.monotonic() - t0, cfg.max_changes)

    def _write(self, batch: list[Change]) -> None:
        self.connector.transaction(lambda conn: self.writer.apply(conn, batch))
        for change in batch:
            self.summary.operations[change.op] += 1
        if self.journal is not None:
            self.journal.extend(batch)

    def _final_stats(self) -> None:
        def stats(conn: Connection) -> tuple[dict[str, int], list[str]]:
            return row_counts(conn), integrity_problems(conn)

        self.summary.rows, self.summary.integrity_problems = self.connector.transaction(stats)
