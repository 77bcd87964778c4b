"""Measure the memory of each Airflow component as the kind sandbox runs them, to size the
pods' requests and limits (datasurface/platforms/yellow/bootstrap/sizing.py).

Runs the four Airflow 3 components as separate processes (one per pod in the sandbox), with
the LocalExecutor and the metadata database on a real PostgreSQL, then triggers a DAG of
TASKS parallel tasks. Each task imports the KubernetesPodOperator module (what a stream task
holds while it watches its job pod) and sleeps. Every two seconds it sums the PSS of each
component's process tree (the scheduler's tree includes the LocalExecutor workers and the
task processes) and prints the peaks, idle and busy, as name=value lines. It also measures
one `airflow jobs check` run: the exec liveness/readiness probe of the dag-processor and
triggerer.

    .venv/bin/python sandbox/scripts/measure_airflow_memory.py \
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres --tasks 6 --parallelism 8

Linux only (PSS from /proc/<pid>/smaps_rollup via psutil).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
PORT = 28080

DAG = """
import time
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator


def hold(seconds: int) -> None:
    # What a stream task holds while it watches its job pod: the pod operator and the
    # Kubernetes client, imported.
    import airflow.providers.cncf.kubernetes.operators.pod  # noqa: F401
    import kubernetes.client  # noqa: F401
    time.sleep(seconds)


with DAG("measure_parallel", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    for i in range({tasks}):
        PythonOperator(task_id=f"t{{i}}", python_callable=hold, op_args=[{sleep}])
"""


def tree_pss(proc: psutil.Process) -> tuple[int, int]:
    total, count = 0, 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_full_info().pss
            count += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total, count


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg-url", default=os.environ.get("DATASURFACE_TEST_PG_URL"), required=False)
    ap.add_argument("--tasks", type=int, default=6)
    ap.add_argument("--parallelism", type=int, default=8)
    ap.add_argument("--sleep", type=int, default=75)
    args = ap.parse_args()
    if not args.pg_url:
        print("give --pg-url (a PostgreSQL server URL)", file=sys.stderr)
        return 2
    server = make_url(args.pg_url)
    db = f"af_measure_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    home = Path(tempfile.mkdtemp(prefix="af_measure_"))
    (home / "dags").mkdir()
    (home / "dags" / "measure.py").write_text(DAG.format(tasks=args.tasks, sleep=args.sleep))
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": server.set(database=db).render_as_string(hide_password=False),
        # psycopg 3 serves the async engine too (the Airflow image uses asyncpg for it).
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": server.set(database=db).render_as_string(hide_password=False),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__API__PORT": str(PORT),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{PORT}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(PORT + 1),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(PORT + 2),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(PORT + 3),
        "AIRFLOW__API_AUTH__JWT_SECRET": "m" * 64,
        "AIRFLOW__API__SECRET_KEY": "k" * 32,
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    ok = False
    try:
        subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True)
        for name in COMPONENTS:
            log = open(home / f"{name}.log", "wb")  # closed when the process exits
            procs[name] = subprocess.Popen(["airflow", name], env=env, stdout=log, stderr=subprocess.STDOUT)
        engine = create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(text("SELECT 1 FROM dag WHERE dag_id = 'measure_parallel'")).first():
                    break
            time.sleep(2)
        else:
            print("the DAG was not parsed within 900 s; see the logs in", home, file=sys.stderr)
            return 1
        time.sleep(20)  # settle: every component past its start-up work
        idle = {n: tree_pss(psutil.Process(p.pid)) for n, p in procs.items()}
        subprocess.run(["airflow", "dags", "trigger", "measure_parallel"], env=env, check=True, capture_output=True)
        peak = {n: (0, 0) for n in COMPONENTS}
        running_peak = 0
        end = time.monotonic() + args.sleep + 30
        while time.monotonic() < end:
            for n, p in procs.items():
                pss, count = tree_pss(psutil.Process(p.pid))
                if pss > peak[n][0]:
                    peak[n] = (pss, count)
            with engine.connect() as conn:
                running = conn.execute(
                    text("SELECT count(*) FROM task_instance WHERE dag_id='measure_parallel' AND state='running'")
                ).scalar_one()
            running_peak = max(running_peak, int(running))
            time.sleep(2)
        with engine.connect() as conn:
            states = conn.execute(
                text(
                    "SELECT coalesce(state, 'none'), count(*) FROM task_instance"
                    " WHERE dag_id='measure_parallel' GROUP BY 1 ORDER BY 1"
                )
            ).all()
        # One exec probe: `airflow jobs check` as the dag-processor/triggerer probes run it.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        check = subprocess.Popen(
            ["airflow", "jobs", "check", "--job-type", "TriggererJob", "--local"],
            env={**env, "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        check_peak = 0
        while check.poll() is None:
            try:
                check_peak = max(check_peak, tree_pss(psutil.Process(check.pid))[0])
            except psutil.NoSuchProcess:
                break
            time.sleep(0.1)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        mib = 1024 * 1024
        print(f"tasks={args.tasks}")
        print(f"parallelism={args.parallelism}")
        print(f"tasks_running_peak={running_peak}")
        for state, count in states:
            print(f"tasks_final_{state}={count}")
        for n in COMPONENTS:
            print(f"{n}_idle_pss_mib={idle[n][0] / mib:.0f}")
            print(f"{n}_busy_peak_pss_mib={peak[n][0] / mib:.0f}")
            print(f"{n}_busy_peak_processes={peak[n][1]}")
        print(f"jobs_check_exit={check.returncode}")
        print(f"jobs_check_wall_s={wall:.1f}")
        print(f"jobs_check_cpu_s={cpu:.1f}")
        print(f"jobs_check_peak_pss_mib={check_peak / mib:.0f}")
        ok = True
        return 0
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        if ok:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
