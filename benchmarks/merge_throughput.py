"""Merge throughput: the Yellow job against the fastest hand-written SQL, side by side.

One Postgres server holds the source database and the merge database (the job's tables and
the baseline's own copies, in schema ``baseline``). Steps:

1. generate N customers at the source (the sandbox model's `customers` dataset; `addresses`
   stays empty) with ``generate_series``;
2. peak RSS of ``datasurface job run`` at 100,000 rows (its own pair of databases);
3. first loads of the live and forensic platforms with the real CLI, timed (info) and with
   the job process's peak RSS;
4. the baseline's first load of its own tables from the same source (not timed);
5. steady-state rounds (3 by default), each: a change set at the source (5% updates, 1%
   deletes, 1% inserts, other keys each round), then timed, ingest plus merge, the job
   (``StreamJob`` from ``load_stream``, exactly what ``job run`` executes, in-process so
   that interpreter start-up and model loading are not counted) and the baseline, live then
   forensic, the two sides alternating who goes first; the figures are the best round of
   each (other work on a shared machine only ever adds time);
6. checks after every run: the job's counts are the change set's, and the job's tables
   equal the baseline's (row counts plus an order-independent checksum computed in SQL).

Server: ``DATASURFACE_BENCH_PG_URL``, else ``DATASURFACE_TEST_PG_URL``, else an embedded
Postgres started in ``.sandbox/bench_pg``. Rows: ``--rows N`` or ``DATASURFACE_BENCH_ROWS``.

Peak RSS: each job run goes through a small launcher interpreter that runs the job as its
child and reports ``RUSAGE_CHILDREN.ru_maxrss`` (the kernel's high-water mark, so no short
peak is missed as polling would). The launcher is needed because a child forked directly
from this process would count this process's pages (Airflow, when the DAG benchmark ran
first) in its own ``ru_maxrss``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from benchmarks import merge_sql
from datasurface.platforms.yellow import naming, pgconn
from datasurface.platforms.yellow.job import JobOutcome, JobResult
from datasurface.platforms.yellow.stream_context import load_stream
from simulator.schema import create_tables
from tests.db_env import database_env

REPO = Path(__file__).resolve().parents[1]
SANDBOX_MODEL = REPO / "sandbox" / "model"
EMBEDDED_DATA_DIR = REPO / ".sandbox" / "bench_pg"
STORE = "Store1"
LIVE, FORENSIC = "YellowLive", "YellowForensic"
DEFAULT_ROWS = 1_000_000
DEFAULT_ROUNDS = 3
RSS_SMALL_ROWS = 100_000
EXIT_KEEP_WORKING = 75

_started = time.perf_counter()


def progress(message: str) -> None:
    print(f"[merge {time.perf_counter() - _started:7.1f}s] {message}", file=sys.stderr, flush=True)


def size_label(rows: int) -> str:
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


# --- the server and its databases --------------------------------------------------------------


@contextlib.contextmanager
def pg_server() -> Iterator[str]:
    """The admin URL of the server to use; an embedded server is stopped afterwards."""
    url = os.environ.get("DATASURFACE_BENCH_PG_URL") or os.environ.get("DATASURFACE_TEST_PG_URL")
    if url:
        progress(f"using Postgres at {make_url(url).render_as_string(hide_password=True)}")
        yield url
        return
    from datasurface import embedded_pg

    progress(f"starting embedded Postgres in {EMBEDDED_DATA_DIR}")
    url = embedded_pg.start(EMBEDDED_DATA_DIR, embedded_pg.free_port())
    try:
        yield url
    finally:
        progress("stopping embedded Postgres")
        embedded_pg.stop(EMBEDDED_DATA_DIR)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as a libpq conninfo URL for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Databases:
    """Databases created on the server for this run, dropped by `drop_all`."""

    admin_url: str
    tag: str = field(default_factory=lambda: f"ds_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}")
    created: list[str] = field(default_factory=list)

    def create(self, suffix: str) -> str:
        name = f"{self.tag}_{suffix}"
        with psycopg.connect(libpq_url(self.admin_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with psycopg.connect(libpq_url(self.admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created):
            self.drop(make_url(self.admin_url).set(database=name).render_as_string(hide_password=False))


# --- a source + merge database pair wired to the sandbox model ---------------------------------


@dataclass
class Stack:
    source_url: str
    merge_url: str
    model_dir: Path

    @property
    def env(self) -> dict[str, str]:
        """What the sandbox model and its credentials read from the environment."""
        src, mrg = make_url(self.source_url), make_url(self.merge_url)
        return {
            **database_env(self.source_url, self.merge_url),
            "DATASURFACE_LAUNCHER": "local",
            "POSTGRES_USER": mrg.username or "postgres",
            "POSTGRES_PASSWORD": mrg.password or "",
            "CUSTOMER_DB_USER": src.username or "postgres",
            "CUSTOMER_DB_PASSWORD": src.password or "",
        }

    def source(self) -> psycopg.Connection[Any]:
        return psycopg.connect(libpq_url(self.source_url))

    def merge(self) -> psycopg.Connection[Any]:
        return psycopg.connect(libpq_url(self.merge_url))


def make_stack(dbs: Databases, suffix: str, model_dir: Path, rows: int) -> Stack:
    stack = Stack(dbs.create(f"{suffix}src"), dbs.create(f"{suffix}mrg"), model_dir)
    engine = create_engine(stack.source_url)
    try:
        create_tables(engine)
    finally:
        engine.dispose()
    with stack.source() as conn:
        merge_sql.fill_source(conn, rows)
    vacuum_analyze(stack.source_url, ["customers", "addresses"])
    return stack


def vacuum_analyze(url: str, tables: list[str]) -> None:
    """Steady state: hint bits set and statistics fresh, as autovacuum would leave them."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for table in tables:
            conn.execute(f"VACUUM (ANALYZE) {table}")


def merge_table(platform: str, dataset: str = "customers") -> str:
    return '"' + naming.merge_table(platform, STORE, dataset, forensic=platform == FORENSIC) + '"'


# --- running the job ---------------------------------------------------------------------------


@dataclass
class CliRun:
    seconds: float
    rss_mb: float
    runs: int


# Runs the job as ITS child and writes that child's peak RSS (kB) to argv[1]. The launcher is
# a fresh, small interpreter: a child forked straight from this benchmark process would count
# the benchmark's own pages (Airflow, if the DAG benchmark ran first) in its ru_maxrss.
_RSS_LAUNCHER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[2:]).returncode\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def run_job_cli(stack: Stack, platform: str, log_dir: Path) -> CliRun:
    """`datasurface job run` as a child process until DONE; wall time and the peak RSS of
    the job process (the largest over its runs when it had to KEEP_WORKING)."""
    env = {**os.environ, **stack.env}
    args = [sys.executable, "-m", "datasurface.cli", "job", "run", "--model", str(stack.model_dir)]
    args += ["--platform", platform, "--stream", STORE]
    total, peak_kb, runs = 0.0, 0, 0
    while True:
        runs += 1
        log_path = log_dir / f"{platform}-{runs}.log"
        rss_path = log_dir / f"{platform}-{runs}.rss"
        with open(log_path, "w") as err:
            start = time.perf_counter()
            code = subprocess.run(
                [sys.executable, "-c", _RSS_LAUNCHER, str(rss_path), *args],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
                check=False,
            ).returncode
            total += time.perf_counter() - start
        peak_kb = max(peak_kb, int(rss_path.read_text()))  # kilobytes on Linux
        if code == 0:
            return CliRun(total, round(peak_kb / 1024, 1), runs)
        if code != EXIT_KEEP_WORKING:
            raise RuntimeError(f"job run {platform} exited {code}:\n{log_path.read_text()[-3000:]}")


class StatementProfile:
    """Wall time per SQL statement the job executes on its merge engine (COPY goes around it)."""

    def __init__(self, engine: pgconn.Engine) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        engine.on_statement = self._record

    def _record(self, statement: str, elapsed: float) -> None:
        label = " ".join(statement.split())[:90]
        self.seconds[label] += elapsed
        self.calls[label] += 1

    def report(self, title: str, total: float, top: int = 8) -> None:
        ranked = sorted(self.seconds.items(), key=lambda kv: -kv[1])
        in_sql = sum(self.seconds.values())
        progress(f"{title}: {total:.2f}s, of which {in_sql:.2f}s in SQL statements (the rest is mostly COPY):")
        for label, seconds in ranked[:top]:
            print(f"    {seconds:7.3f}s x{self.calls[label]:<3} {label}", file=sys.stderr)


@contextlib.contextmanager
def patched_env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


class PhaseClock(logging.Handler):
    """When the job logged each line: the last "staged" line ends ingestion."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.staged_at: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "staged" in record.getMessage():
            self.staged_at.append(time.perf_counter())


def run_job_in_process(stack: Stack, platform: str) -> tuple[float, JobResult]:
    """One `job run` of the stream in this process, timed from the job's start to its end
    (model loading and engine creation excluded)."""
    with patched_env(stack.env):  # the model reads its hosts from the environment
        ctx = load_stream(stack.model_dir, platform, STORE)
        merge_engine, source_engine = ctx.merge_engine(stack.env), ctx.source_engine(stack.env)
    profile = StatementProfile(merge_engine)
    phases = PhaseClock()
    job_log = logging.getLogger("datasurface.job")
    old_level = job_log.level
    job_log.setLevel(logging.INFO)
    job_log.addHandler(phases)
    try:
        job = ctx.job(engines=(merge_engine, source_engine))
        start = time.perf_counter()
        result = job.run()
        end = time.perf_counter()
        seconds = end - start
    finally:
        job_log.removeHandler(phases)
        job_log.setLevel(old_level)
        merge_engine.dispose()
        source_engine.dispose()
    if result.outcome is not JobOutcome.DONE:
        raise RuntimeError(f"job {platform}: expected DONE in one run, got {result.outcome.value} {result.message}")
    ingest = (phases.staged_at[-1] - start) if phases.staged_at else 0.0
    profile.report(f"job {platform}", seconds)
    progress(
        f"job {platform}: ingest {ingest:.2f}s ({len(phases.staged_at)} chunks),"
        f" merge + commit + staging cleanup {end - start - ingest:.2f}s"
    )
    return seconds, result


# --- the benchmark -----------------------------------------------------------------------------


def timed(label: str, func: Any, *args: Any) -> tuple[float, Any]:
    progress(f"{label} ...")
    start = time.perf_counter()
    out = func(*args)
    seconds = time.perf_counter() - start
    progress(f"{label}: {seconds:.2f}s {out if out is not None else ''}")
    return seconds, out


def rss_at(dbs: Databases, model_dir: Path, rows: int, log_dir: Path) -> float:
    """Peak RSS of a first load of `rows` rows (live platform) on a pair of scratch databases."""
    progress(f"peak RSS at {rows:,} rows: generating its source ...")
    stack = make_stack(dbs, f"r{rows}", model_dir, rows)
    try:
        run = run_job_cli(stack, LIVE, log_dir)
    finally:
        dbs.drop(stack.source_url)
        dbs.drop(stack.merge_url)
    progress(f"peak RSS at {rows:,} rows: {run.rss_mb} MB ({run.seconds:.1f}s, {run.runs} run(s))")
    return run.rss_mb


def check_equal(stack: Stack, what: str, ours: str, theirs: str, forensic: bool) -> None:
    with stack.merge() as conn:
        if forensic:
            a = merge_sql.table_checksum(
                conn, ours, forensic=True, batch_in="ds_surf_batch_in", batch_out="ds_surf_batch_out"
            )
            b = merge_sql.table_checksum(conn, theirs, forensic=True, batch_in="batch_in", batch_out="batch_out")
        else:
            a = merge_sql.table_checksum(conn, ours, forensic=False)
            b = merge_sql.table_checksum(conn, theirs, forensic=False)
    if a != b:
        raise AssertionError(f"{what}: job table {ours} {a} differs from baseline {theirs} {b}")
    progress(f"check {what}: job and baseline tables agree {a}")


def check_counts(what: str, result: JobResult, expected: dict[str, int]) -> None:
    got = {"updated": result.counts.updated, "deleted": result.counts.deleted, "inserted": result.counts.inserted}
    if got != expected:
        raise AssertionError(f"{what}: job counts {got} differ from the change set {expected}")


def measure(rows: int | None = None, rounds: int | None = None) -> dict[str, float]:
    """The merge figures: `rows` source rows (default $DATASURFACE_BENCH_ROWS or 1,000,000)
    and `rounds` steady-state rounds (default $DATASURFACE_BENCH_ROUNDS or 3; best of them)."""
    rows = rows or int(os.environ.get("DATASURFACE_BENCH_ROWS") or DEFAULT_ROWS)
    rounds = rounds or int(os.environ.get("DATASURFACE_BENCH_ROUNDS") or DEFAULT_ROUNDS)
    label = size_label(rows)
    figures: dict[str, float] = {}
    with pg_server() as admin_url, tempfile.TemporaryDirectory(prefix="ds_bench_") as tmp:
        model_dir = Path(tmp) / "model"
        shutil.copytree(SANDBOX_MODEL, model_dir, ignore=shutil.ignore_patterns("__pycache__"))
        dbs = Databases(admin_url)
        try:
            if rows != RSS_SMALL_ROWS:
                figures[f"rss_mb_{size_label(RSS_SMALL_ROWS)}"] = rss_at(dbs, model_dir, RSS_SMALL_ROWS, Path(tmp))

            progress(f"generating {rows:,} source customers ...")
            stack = make_stack(dbs, "", model_dir, rows)

            progress("first load, live (CLI) ...")
            live_first = run_job_cli(stack, LIVE, Path(tmp))
            progress(f"first load, live: {live_first.seconds:.2f}s, peak RSS {live_first.rss_mb} MB")
            progress("first load, forensic (CLI) ...")
            forensic_first = run_job_cli(stack, FORENSIC, Path(tmp))
            progress(f"first load, forensic: {forensic_first.seconds:.2f}s, peak RSS {forensic_first.rss_mb} MB")
            figures["first_load_live_s"] = round(live_first.seconds, 2)
            figures["first_load_forensic_s"] = round(forensic_first.seconds, 2)
            figures[f"rss_mb_{label}"] = max(live_first.rss_mb, forensic_first.rss_mb)

            with stack.merge() as merge:
                merge_sql.create_baseline_tables(merge)
                with stack.source() as source:
                    timed("baseline first load (not timed in the figures)", merge_sql.first_load, source, merge)
            base_live, base_forensic = f"{merge_sql.SCHEMA}.live", f"{merge_sql.SCHEMA}.forensic"
            vacuum_analyze(stack.merge_url, [merge_table(LIVE), merge_table(FORENSIC), base_live, base_forensic])
            check_equal(stack, "first load, live", merge_table(LIVE), base_live, forensic=False)
            check_equal(stack, "first load, forensic", merge_table(FORENSIC), base_forensic, forensic=True)

            times: dict[str, list[float]] = defaultdict(list)
            for round_no in range(rounds):
                progress(f"--- steady-state round {round_no + 1} of {rounds} ---")
                with stack.source() as source:
                    _, expected = timed("change set at the source", merge_sql.apply_change_set, source, rows, round_no)
                vacuum_analyze(stack.source_url, ["customers"])
                batch_id = round_no + 2  # batch 1 was the first load
                # Alternate who goes first, so neither side always meets the colder cache.
                for kind in ("live", "forensic"):
                    runs = [("job", kind), ("baseline", kind)]
                    for who, _ in runs if round_no % 2 == 0 else runs[::-1]:
                        times[f"{who}_{kind}"].append(run_one(stack, who, kind, expected, batch_id))
                    ours, theirs = (
                        (merge_table(LIVE), base_live) if kind == "live" else (merge_table(FORENSIC), base_forensic)
                    )
                    check_equal(stack, f"round {round_no + 1}, {kind}", ours, theirs, forensic=kind == "forensic")
                vacuum_analyze(stack.merge_url, [merge_table(LIVE), merge_table(FORENSIC), base_live, base_forensic])
        finally:
            progress("dropping the benchmark databases")
            dbs.drop_all()

    # Best of the rounds: other work on the machine only ever adds time.
    for key, values in times.items():
        progress(f"{key}_s per round: {', '.join(f'{v:.2f}' for v in values)}")
    best = {key: min(values) for key, values in times.items()}
    for kind in ("live", "forensic"):
        figures[f"job_{kind}_s"] = round(best[f"job_{kind}"], 2)
        figures[f"baseline_{kind}_s"] = round(best[f"baseline_{kind}"], 2)
    figures["ratio_live"] = round(best["job_live"] / best["baseline_live"], 2)
    figures["ratio_forensic"] = round(best["job_forensic"] / best["baseline_forensic"], 2)
    return figures


def run_one(stack: Stack, who: str, kind: str, expected: dict[str, int], batch_id: int) -> float:
    """One timed steady-state run of the job or the baseline; checks the job's counts."""
    if who == "job":
        progress(f"job, {kind} ...")
        seconds, result = run_job_in_process(stack, LIVE if kind == "live" else FORENSIC)
        check_counts(f"job, {kind}", result, expected)
        if result.batch_id != batch_id:
            raise AssertionError(f"job, {kind}: committed batch {result.batch_id}, expected {batch_id}")
        return seconds
    with stack.merge() as merge, stack.source() as source:
        if kind == "live":
            seconds, _ = timed("baseline, live", merge_sql.merge_live, source, merge)
        else:
            seconds, _ = timed("baseline, forensic", merge_sql.merge_forensic, source, merge, batch_id, batch_id - 1)
    return float(seconds)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.merge_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, help=f"source rows (default $DATASURFACE_BENCH_ROWS or {DEFAULT_ROWS:,})")
    parser.add_argument(
        "--rounds", type=int, help=f"steady-state rounds, best of which counts (default {DEFAULT_ROUNDS})"
    )
    args = parser.parse_args(argv)
    for key, value in measure(args.rows, args.rounds).items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
