"""`make up-local` / `make down-local`: the sandbox without Docker, with real Airflow.

Up must check its ports before starting anything, bring Postgres, the merge handler's
deployment (config rows written, so every stream DAG is listed once up says ready), Airflow
with the DAG factory listening on 127.0.0.1 only, and the simulator; the stream DAGs must
commit batches through the local launcher; down must stop exactly the processes up started
and nothing else.
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text

from datasurface import embedded_pg
from datasurface.local_airflow import AIRFLOW_COMPONENTS
from datasurface.platforms.yellow.naming import batch_metrics_table

REPO = Path(__file__).resolve().parents[2]


def _stack(state: Path, pg_port: int, airflow_port: int, command: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATASURFACE_LOCAL_STATE": str(state),
        "DATASURFACE_LOCAL_PG_PORT": str(pg_port),
        "DATASURFACE_AIRFLOW_PORT": str(airflow_port),
    }
    return subprocess.run(
        [sys.executable, "-m", "datasurface.local_stack", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # a hang guard only: up's own steps time out sooner (API 240 s, DAGs 120 s)
        check=False,
        cwd=REPO,
    )


@pytest.fixture
def state_dir(embedded_pg_tmp_dir: Path) -> Iterator[Path]:
    yield embedded_pg_tmp_dir / "stack"


def test_up_runs_the_pipeline_in_airflow_and_down_stops_exactly_it(state_dir: Path) -> None:
    pg_port, airflow_port = embedded_pg.free_port(), embedded_pg.free_port()
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    group_members: list[psutil.Process] = []
    try:
        up = _stack(state_dir, pg_port, airflow_port, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"Ready. Airflow:  http://127.0.0.1:{airflow_port}   login: admin / " in up.stdout
        # Every stream DAG (two platforms, the transformer and its output) plus the infrastructure DAG.
        assert "Airflow lists all 5 DAGs" in up.stdout, up.stdout
        pids = json.loads((state_dir / "pids.json").read_text())
        assert set(pids) == {*AIRFLOW_COMPONENTS, "simulator"}
        group_members = [p for p in psutil.process_iter() if _pgid(p.pid) in pids.values()]
        listening = {
            (c.laddr.ip, c.laddr.port)
            for c in psutil.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.pid and _pgid(c.pid) in pids.values()
        }
        # The UI on 127.0.0.1 only, and no log servers on the next ports (nor anywhere).
        assert listening == {("127.0.0.1", airflow_port)}
        status = _stack(state_dir, pg_port, airflow_port, "status")
        memory = re.search(r"^memory: (\d+\.\d+) GiB PSS in all", status.stdout, flags=re.MULTILINE)
        assert memory and 0.1 < float(memory.group(1)) < 4, status.stdout

        # The stream DAGs (cron every minute, local launcher) commit batches on both platforms.
        engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{pg_port}/datasurface_merge")
        deadline, committed = time.monotonic() + 240, dict[str, int]()
        while time.monotonic() < deadline and len(committed) < 2:
            with engine.connect() as conn:
                for platform in ("YellowLive", "YellowForensic"):
                    try:
                        state = conn.execute(
                            text(f"SELECT max(batch_id) FROM {batch_metrics_table(platform)} WHERE state = 'COMMITTED'")
                        ).scalar()
                    except Exception:  # the table appears with the first job
                        conn.rollback()
                        state = None
                    if state:
                        committed[platform] = state
            time.sleep(3)
        engine.dispose()
        assert set(committed) == {"YellowLive", "YellowForensic"}, (state_dir / "logs" / "airflow.log").read_text()[
            -3000:
        ]
    finally:
        down = _stack(state_dir, pg_port, airflow_port, "down")
    assert down.returncode == 0, down.stderr
    time.sleep(1)
    survivors = [
        p.pid
        for p in group_members
        if psutil.pid_exists(p.pid) and psutil.Process(p.pid).status() != psutil.STATUS_ZOMBIE
    ]
    assert survivors == []
    assert not embedded_pg.is_running(state_dir / "pg")
    assert bystander.poll() is None, "down must not touch processes it did not start"
    bystander.kill()
    bystander.wait()


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def test_up_refuses_a_taken_port_before_starting_anything(state_dir: Path) -> None:
    pg_port = embedded_pg.free_port()
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("0.0.0.0", 0))  # the way a stray server on every interface holds it
    holder.listen()
    airflow_port = holder.getsockname()[1]
    try:
        up = _stack(state_dir, pg_port, airflow_port, "up")
    finally:
        holder.close()
    assert up.returncode == 1
    lines = up.stderr.strip().splitlines()
    assert len(lines) == 1, up.stderr
    assert f"port {airflow_port} (Airflow UI and API) is in use by " in lines[0]
    assert f"pid {os.getpid()}" in lines[0]
    assert "DATASURFACE_AIRFLOW_PORT=<port>" in lines[0]
    assert not (state_dir / "pids.json").exists()
    assert not embedded_pg.is_running(state_dir / "pg")


def test_env_and_a_missing_virtualenv_give_one_line(tmp_path: Path) -> None:
    """`env` needs no third-party module; anything else names the fix in one line when the
    interpreter lacks the project's dependencies (a plain python3 before `make demo`)."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / "bin" / "python"
    env = {"PATH": os.environ["PATH"], "DATASURFACE_LOCAL_STATE": str(tmp_path / "state")}
    run = functools.partial(subprocess.run, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    printed = run([str(python), "-m", "datasurface.local_stack", "env"])
    assert printed.returncode == 0, printed.stderr
    assert "export DATASURFACE_MERGE_PORT='55432'" in printed.stdout
    for command in (["-m", "datasurface.local_stack", "status"], ["howto/sql.py", "SELECT 1"]):
        result = run([str(python), *command])
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1, result.stderr
        assert "make demo" in result.stderr and "Traceback" not in result.stderr


def test_the_merge_handler_step_gets_the_stacks_settings_or_fails_naming_the_cause(
    tmp_path: Path, pg_database_factory: Callable[[], str]
) -> None:
    """The issue's silent failure: the handler loaded eco.py without the stack's settings and
    wrote no config rows, yet `up` printed "deployed". Now the step passes them, and without
    them it stops with the step's cause instead of carrying on."""
    from sqlalchemy.engine import make_url

    from datasurface import local_airflow, local_stack
    from datasurface.platforms.yellow.bootstrap.seed_repo import sync_seed_repo

    merge = make_url(pg_database_factory())
    paths = local_stack.Paths(REPO, tmp_path / "state")
    sync_seed_repo(paths.model, paths.model_repo, "main")
    settings = {
        **local_stack.local_env(merge.port or 5432),
        "DATASURFACE_MERGE_DB": merge.database or "",
        "POSTGRES_USER": merge.username or "postgres",
        "POSTGRES_PASSWORD": merge.password or "",
    }
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("DATASURFACE_", "POSTGRES_", "CUSTOMER_DB_"))}
    # Without the settings the model's defaults (the kind cluster's host `postgres`) apply.
    with pytest.raises(local_stack.LocalStackError) as caught:
        local_airflow.deploy_model(paths, bare, merge.render_as_string(hide_password=False))
    message = str(caught.value)
    assert message.startswith("the merge handler exited 1: ") and "\n" not in message
    assert "Credential 'postgres': environment variable POSTGRES_USER is not set" in message  # the cause

    dag_ids = local_airflow.deploy_model(paths, {**bare, **settings}, merge.render_as_string(hide_password=False))
    assert dag_ids == {
        "datasurface__YellowLive__pack__pack0000",
        "datasurface__YellowLive__MaskedCustomers",
        "datasurface__YellowLive__transformer__Consumer1",
        "datasurface__YellowForensic__pack__pack0000",
        "datasurface__infrastructure",
    }


def test_demo_refuses_a_postgres_port_held_by_another_program(state_dir: Path) -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    pg_port = holder.getsockname()[1]
    try:
        demo = _stack(state_dir, pg_port, embedded_pg.free_port(), "demo")
    finally:
        holder.close()
    assert demo.returncode == 1
    assert demo.stderr.count("\n") == 1, demo.stderr
    assert f"port {pg_port} (Postgres) is in use by " in demo.stderr
    assert "DATASURFACE_LOCAL_PG_PORT=<port>" in demo.stderr
    assert not (state_dir / "pg").exists()
