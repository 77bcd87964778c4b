"""First loads and job start-up: the Yellow job against COPY into an empty table.

Figures:

- ``ratio_initial_live`` / ``ratio_initial_forensic``: a first load of N customers by the
  job (``StreamJob.run`` in-process, as in `merge_throughput`: ingest, merge and commit;
  interpreter start and model load excluded) over the baseline measured in the same run: a
  ``COPY (SELECT ...) TO STDOUT`` from the source piped into ``COPY ... FROM STDIN`` of an
  empty logged table, then ``CREATE UNIQUE INDEX`` on its key, committed. The pipe is the
  job's own relay (`copy_relay`): a row-by-row psycopg loop, as this baseline had until
  the job got that relay, costs 1.3-1.6 s more at 1M rows (text COPY 2.7-3.0 s against
  4.3 s) and flattered every ratio; ``psql ... | psql`` measured 2.95-3.1 s. Best of
  `rounds` each (the job's tables are truncated between rounds, the baseline's recreated),
  each run after a ``CHECKPOINT`` (`checkpoint`).
- ``job_startup_s`` (`measure_startup`, the `startup` benchmark): the wall time of
  ``datasurface job run`` (a child process) for a 10-row source, minus the time its SQL statements took (summed by timing psycopg's
  cursor calls in the launcher): imports, model load, engine creation, connecting.
  ``job_first_sql_s``: from the launcher's first line to the job's first SQL statement.
  Best of 5 runs. ``job_run_cpu_s``: the CPU time (user + system) of that whole process,
  the figure that stays meaningful when the machine is busy.

Server and rows as in `merge_throughput` (``--rows`` / ``DATASURFACE_BENCH_ROWS``).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from benchmarks import merge_sql
from benchmarks.merge_throughput import (
    FORENSIC,
    LIVE,
    SANDBOX_MODEL,
    STORE,
    Databases,
    Stack,
    libpq_url,
    make_stack,
    merge_table,
    pg_server,
    progress,
    run_job_in_process,
)
from datasurface.platforms.yellow import naming
from datasurface.platforms.yellow.copy_relay import relay

DEFAULT_ROWS = 1_000_000
DEFAULT_ROUNDS = 2
STARTUP_RUNS = 5

# Runs the CLI in this interpreter with every SQL statement timed at the driver (psycopg's
# cursor: the job's own connections and SQLAlchemy's both end there; COPY blocks included);
# writes {"sql_s": ..., "first_sql_s": ...} to argv[1] at exit. psycopg is imported after t0,
# so its import counts as start-up as it does for the job.
_STARTUP_LAUNCHER = """
import atexit, contextlib, json, sys, time
t0 = time.perf_counter()
out, sql, first = sys.argv[1], [0.0], [None]
atexit.register(lambda: open(out, "w").write(json.dumps({"sql_s": sql[0], "first_sql_s": first[0]})))
import psycopg
def _timed(method):
    def run(*args, **kwargs):
        start = time.perf_counter()
        if first[0] is None:
            first[0] = start - t0
        try:
            return method(*args, **kwargs)
        finally:
            sql[0] += time.perf_counter() - start
    return run
def _timed_copy(method):
    @contextlib.contextmanager
    def run(*args, **kwargs):
        start = time.perf_counter()
        if first[0] is None:
            first[0] = start - t0
        try:
            with method(*args, **kwargs) as copy:
                yield copy
        finally:
            sql[0] += time.perf_counter() - start
    return run
psycopg.Cursor.execute = _timed(psycopg.Cursor.execute)
psycopg.Cursor.executemany = _timed(psycopg.Cursor.executemany)
psycopg.Cursor.copy = _timed_copy(psycopg.Cursor.copy)
sys.argv = ["datasurface", *sys.argv[2:]]
from datasurface.cli import main
main(sys.argv[1:])
"""


def baseline_first_load(stack: Stack) -> float:
    """COPY the source's customers into an empty logged table, build its unique key index."""
    cols = merge_sql.COLS
    with psycopg.connect(libpq_url(stack.merge_url)) as merge, psycopg.connect(libpq_url(stack.source_url)) as src:
        merge.execute("DROP SCHEMA IF EXISTS first_load CASCADE")
        merge.execute("CREATE SCHEMA first_load")
        merge.execute(f"CREATE TABLE first_load.customers ({merge_sql._DATA_DDL})")
        merge.commit()
        start = time.perf_counter()
        with src.cursor() as scur, merge.cursor() as mcur:
            with (
                mcur.copy(f"COPY first_load.customers ({cols}) FROM STDIN") as cin,
                scur.copy(f"COPY (SELECT {cols} FROM customers) TO STDOUT") as cout,
            ):
                relay(cout, cin)
        merge.execute("CREATE UNIQUE INDEX first_load_customers_id ON first_load.customers (id)")
        merge.commit()
        src.commit()
        return time.perf_counter() - start


def checkpoint(stack: Stack) -> None:
    """Flush dirty buffers before a timed run, so that no run pays for the previous one's
    writes (the forensic load always follows the live one's million rows, the baseline the
    data generation or the previous round). One server holds both databases; a role that
    may not CHECKPOINT skips it."""
    try:
        with psycopg.connect(libpq_url(stack.source_url), autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        pass


def reset_job_tables(stack: Stack, platforms: tuple[str, ...] = (LIVE, FORENSIC)) -> None:
    """Empty the job's merge tables and batch history on `platforms`, as before a first load."""
    with psycopg.connect(libpq_url(stack.merge_url)) as merge:
        for platform in platforms:
            for dataset in ("customers", "addresses"):
                merge.execute(f"TRUNCATE {merge_table(platform, dataset)}")
            merge.execute(f'DELETE FROM "{naming.batch_metrics_table(platform)}"')
        merge.commit()


def job_startup(stack: Stack, tmp: Path) -> tuple[float, float, float]:
    """(wall minus SQL time, time to first SQL, CPU seconds) of `job run` on a 10-row
    source; best runs. The CPU figure (user + system of the job process) is the one that
    holds on a busy machine, where waiting for a core inflates every wall time."""
    # Bytecode cached, as an installed package (a job image) has it: an environment with
    # PYTHONDONTWRITEBYTECODE set would compile every changed module from source on every run.
    env = {**os.environ, **stack.env, "PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}
    args = ["job", "run", "--model", str(stack.model_dir), "--platform", LIVE, "--stream", STORE]
    # One untimed run writes that bytecode.
    subprocess.run([sys.executable, "-m", "datasurface.cli", *args], env=env, capture_output=True, check=False)
    startups, firsts, cpus = [], [], []
    for run in range(STARTUP_RUNS):
        out = tmp / f"startup-{run}.json"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _STARTUP_LAUNCHER, str(out), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if done.returncode != 0:
            raise RuntimeError(f"job run exited {done.returncode}: {done.stderr[-2000:]}")
        timing: dict[str, Any] = json.loads(out.read_text())
        startups.append(wall - float(timing["sql_s"]))
        firsts.append(float(timing["first_sql_s"]))
        progress(
            f"job start-up run {run + 1}: wall {wall:.3f}s, SQL {timing['sql_s']:.3f}s,"
            f" first SQL at {timing['first_sql_s']:.3f}s, CPU {cpus[-1]:.3f}s"
        )
    return min(startups), min(firsts), min(cpus)


def measure_startup() -> dict[str, float]:
    """`job_startup_s`, `job_first_sql_s`, `job_run_cpu_s` on a 10-row source. Its own
    benchmark, run first by `make bench`: after a million-row benchmark the server is still
    checkpointing and vacuuming, which stretches a 0.3 s figure by a third."""
    with pg_server() as admin_url, tempfile.TemporaryDirectory(prefix="ds_bench_start_") as tmp:
        model_dir = Path(tmp) / "model"
        shutil.copytree(SANDBOX_MODEL, model_dir, ignore=shutil.ignore_patterns("__pycache__"))
        dbs = Databases(admin_url)
        try:
            progress("job start-up: a 10-row source ...")
            small = make_stack(dbs, "fls", model_dir, 10)
            startup, first_sql, cpu = job_startup(small, Path(tmp))
        finally:
            dbs.drop_all()
    return {"job_startup_s": round(startup, 3), "job_first_sql_s": round(first_sql, 3), "job_run_cpu_s": round(cpu, 3)}


def measure(rows: int | None = None, rounds: int | None = None) -> dict[str, float]:
    rows = rows or int(os.environ.get("DATASURFACE_BENCH_ROWS") or DEFAULT_ROWS)
    rounds = rounds or int(os.environ.get("DATASURFACE_BENCH_FIRST_LOAD_ROUNDS") or DEFAULT_ROUNDS)
    figures: dict[str, float] = {}
    with pg_server() as admin_url, tempfile.TemporaryDirectory(prefix="ds_bench_fl_") as tmp:
        model_dir = Path(tmp) / "model"
        shutil.copytree(SANDBOX_MODEL, model_dir, ignore=shutil.ignore_patterns("__pycache__"))
        dbs = Databases(admin_url)
        try:
            progress(f"first loads: generating {rows:,} source customers ...")
            stack = make_stack(dbs, "fl", model_dir, rows)
            times: dict[str, list[float]] = {"baseline": [], "live": [], "forensic": []}
            for round_no in range(rounds):
                progress(f"--- first-load round {round_no + 1} of {rounds} ---")
                checkpoint(stack)
                times["baseline"].append(baseline_first_load(stack))
                progress(f"baseline first load: {times['baseline'][-1]:.2f}s")
                if round_no:
                    reset_job_tables(stack)
                for kind, platform in (("live", LIVE), ("forensic", FORENSIC)):
                    checkpoint(stack)
                    seconds, result = run_job_in_process(stack, platform)
                    if result.counts.inserted != rows:
                        raise AssertionError(f"first load {kind}: inserted {result.counts.inserted}, expected {rows}")
                    times[kind].append(seconds)
                    progress(f"job first load, {kind}: {seconds:.2f}s")
            with psycopg.connect(libpq_url(stack.merge_url)) as merge:
                for platform in (LIVE, FORENSIC):
                    got = merge.execute(f"SELECT count(*), sum(hashtext(id)) FROM {merge_table(platform)}").fetchone()
                    want = merge.execute("SELECT count(*), sum(hashtext(id)) FROM first_load.customers").fetchone()
                    if got != want:
                        raise AssertionError(f"first load {platform}: {got} differs from the baseline's {want}")
        finally:
            progress("dropping the first-load databases")
            dbs.drop_all()
    best = {k: min(v) for k, v in times.items()}
    figures["first_load_baseline_s"] = round(best["baseline"], 2)
    figures["first_load_job_live_s"] = round(best["live"], 2)
    figures["first_load_job_forensic_s"] = round(best["forensic"], 2)
    figures["ratio_initial_live"] = round(best["live"] / best["baseline"], 2)
    figures["ratio_initial_forensic"] = round(best["forensic"] / best["baseline"], 2)
    return figures


def main(argv: list[str]) -> int:
    rows = int(argv[0]) if argv else None
    for key, value in measure(rows).items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
