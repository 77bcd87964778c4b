"""Airflow's part of `make up-local` (see `local_stack` for the whole stack and why its
components are started one by one on 127.0.0.1 instead of `airflow standalone`).

`up` runs the steps in order, each under `local_stack.step` so that a failure names the step
and the cause: ports, Postgres, the simulator's tables, the model repository, the merge
handler (a subprocess with the stack's settings; it must write DAG config rows), Airflow's
database, the components, then "ready" only once the API lists every DAG the config rows
define, then the background simulator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from datasurface.local_stack import (
    AIRFLOW_PORT_ENV,
    DEFAULT_AIRFLOW_PORT,
    MERGE_DB,
    PG_PORT_ENV,
    PLATFORMS,
    SOURCE_DB,
    LocalStackError,
    Paths,
    _alive,
    _env_port,
    _last_lines,
    _load_pids,
    _save_pids,
    check_ports,
    datasurface,
    down,
    ensure_postgres,
    local_env,
    log_tail,
    say,
    simulate,
    spawn,
    status,
    step,
)

#: The Airflow components `up` starts, each in its own process group.
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor")
#: How long `up` waits for the API server, then for every stream DAG to be listed.
AIRFLOW_READY_TIMEOUT_S = 240.0
DAGS_VISIBLE_TIMEOUT_S = 120.0


def airflow_env(paths: Paths, pg_port: int, airflow_port: int) -> dict[str, str]:
    """Airflow for the sandbox: LocalExecutor, the DAG factory, the local launcher, 127.0.0.1."""
    home = paths.airflow_home
    return {
        **local_env(pg_port),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        # Airflow stops a DAG-file parse after 30 s; on a loaded two-core laptop one parse of
        # the factory's file took longer, every DAG went stale and tasks failed with "Dag not
        # found". A local stack waits instead (the parse's own speed is the DAG factory's job).
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": "180",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(airflow_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{airflow_port}",
        # Tasks reach the API server here; it must follow the port.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{airflow_port}/execution/",
        # The DAG factory's contract (datasurface/platforms/yellow/airflow/settings.py).
        "DATASURFACE_PLATFORMS": ",".join(PLATFORMS),
        "DATASURFACE_MERGE_CREDENTIAL": "postgres",
        "DATASURFACE_MODEL_REPO": str(paths.model_repo),
        "DATASURFACE_MODEL_BRANCH": "main",
        "DATASURFACE_MODELS_DIR": str(paths.models),
        "DATASURFACE_INFRA_SCHEDULE": "*/5 * * * *",
    }


def airflow_commands(airflow: Path, airflow_port: int) -> dict[str, list[str]]:
    """The components `up` starts (see the module docstring for why not `standalone`)."""
    return {
        "api-server": [str(airflow), "api-server", "--host", "127.0.0.1", "--port", str(airflow_port)],
        "scheduler": [str(airflow), "scheduler", "--skip-serve-logs"],
        "dag-processor": [str(airflow), "dag-processor"],
    }


def _dead_component(pids: dict[str, int]) -> str | None:
    for name, pid in pids.items():
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = 0 if _alive(pid) else pid
        if finished:
            return name
    return None


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_until(what: str, ready: Callable[[], bool], timeout: float, pids: dict[str, int], paths: Paths) -> None:
    """Poll `ready` once a second; stop at once, naming the component, if one of `pids` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = _dead_component(pids)
        if dead is not None:
            raise LocalStackError(
                f"Airflow's {dead} exited while waiting for {what}: {log_tail(paths, dead)} "
                f"(whole log: {paths.logs / (dead + '.log')})"
            )
        try:
            done = ready()
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            done = False  # not serving yet, or mid-restart: ask again
        if done:
            return
        time.sleep(1)
    raise LocalStackError(f"{what} not ready after {timeout:.0f} s; see the logs in {paths.logs}")


def admin_password(paths: Paths) -> str | None:
    """The `admin` password the simple auth manager generated on first start."""
    password_file = paths.airflow_home / "simple_auth_manager_passwords.json.generated"
    try:
        passwords = json.loads(password_file.read_text())
    except (OSError, ValueError):
        return None
    value = passwords.get("admin")
    return str(value) if value else None


def airflow_token(base_url: str, password: str) -> str:
    request = urllib.request.Request(
        f"{base_url}/auth/token",
        data=json.dumps({"username": "admin", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(json.loads(response.read())["access_token"])


def airflow_dag_ids(base_url: str, token: str) -> set[str]:
    """Every DAG the API server lists (serialized by the dag-processor)."""
    request = urllib.request.Request(f"{base_url}/api/v2/dags?limit=1000", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return {str(d["dag_id"]) for d in json.loads(response.read())["dags"]}


def expected_stream_dag_ids(merge_url: str) -> set[str]:
    """The stream and transformer DAGs the factory builds from the config rows the merge
    handler wrote (no Airflow import: under load importing Airflow alone took a minute)."""
    from sqlalchemy import create_engine

    from datasurface.platforms.yellow.stream_config import dag_id_for_row, read_config_rows

    engine = create_engine(merge_url)
    try:
        with engine.connect() as conn:
            return {dag_id_for_row(p, key) for p in PLATFORMS for key, _ in read_config_rows(conn, p)}
    finally:
        engine.dispose()


def expected_dag_ids(merge_url: str) -> set[str]:
    """Every DAG the factory builds: the stream and transformer DAGs and the infrastructure DAG."""
    from datasurface.platforms.yellow.airflow.infra_dag import INFRA_DAG_ID

    return expected_stream_dag_ids(merge_url) | {INFRA_DAG_ID}


def deploy_model(paths: Paths, env: dict[str, str], merge_url: str) -> set[str]:
    """The merge handler as a subprocess with the stack's settings; fails unless it wrote the
    DAG config rows. Returns the DAG ids the factory will build from them."""
    result = datasurface(
        ["merge-handler", "--repo", str(paths.model_repo), "--branch", "main", "--models-dir", str(paths.models)],
        env,
        check=False,
    )
    if result.returncode != 0:
        raise LocalStackError(f"the merge handler exited {result.returncode}: {_last_lines(result.stderr, 4)}")
    for line in result.stdout.strip().splitlines():
        say(f"  {line}")
    if not expected_stream_dag_ids(merge_url):
        raise LocalStackError(
            f"the merge handler wrote no DAG config rows into {MERGE_DB}: {_last_lines(result.stderr, 4)}"
        )
    return expected_dag_ids(merge_url)


def up(paths: Paths, port: int) -> int:
    """The sandbox without Docker: Postgres, the model repo, the merge handler, Airflow with
    the DAG factory (local launcher) and the simulator. See the module docstring."""
    from sqlalchemy.engine import make_url

    from datasurface import embedded_pg
    from datasurface.platforms.yellow.airflow.install import install_shim
    from datasurface.platforms.yellow.bootstrap.seed_repo import sync_seed_repo

    if _load_pids(paths):
        say("the local stack is already up (`make down-local` first to restart it)")
        return status(paths, port)
    airflow_port = _env_port(AIRFLOW_PORT_ENV, DEFAULT_AIRFLOW_PORT)
    with step("check ports"):
        ports = [("Airflow UI and API", airflow_port, AIRFLOW_PORT_ENV)]
        if embedded_pg.running_port(paths.pg) != port:
            ports.insert(0, ("Postgres", port, PG_PORT_ENV))
        check_ports(ports)
        say(f"Ports: Postgres 127.0.0.1:{port}, Airflow 127.0.0.1:{airflow_port} (both free)")
    with step("Postgres"):
        url = ensure_postgres(paths, port)
    merge_url = make_url(url).set(database=MERGE_DB).render_as_string(hide_password=False)
    env = {**os.environ, **airflow_env(paths, port, airflow_port)}
    # Airflow's components are started as `airflow ...`: use this venv's.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    model = paths.model
    with step("simulator"):
        say("Simulator: create the customer tables and load 200 customers")
        simulate(env, model, "--create-tables", "--initial-customers", "200", "--max-changes", "0", "--seed", "1")
    with step("model repository"):
        say(f"Model repository: {paths.model_repo} (a git copy of sandbox/model)")
        commit = sync_seed_repo(model, paths.model_repo, "main")
    with step("merge handler"):
        say(f"Merge handler: deploy commit {commit[:10]} into {paths.models}")
        dag_ids = deploy_model(paths, env, merge_url)
    airflow = Path(sys.executable).with_name("airflow")
    with step("Airflow database"):
        say(f"Airflow: database in {paths.airflow_home}")
        migrate = subprocess.run([str(airflow), "db", "migrate"], env=env, capture_output=True, text=True, check=False)
        if migrate.returncode != 0:
            raise LocalStackError(f"`airflow db migrate` exited {migrate.returncode}: {_last_lines(migrate.stderr, 4)}")
        install_shim(paths.airflow_home / "dags")
    with step("Airflow pools"):
        # A task in a missing pool is never scheduled: pack DAGs need their pool (one per merge
        # database, sized by the platform's max_active_packs) before the scheduler starts.
        pools = subprocess.run(
            [sys.executable, "-m", "datasurface.platforms.yellow.airflow.pools"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if pools.returncode != 0:
            raise LocalStackError(f"creating the pack pools exited {pools.returncode}: {_last_lines(pools.stderr, 4)}")
        for line in pools.stdout.strip().splitlines():
            say(f"  {line}")
    pids: dict[str, int] = {}
    try:
        with step("Airflow"):
            say(f"Airflow on http://127.0.0.1:{airflow_port}: {', '.join(AIRFLOW_COMPONENTS)} (about a minute)")
            for name, command in airflow_commands(airflow, airflow_port).items():
                pids[name] = spawn(name, command, env, paths)
                _save_pids(paths, pids)
            base_url = f"http://127.0.0.1:{airflow_port}"
            wait_until(
                "the API server",
                lambda: _http_ok(f"{base_url}/api/v2/monitor/health"),
                AIRFLOW_READY_TIMEOUT_S,
                pids,
                paths,
            )
        with step("stream DAGs"):
            password = admin_password(paths)
            if password is None:
                raise LocalStackError(f"no admin password in {paths.airflow_home}")
            token = airflow_token(base_url, password)
            wait_until(
                f"all {len(dag_ids)} DAGs in the UI",
                lambda: dag_ids <= airflow_dag_ids(base_url, token),
                DAGS_VISIBLE_TIMEOUT_S,
                pids,
                paths,
            )
            say(f"Airflow lists all {len(dag_ids)} DAGs: {', '.join(sorted(dag_ids))}")
        with step("background simulator"):
            say("Simulator: 2 changes per second in the background")
            pids["simulator"] = spawn(
                "simulator",
                [sys.executable, "-m", "datasurface.cli", "simulate", "--model", str(model), "--rate", "2", "--quiet"],
                env,
                paths,
            )
            _save_pids(paths, pids)
    except LocalStackError:
        down(paths)
        raise
    print(
        f"\nReady. Airflow:  http://127.0.0.1:{airflow_port}   login: admin / {password}\n"
        f"Postgres: postgresql://postgres@127.0.0.1:{port}/{MERGE_DB} (source: {SOURCE_DB})\n"
        f"Logs:     {paths.logs}\n"
        "Memory:   `make status-local`.  Stop everything with `make down-local`."
    )
    return 0
