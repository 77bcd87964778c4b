"""The micro scheduler: one `job run-pack` process runs the due members of one stream pack.

    load the model once -> find the pack's members -> read every member's latest batch in
    ONE query -> due members, highest priority first -> run them on a few worker threads,
    each member through the ordinary `StreamJob` -> one outcome per member

A pack run is exactly the sum of the member runs it makes: each member takes its own
advisory lock, moves its own batch, checkpoints and commits as `job run --stream` would, and
stops at its own KEEP_WORKING budget. Only the fixed costs are shared: one interpreter, one
model load, and pooled engines per database (one per source database and one for the merge
database), which is where a 10-row batch spent ~95 % of its time as a process of its own.

Connection budget: a member holds at most two merge connections (its advisory-lock session
and one working connection) and one source connection. The merge engine's pool has exactly
`pack_merge_connections` connections (no overflow), each source engine's exactly
`pack_source_connections`, and a member starts only when its source has a free slot, so
no pool ever waits: at most min(pack_workers, pack_merge_connections // 2) members run at
once, and at most pack_source_connections of them read one source.

Members run on threads: their time is spent waiting on Postgres (the GIL is released).
One member failing never stops the others. The pack stops *starting* members once the
platform's `max_seconds_per_run` has passed; members not started yet are DEFERRED (they
stay due and run first next time, the pack exiting KEEP_WORKING).

Exit code: 1 when any member failed (ERROR), else 75 when any member has work left
(KEEP_WORKING or DEFERRED), else 0.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasurface.errors import DataSurfaceError
from datasurface.graph import IngestionStream, build_graph
from datasurface.model.containers import SQLDatabase
from datasurface.model.credential import Credential
from datasurface.model.dataset import Dataset
from datasurface.model.ingestion import DataTransformerOutput, SQLSnapshotIngestion
from datasurface.model.lint import lint_ecosystem
from datasurface.model.loader import LoadedModel, load_model

from . import naming
from .batch_metadata import OPEN_STATES, create_batch_tables
from .connections import job_engine_for
from .job import JobBudget, JobOutcome, StreamJob, utc_now
from .packs import is_due, members_in_order
from .pgconn import AnyEngine, text
from .platform import YellowDataPlatform
from .stream_config import stream_pack_plan
from .stream_context import resolve_model_dir, resolve_platform, transformer_output_capture
from .views import ViewSpec, plan_sink_views

log = logging.getLogger("datasurface.pack")

EXIT_OK = 0
EXIT_KEEP_WORKING = 75
EXIT_ERROR = 1

#: Member outcomes beyond the job's own (DONE, KEEP_WORKING, BUSY).
NOT_DUE = "NOT_DUE"
DEFERRED = "DEFERRED"
ERROR = "ERROR"


class PackError(DataSurfaceError):
    """The pack can't run at all (unknown pack, model that doesn't lint...)."""


@dataclass(slots=True)
class Member:
    stream: IngestionStream
    datasets: list[Dataset]
    capture: SQLSnapshotIngestion
    views: list[ViewSpec]

    @property
    def name(self) -> str:
        return self.stream.stream


@dataclass(slots=True)
class MemberResult:
    stream: str
    outcome: str  # DONE | KEEP_WORKING | BUSY | ERROR | NOT_DUE | DEFERRED
    reason: str = ""  # why it was due (or not)
    batch_id: int | None = None
    state: str | None = None
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    rows_staged: int = 0
    seconds: float = 0.0
    message: str = ""
    store: str = ""
    datasets: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "store": self.store,
            "datasets": list(self.datasets),
            "outcome": self.outcome,
            "reason": self.reason,
            "batch_id": self.batch_id,
            "state": self.state,
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "rows_staged_this_run": self.rows_staged,
            "seconds": round(self.seconds, 4),
            "message": self.message,
        }

    def log_line(self) -> str:
        """One line per member in the task log."""
        parts = [f"member={self.stream}", f"outcome={self.outcome}"]
        if self.batch_id is not None:
            parts.append(f"batch={self.batch_id} state={self.state}")
        if self.outcome == "DONE" and self.batch_id is not None:
            parts.append(f"inserted={self.inserted} updated={self.updated} deleted={self.deleted}")
        if self.rows_staged:
            parts.append(f"staged={self.rows_staged}")
        if self.outcome not in (NOT_DUE,):
            parts.append(f"seconds={self.seconds:.3f}")
        if self.reason:
            parts.append(f"due={self.reason!r}" if self.outcome != NOT_DUE else f"why={self.reason!r}")
        if self.message and self.outcome in (ERROR, "BUSY"):
            parts.append(f"message={self.message!r}")
        return " ".join(parts)


@dataclass(slots=True)
class PackResult:
    platform: str
    pack: str
    members: list[MemberResult]
    seconds: float = 0.0
    load_seconds: float = 0.0
    workers: int = 1

    @property
    def exit_code(self) -> int:
        outcomes = {m.outcome for m in self.members}
        if ERROR in outcomes:
            return EXIT_ERROR
        if outcomes & {JobOutcome.KEEP_WORKING.value, DEFERRED}:
            return EXIT_KEEP_WORKING
        return EXIT_OK

    def names(self, *outcomes: str) -> list[str]:
        return [m.stream for m in self.members if m.outcome in outcomes]

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "pack": self.pack,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "load_seconds": round(self.load_seconds, 3),
            "workers": self.workers,
            "members": [m.to_json() for m in self.members],
        }


# -- loading --------------------------------------------------------------------------------------


@dataclass(slots=True)
class PackContext:
    model: LoadedModel
    platform: YellowDataPlatform
    pack: str
    members: list[Member]


def load_pack(model_dir: str | Path, platform_name: str, pack: str) -> PackContext:
    """Load the model once and resolve every member of `pack` (as `load_stream` does for one)."""
    model = load_model(resolve_model_dir(model_dir))
    problems = lint_ecosystem(model.ecosystem, model.assignments)
    if problems.has_errors():
        raise PackError(
            f"the model in {model.directory} does not lint ({len(problems.errors)} error(s), first: "
            f"{problems.errors[0]}); the job runs only a clean model"
        )
    try:
        platform = resolve_platform(model, platform_name)
    except DataSurfaceError as exc:
        raise PackError(str(exc)) from exc
    eco = model.ecosystem
    (graph,) = build_graph(eco, model.assignments, platform_name)
    plan = stream_pack_plan(eco, platform, graph.streams)
    names = set(plan.packs.get(pack, []))
    if not names:
        known = sorted(plan.packs)
        shown = ", ".join(known[:10]) + (f" ... ({len(known)} packs)" if len(known) > 10 else "")
        hint = f"packs: {shown}" if known else "the platform has no packs (pack_size is 0)"
        raise PackError(f"Platform '{platform_name}' has no pack '{pack}' ({hint}); see `datasurface graph --json`")
    views = plan_sink_views(eco, model.assignments, platform)
    members: list[Member] = []
    for stream in graph.streams:
        if stream.stream not in names:
            continue
        store = eco.datastore(stream.store)
        assert store is not None
        capture = store.capture
        if isinstance(capture, DataTransformerOutput):
            capture = transformer_output_capture(platform, store)
        if not isinstance(capture, SQLSnapshotIngestion):
            raise PackError(f"Stream '{stream.stream}': datastore '{store.name}' is not a SQL snapshot store")
        datasets = [ds for n in stream.datasets if (ds := store.dataset(n)) is not None]
        specs = [spec for sv in views if sv.stream == stream.stream for spec in sv.specs()]
        members.append(Member(stream, datasets, capture, specs))
    return PackContext(model, platform, pack, members)


# -- engines --------------------------------------------------------------------------------------


class Engines:
    """One pooled engine per database (and credential), sized by the pack's connection budget."""

    def __init__(self, platform: YellowDataPlatform, env: Mapping[str, str] | None = None) -> None:
        self.platform = platform
        self.env = env
        self._engines: dict[tuple[str, str], AnyEngine] = {}
        self._lock = threading.Lock()

    def merge(self) -> AnyEngine:
        p = self.platform
        return self._get(p.merge_database, p.merge_credential, p.pack_merge_connections, "merge database")

    def source(self, capture: SQLSnapshotIngestion) -> AnyEngine:
        return self._get(capture.source, capture.credential, self.platform.pack_source_connections, "source database")

    def _get(self, container: SQLDatabase, credential: Credential, size: int, role: str) -> AnyEngine:
        key = (container.sqlalchemy_url(), credential.name)
        with self._lock:
            engine = self._engines.get(key)
            if engine is None:
                # The pool IS the budget: at most `size` connections, a member waiting for a
                # slot if the accounting above ever undercounts. No pre-ping: a pack run
                # lives minutes, and a ping per checkout is a round trip more for every one
                # of a member's transactions (a broken connection is dropped at check-in).
                where = f"Platform '{self.platform.name}' / pack: {role}"
                engine = job_engine_for(container, credential, self.env, role=where, pool_size=size)
                self._engines[key] = engine
            return engine

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()


# -- the run --------------------------------------------------------------------------------------


def latest_batches(engine: AnyEngine, platform: str, streams: Sequence[str]) -> dict[str, tuple[str, dt.datetime]]:
    """stream -> (state, started_at) of its latest batch, for every member in one query."""
    table = naming.batch_metrics_table(platform)
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": naming.quote_ident(table)}).scalar() is None:
            return {}
        rows = conn.execute(
            text(
                f"SELECT DISTINCT ON (stream) stream, state, started_at FROM {naming.quote_ident(table)}"  # noqa: S608 - quoted name
                " WHERE stream = ANY(:s) ORDER BY stream, batch_id DESC"
            ),
            {"s": list(streams)},
        )
        return {r.stream: (r.state, r.started_at) for r in rows}


@dataclass(slots=True)
class PackRun:
    """Runs the due members of a loaded pack. `requested` names members an external trigger
    asked for; `budget` overrides the platform's per-member budget."""

    context: PackContext
    env: Mapping[str, str] | None = None
    requested: Sequence[str] = ()
    budget: JobBudget | None = None
    clock: Callable[[], dt.datetime] = utc_now
    workers: int | None = None
    _engines: Engines | None = field(default=None, init=False)

    def run(self) -> PackResult:
        started = time.monotonic()
        ctx = self.context
        platform = ctx.platform
        unknown = sorted(set(self.requested) - {m.name for m in ctx.members})
        if unknown:
            raise PackError(
                f"Platform '{platform.name}' / Pack '{ctx.pack}': no member(s) {', '.join(unknown)} "
                f"(members: {', '.join(m.name for m in ctx.members)})"
            )
        engines = self._engines = Engines(platform, self.env)
        try:
            return self._run(engines, started)
        finally:
            engines.dispose()

    def _run(self, engines: Engines, started: float) -> PackResult:
        ctx = self.context
        platform = ctx.platform
        merge = engines.merge()
        # The platform's shared tables, once, before members run side by side: concurrent
        # CREATE TABLE IF NOT EXISTS of the same table races in the catalog (a unique
        # violation on pg_type); each member's own tables are its own.
        with merge.begin() as conn:
            create_batch_tables(conn, platform.name)
        now = self.clock()
        latest = latest_batches(merge, platform.name, [m.name for m in ctx.members])
        results: dict[str, MemberResult] = {}
        due: list[tuple[Member, str]] = []
        for member in ctx.members:
            state, started_at = latest.get(member.name, (None, None))
            ok, why = is_due(
                member.stream.cron,
                now,
                started_at,
                open_batch=state in {s.value for s in OPEN_STATES},
                requested=member.name in self.requested,
            )
            if ok:
                due.append((member, why))
            else:
                results[member.name] = MemberResult(member.name, NOT_DUE, why)
        order = members_in_order([(m.name, m.stream.priority) for m, _ in due])
        by_name = {m.name: (m, why) for m, why in due}
        queue = [by_name[n] for n in order]
        workers = max(1, min(self.workers or platform.pack_workers, platform.pack_merge_connections // 2, len(queue)))
        scheduler = _Scheduler(queue, platform.pack_source_connections, started, platform.max_seconds_per_run)

        def worker() -> None:
            while (picked := scheduler.next()) is not None:
                member, why = picked
                try:
                    results[member.name] = self._run_member(engines, member, why)
                finally:
                    scheduler.done(member)

        if queue:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pack-member") as pool:
                for future in [pool.submit(worker) for _ in range(workers)]:
                    future.result()
        for member, why in scheduler.deferred():
            results[member.name] = MemberResult(
                member.name, DEFERRED, why, message="the pack's time budget was spent before it started"
            )
        ordered = [results[n] for n in order] + [results[m.name] for m in ctx.members if m.name not in by_name]
        for member in ctx.members:
            results[member.name].store = member.stream.store
            results[member.name].datasets = list(member.stream.datasets)
        return PackResult(platform.name, ctx.pack, ordered, time.monotonic() - started, workers=workers)

    def _run_member(self, engines: Engines, member: Member, why: str) -> MemberResult:
        platform = self.context.platform
        began = time.monotonic()
        try:
            budget = self.budget or JobBudget.of(platform)
            job = StreamJob(
                platform,
                member.stream,
                member.datasets,
                member.capture,
                engines.merge(),
                engines.source(member.capture),
                budget=JobBudget(budget.max_rows, budget.max_seconds, budget.chunk_rows),
                clock=self.clock,
                views=member.views,
            )
            result = job.run()
        except Exception as exc:  # one member's failure must not stop the others
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not isinstance(exc, DataSurfaceError):
                message = f"{type(exc).__name__}: {message}"
            out = MemberResult(member.name, ERROR, why, seconds=time.monotonic() - began, message=message)
            log.error("%s", out.log_line())
            return out
        out = MemberResult(
            member.name,
            result.outcome.value,
            why,
            result.batch_id,
            result.state,
            result.counts.inserted,
            result.counts.updated,
            result.counts.deleted,
            result.rows_staged_this_run,
            time.monotonic() - began,
            result.message,
        )
        log.info("%s", out.log_line())
        return out


class _Scheduler:
    """Hands due members to workers: highest priority first among those whose source has a
    free connection slot; none once the pack's time budget is spent."""

    def __init__(self, queue: list[tuple[Member, str]], per_source: int, started: float, max_seconds: float) -> None:
        self._pending = list(queue)
        self._free: dict[tuple[str, str], int] = {}
        self._per_source = per_source
        self._started = started
        self._max_seconds = max_seconds
        self._cond = threading.Condition()
        self._running = 0

    @staticmethod
    def _source(member: Member) -> tuple[str, str]:
        return (member.capture.source.sqlalchemy_url(), member.capture.credential.name)

    def next(self) -> tuple[Member, str] | None:
        with self._cond:
            while True:
                if not self._pending or time.monotonic() - self._started >= self._max_seconds:
                    return None
                for index, (member, why) in enumerate(self._pending):
                    key = self._source(member)
                    if self._free.setdefault(key, self._per_source) > 0:
                        self._free[key] -= 1
                        self._running += 1
                        del self._pending[index]
                        return member, why
                self._cond.wait()

    def done(self, member: Member) -> None:
        with self._cond:
            self._free[self._source(member)] += 1
            self._running -= 1
            self._cond.notify_all()

    def deferred(self) -> list[tuple[Member, str]]:
        with self._cond:
            return list(self._pending)
