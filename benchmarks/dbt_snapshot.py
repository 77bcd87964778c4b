"""First load against dbt: the Yellow job's first load beside a dbt snapshot's first run.

Figures, measured in the same run on the same Postgres server and the same N generated
source customers (`merge_sql.fill_source`), best of `rounds` each:

- ``dbt_first_snapshot_s``: the time dbt itself reports for its snapshot node
  (``results[0].execution_time`` in ``target/run_results.json``) on the first run of a
  snapshot over the source ``customers`` table (strategy ``check``, ``check_cols: all``,
  ``unique_key: id``, dbt 1.9+ YAML syntax, ``threads: 1``): dbt's
  ``CREATE TABLE ... AS SELECT`` of every row plus its ``dbt_scd_id`` (an md5 per row) and
  validity columns, committed. It excludes dbt's process start-up, project parsing and the
  run's own bookkeeping, as the job's figure excludes interpreter start and model load.
- ``dbt_first_snapshot_wall_s``: the wall time of that ``dbt snapshot`` child process, for
  scale: it adds dbt's start-up (imports, parsing, connecting; 2 s or more) to the above.
- ``first_load_job_live_vs_dbt_s``: the job's first load of the same rows on the live
  platform, measured in this benchmark exactly as `first_load` measures
  ``first_load_job_live_s`` (``StreamJob.run`` in-process on a fresh stack: ingest, merge,
  commit; the job's live tables emptied between rounds by `first_load.reset_job_tables`).
- ``ratio_initial_live_dbt``: the job's time over dbt's node time; the target is <= 1.0,
  a first load at least as fast as dbt's first snapshot.

Each round runs both contenders, alternating which goes first, after a ``CHECKPOINT`` (when
the role may) so that neither pays for flushing the other's writes. Between rounds the
snapshot table is dropped and dbt's ``target/`` directory removed, so every dbt run is a
true first run (no partial parse). The snapshot table's row count and an id checksum are
checked against the source's after every dbt run, the job's inserted count after every job
run.

Where it is not like for like: dbt reads and writes within one database (the snapshot table
lands in schema ``dbt_bench`` of the source database, a single ``CREATE TABLE AS``), while
the job copies every row out of the source database and into a separate merge database
(two backends, COPY over the client), hashes each row for change detection, and builds its
key index and batch metadata; dbt's snapshot gets no index at all. The job does strictly
more work for the same result rows.

dbt is not a project dependency: on first use the benchmark builds its own virtual
environment in ``.sandbox/dbt-venv`` (git-ignored) with `DBT_PINS` installed from PyPI;
a changed pin rebuilds it. Without network access `measure` prints why and returns no
figures. Server and rows as in `merge_throughput` (``DATASURFACE_BENCH_ROWS``).
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from benchmarks.first_load import checkpoint, reset_job_tables
from benchmarks.merge_throughput import (
    LIVE,
    REPO,
    SANDBOX_MODEL,
    Databases,
    Stack,
    make_stack,
    pg_server,
    progress,
    run_job_in_process,
)

DEFAULT_ROWS = 1_000_000
DEFAULT_ROUNDS = 2
DBT_PINS = ("dbt-core==1.11.16", "dbt-postgres==1.11.0")
DBT_VENV = REPO / ".sandbox" / "dbt-venv"
_PINS_MARKER = ".datasurface-pins"  # written into the venv once the install succeeded
DBT_SCHEMA = "dbt_bench"
SNAPSHOT = "customers_snapshot"

_PROJECT_YML = """\
name: ds_bench
version: "1.0"
config-version: 2
profile: ds_bench
model-paths: ["models"]
snapshot-paths: ["snapshots"]
flags:
  send_anonymous_usage_stats: false
  partial_parse: false
"""

# Credentials come from the environment (the password as a DBT_ENV_SECRET_ variable, which
# dbt scrubs from its logs).
_PROFILES_YML = f"""\
ds_bench:
  target: bench
  outputs:
    bench:
      type: postgres
      host: "{{{{ env_var('DS_BENCH_DBT_HOST') }}}}"
      port: "{{{{ env_var('DS_BENCH_DBT_PORT') | as_number }}}}"
      user: "{{{{ env_var('DS_BENCH_DBT_USER') }}}}"
      password: "{{{{ env_var('DBT_ENV_SECRET_DS_BENCH_PASSWORD', '') }}}}"
      dbname: "{{{{ env_var('DS_BENCH_DBT_DBNAME') }}}}"
      schema: {DBT_SCHEMA}
      threads: 1
"""

_SOURCES_YML = """\
version: 2
sources:
  - name: src
    schema: public
    tables:
      - name: customers
"""

_SNAPSHOT_YML = f"""\
snapshots:
  - name: {SNAPSHOT}
    relation: source('src', 'customers')
    config:
      strategy: check
      check_cols: all
      unique_key: id
"""


# --- dbt's own virtual environment -------------------------------------------------------------


def dbt_executable() -> tuple[Path | None, str]:
    """The `dbt` of the benchmark's own venv, built on first use; (None, why) when it can't be."""
    dbt = DBT_VENV / "bin" / "dbt"
    marker = DBT_VENV / _PINS_MARKER
    wanted = " ".join(DBT_PINS)
    if dbt.exists() and marker.exists() and marker.read_text().strip() == wanted:
        return dbt, ""
    shutil.rmtree(DBT_VENV, ignore_errors=True)
    progress(f"dbt: first use, creating {DBT_VENV.relative_to(REPO)} with {wanted} (about a minute) ...")
    tail: collections.deque[str] = collections.deque(maxlen=5)
    try:
        made = subprocess.run([sys.executable, "-m", "venv", str(DBT_VENV)], capture_output=True, text=True)
        if made.returncode != 0:
            raise RuntimeError(f"python -m venv exited {made.returncode}: {made.stderr.strip()[-300:]}")
        pip = [str(DBT_VENV / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", *DBT_PINS]
        with subprocess.Popen(pip, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip()
                if line:
                    tail.append(line)
                if line.startswith(("Collecting ", "Installing collected", "Successfully installed", "ERROR")):
                    progress(f"dbt install: {line[:160]}")
        if proc.returncode != 0:
            errors = [line for line in tail if line.startswith("ERROR")] or list(tail)[-1:]
            raise RuntimeError(f"pip exited {proc.returncode}: {errors[-1][:300] if errors else 'no output'}")
        version = subprocess.run([str(dbt), "--version"], capture_output=True, text=True)
        if version.returncode != 0:
            raise RuntimeError(f"dbt --version exited {version.returncode}: {version.stderr.strip()[-300:]}")
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        shutil.rmtree(DBT_VENV, ignore_errors=True)
        return None, str(exc)
    marker.write_text(wanted + "\n")
    progress(f"dbt: installed in {DBT_VENV.relative_to(REPO)}")
    return dbt, ""


# --- the dbt project and its runs --------------------------------------------------------------


def write_project(project: Path) -> None:
    (project / "models").mkdir(parents=True)
    (project / "snapshots").mkdir()
    (project / "dbt_project.yml").write_text(_PROJECT_YML)
    (project / "profiles.yml").write_text(_PROFILES_YML)
    (project / "models" / "sources.yml").write_text(_SOURCES_YML)
    (project / "snapshots" / f"{SNAPSHOT}.yml").write_text(_SNAPSHOT_YML)


def dbt_env(stack: Stack) -> dict[str, str]:
    src = make_url(stack.source_url)
    return {
        **os.environ,
        "DS_BENCH_DBT_HOST": src.host or "127.0.0.1",
        "DS_BENCH_DBT_PORT": str(src.port or 5432),
        "DS_BENCH_DBT_USER": src.username or "postgres",
        "DBT_ENV_SECRET_DS_BENCH_PASSWORD": src.password or "",
        "DS_BENCH_DBT_DBNAME": src.database or "",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }


def drop_snapshot(stack: Stack) -> None:
    with stack.source() as conn:
        conn.execute(f'DROP TABLE IF EXISTS {DBT_SCHEMA}."{SNAPSHOT}"')
        conn.commit()


def run_dbt_snapshot(dbt: Path, project: Path, stack: Stack) -> tuple[float, float]:
    """One first run of `dbt snapshot` as a child process: (node execution_time, wall)."""
    shutil.rmtree(project / "target", ignore_errors=True)
    args = [str(dbt), "snapshot", "--project-dir", str(project), "--profiles-dir", str(project)]
    start = time.perf_counter()
    done = subprocess.run(args, env=dbt_env(stack), cwd=project, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"dbt snapshot exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    results: dict[str, Any] = json.loads((project / "target" / "run_results.json").read_text())
    node = results["results"][0]
    if node.get("status") != "success":
        raise RuntimeError(f"dbt snapshot node: status {node.get('status')}: {node.get('message')}")
    return float(node["execution_time"]), wall


def check_snapshot(stack: Stack, rows: int) -> None:
    with stack.source() as conn:
        got = conn.execute(f'SELECT count(*), sum(hashtext(id)) FROM {DBT_SCHEMA}."{SNAPSHOT}"').fetchone()
        want = conn.execute("SELECT count(*), sum(hashtext(id)) FROM customers").fetchone()
    if got != want or want is None or want[0] != rows:
        raise AssertionError(f"dbt snapshot: {got} differs from the source's {want} ({rows} rows expected)")


# --- the benchmark -----------------------------------------------------------------------------


def measure(rows: int | None = None, rounds: int | None = None) -> dict[str, float]:
    rows = rows or int(os.environ.get("DATASURFACE_BENCH_ROWS") or DEFAULT_ROWS)
    rounds = rounds or DEFAULT_ROUNDS
    dbt, why = dbt_executable()
    if dbt is None:
        print(
            f"dbt_snapshot: skipped, could not install {' '.join(DBT_PINS)} into {DBT_VENV} ({why});"
            " retry with access to PyPI: python -m benchmarks.dbt_snapshot",
            file=sys.stderr,
            flush=True,
        )
        return {}
    times: dict[str, list[float]] = {"dbt": [], "dbt_wall": [], "job": []}
    with pg_server() as admin_url, tempfile.TemporaryDirectory(prefix="ds_bench_dbt_") as tmp:
        model_dir = Path(tmp) / "model"
        shutil.copytree(SANDBOX_MODEL, model_dir, ignore=shutil.ignore_patterns("__pycache__"))
        project = Path(tmp) / "dbt_project"
        write_project(project)
        dbs = Databases(admin_url)
        try:
            progress(f"dbt vs first load: generating {rows:,} source customers ...")
            stack = make_stack(dbs, "dbt", model_dir, rows)
            for round_no in range(rounds):
                progress(f"--- dbt vs first-load round {round_no + 1} of {rounds} ---")
                if round_no:
                    drop_snapshot(stack)
                    reset_job_tables(stack, (LIVE,))
                order = ("dbt", "job") if round_no % 2 == 0 else ("job", "dbt")
                for who in order:
                    checkpoint(stack)
                    if who == "dbt":
                        node, wall = run_dbt_snapshot(dbt, project, stack)
                        check_snapshot(stack, rows)
                        times["dbt"].append(node)
                        times["dbt_wall"].append(wall)
                        progress(f"dbt first snapshot: node {node:.2f}s, process wall {wall:.2f}s")
                    else:
                        seconds, result = run_job_in_process(stack, LIVE)
                        if result.counts.inserted != rows:
                            raise AssertionError(f"job first load: inserted {result.counts.inserted}, expected {rows}")
                        times["job"].append(seconds)
                        progress(f"job first load, live: {seconds:.2f}s")
        finally:
            progress("dropping the dbt-vs-first-load databases")
            dbs.drop_all()
    best = {k: min(v) for k, v in times.items()}
    return {
        "dbt_first_snapshot_s": round(best["dbt"], 3),
        "dbt_first_snapshot_wall_s": round(best["dbt_wall"], 3),
        "first_load_job_live_vs_dbt_s": round(best["job"], 3),
        "ratio_initial_live_dbt": round(best["job"] / best["dbt"], 3),
    }


def main(argv: list[str]) -> int:
    rows = int(argv[0]) if argv else None
    for key, value in measure(rows).items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
