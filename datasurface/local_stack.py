"""The sandbox without Docker: an embedded Postgres, the example model, the simulator, the
jobs, and (for `make up-local`) Airflow standalone. Behind `make demo`, `make up-local`,
`make down-local`.

Everything lives under `.sandbox/` in the repository: the Postgres data folder, the local
model repository, the models folder, Airflow's home and a `pids.json` naming exactly the
processes `up` started, so that `down` stops those and nothing else.

    python -m datasurface.local_stack demo | up | down | status | env
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from datasurface import embedded_pg

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 55432
SOURCE_DB = "customer_db"
MERGE_DB = "datasurface_merge"
PLATFORMS = ("YellowLive", "YellowForensic")


@dataclass(frozen=True, slots=True)
class Paths:
    """`root` is the repository (the example model lives there); `state` holds what the stack
    creates (default `.sandbox/` in the repository; `DATASURFACE_LOCAL_STATE` moves it)."""

    root: Path
    state: Path

    @property
    def pg(self) -> Path:
        return self.state / "pg"

    @property
    def model_repo(self) -> Path:
        return self.state / "model-repo"

    @property
    def models(self) -> Path:
        return self.state / "models"

    @property
    def airflow_home(self) -> Path:
        return self.state / "airflow"

    @property
    def pids(self) -> Path:
        return self.state / "pids.json"

    @property
    def logs(self) -> Path:
        return self.state / "logs"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def local_env(port: int) -> dict[str, str]:
    """The settings the example model and its credentials read (see sandbox/.env.example)."""
    return {
        "DATASURFACE_SOURCE_HOST": "127.0.0.1",
        "DATASURFACE_SOURCE_PORT": str(port),
        "DATASURFACE_SOURCE_DB": SOURCE_DB,
        "DATASURFACE_MERGE_HOST": "127.0.0.1",
        "DATASURFACE_MERGE_PORT": str(port),
        "DATASURFACE_MERGE_DB": MERGE_DB,
        "DATASURFACE_LAUNCHER": "local",
        # The embedded server trusts local connections; the names are what the model uses.
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "",
        "CUSTOMER_DB_USER": "postgres",
        "CUSTOMER_DB_PASSWORD": "",
    }


def ensure_postgres(paths: Paths, port: int) -> str:
    """Start (or reuse) the embedded Postgres and create the two databases."""
    say(f"Postgres: embedded server in {paths.pg} on 127.0.0.1:{port}")
    url = embedded_pg.start(paths.pg, port)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            existing = set(conn.execute(text("SELECT datname FROM pg_database")).scalars())
            for name in (SOURCE_DB, MERGE_DB):
                if name not in existing:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return url


def datasurface(args: Sequence[str], env: dict[str, str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the `datasurface` command with this interpreter, output captured."""
    result = subprocess.run(
        [sys.executable, "-m", "datasurface.cli", *args], env=env, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"`datasurface {' '.join(args)}` failed ({result.returncode}):\n{result.stderr.strip()}")
    return result


def run_stream_to_done(model: Path, platform: str, stream: str, env: dict[str, str]) -> dict[str, Any]:
    """`job run` until DONE (exit 0); KEEP_WORKING (75) means run again at once."""
    for _ in range(1000):
        result = datasurface(
            ["job", "run", "--model", str(model), "--platform", platform, "--stream", stream, "--json"],
            env,
            check=False,
        )
        if result.returncode == 0:
            return dict(json.loads(result.stdout))
        if result.returncode != 75:
            raise RuntimeError(f"job {platform}/{stream} failed:\n{result.stderr.strip()}")
    raise RuntimeError(f"job {platform}/{stream} did not finish")


def run_all_streams(model: Path, env: dict[str, str]) -> None:
    """Every ingestion stream of every platform to DONE; then each DataTransformer, which
    reads the fresh views and refills its output store, which is then ingested in turn."""
    graph = json.loads(datasurface(["graph", str(model), "--json"], env).stdout)
    transformers = transformer_runs(model)
    outputs = {(t.platform, t.output_stream) for t in transformers}
    for stream in graph["streams"]:
        if (stream["platform"], stream["stream"]) in outputs:
            continue  # a transformer's output: ingested right after the transformer runs
        started = time.monotonic()
        outcome = run_stream_to_done(model, stream["platform"], stream["stream"], env)
        say(
            f"  {stream['platform']}/{stream['stream']}: batch {outcome['batch_id']} committed, "
            f"{outcome['inserted']} inserted, {outcome['updated']} updated, {outcome['deleted']} deleted "
            f"({time.monotonic() - started:.1f} s)"
        )
    for t in transformers:
        # The transformer reads its workspace's views: they must exist first.
        datasurface(["views", "reconcile", "--model", str(model), "--platform", t.platform, "--pending-ok"], env)
        started = time.monotonic()
        result = json.loads(
            datasurface(
                [
                    "transformer",
                    "run",
                    "--model",
                    str(model),
                    "--platform",
                    t.platform,
                    "--workspace",
                    t.workspace,
                    "--ingest",
                    "--json",
                ],
                env,
            ).stdout
        )
        rows = ", ".join(f"{k} {v} rows" for k, v in result["rows_written"].items())
        say(
            f"  {t.platform}/{t.workspace} transformer -> {t.output_store} ({rows}), "
            f"ingested as batch {result['ingestion']['batch_id']} ({time.monotonic() - started:.1f} s)"
        )


def transformer_runs(model: Path) -> list[Any]:
    """The transformers each Yellow platform runs (those whose output it ingests)."""
    from datasurface.model.loader import load_model
    from datasurface.platforms.yellow.platform import YellowDataPlatform
    from datasurface.platforms.yellow.transformer_config import build_transformer_configs

    loaded = load_model(model)
    return [
        config
        for platform in loaded.ecosystem.platforms
        if isinstance(platform, YellowDataPlatform)
        for config in build_transformer_configs(loaded.ecosystem, loaded.assignments, platform, str(model))
    ]


def simulate(env: dict[str, str], model: Path, *args: str) -> dict[str, Any]:
    result = datasurface(["simulate", "--model", str(model), "--quiet", "--json", *args], env)
    return dict(json.loads(result.stdout))


def views_summary(model: Path, env: dict[str, str], merge_url: str) -> list[str]:
    listing = json.loads(datasurface(["views", "list", "--model", str(model), "--json"], env).stdout)
    lines: list[str] = []
    engine = create_engine(merge_url)
    history_view = None
    try:
        with engine.connect() as conn:
            entries = _view_entries(listing)
            label_width = max((len(e["label"]) for e in entries), default=0)
            name_width = max((len(e["qualified"]) for e in entries), default=0)
            for entry in entries:
                count = conn.execute(text(f"SELECT count(*) FROM {entry['qualified']}")).scalar_one()  # noqa: S608
                lines.append(f"  {entry['label']:<{label_width}}  {entry['qualified']:<{name_width}}  {count:>6} rows")
                if entry["kind"] == "history" and entry["dataset"] == "customers":
                    history_view = entry["qualified"]
            if history_view:
                lines += _customer_history(conn, history_view)
    finally:
        engine.dispose()
    return lines


def _view_entries(listing: Any) -> list[dict[str, str]]:
    """Flatten `views list --json` into one entry per view (format owned by `views list`)."""
    entries: list[dict[str, str]] = []

    def walk(node: Any, context: dict[str, str]) -> None:
        if isinstance(node, dict):
            ctx = {**context, **{k: v for k, v in node.items() if isinstance(v, str)}}
            if "qualified" in node and "kind" in node:
                label = f"{ctx.get('platform', '')}/{ctx.get('workspace', '')}/{ctx.get('dsg', '')}/{ctx.get('dataset', '')}"
                entries.append({**ctx, "label": f"{label} ({node['kind']})"})
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value, ctx)
        elif isinstance(node, list):
            for item in node:
                walk(item, context)

    walk(listing, {})
    return entries


def _customer_history(conn: Any, view: str) -> list[str]:
    """The forensic history of the customer with the most versions."""
    busiest = conn.execute(
        text(f"SELECT id FROM {view} GROUP BY id ORDER BY count(*) DESC, id LIMIT 1")  # noqa: S608
    ).scalar()
    if busiest is None:
        return []
    rows = conn.execute(
        text(
            f"SELECT first_name, last_name, email, ds_surf_batch_in, ds_surf_batch_out, ds_surf_valid_from "  # noqa: S608
            f"FROM {view} WHERE id = :id ORDER BY ds_surf_batch_in"
        ),
        {"id": busiest},
    ).all()
    lines = ["", f"Forensic history of customer {busiest} ({view}):"]
    lines.append(f"  {'batches':<12} {'valid from (UTC)':<27} {'name':<28} email")
    for r in rows:
        out = "live" if r.ds_surf_batch_out == 2147483647 else str(r.ds_surf_batch_out)
        lines.append(
            f"  {f'{r.ds_surf_batch_in}..{out}':<12} {r.ds_surf_valid_from!s:<27} "
            f"{r.first_name + ' ' + r.last_name:<28} {r.email}"
        )
    return lines


def demo(paths: Paths, port: int, changes: int = 400) -> int:
    """The main job in one shot: Postgres, changes, both platforms' streams, views, summary."""
    started = time.monotonic()
    url = ensure_postgres(paths, port)
    env = {**os.environ, **local_env(port)}
    model = paths.root / "sandbox" / "model"
    say("Lint the example model")
    datasurface(["lint", str(model)], env)
    say(f"Simulator: create the customer tables and load 200 customers into {SOURCE_DB}")
    simulate(env, model, "--create-tables", "--initial-customers", "200", "--max-changes", "0", "--seed", "1")
    say("Batch 1: ingest and merge every stream of both platforms")
    run_all_streams(model, env)
    for batch in (2, 3):
        summary = simulate(env, model, "--rate", "0", "--max-changes", str(changes // 2), "--seed", str(batch))
        say(f"Simulator: {summary.get('total_changes', changes // 2)} changes at the source")
        say(f"Batch {batch}: ingest and merge the changes")
        run_all_streams(model, env)
    say("Reconcile the consumer views of both platforms")
    for platform in PLATFORMS:
        datasurface(["views", "reconcile", "--model", str(model), "--platform", platform], env)
    merge_url = make_url(url).set(database=MERGE_DB).render_as_string(hide_password=False)
    print("\nConsumer views:")
    for line in views_summary(model, env, merge_url):
        print(line)
    print(
        f"\nDone in {time.monotonic() - started:.0f} s. Postgres keeps running at "
        f"postgresql://postgres@127.0.0.1:{port}/{MERGE_DB} (psql, notebooks: `make lab`); "
        "`make down-local` stops it."
    )
    return 0


def _load_pids(paths: Paths) -> dict[str, int]:
    if not paths.pids.exists():
        return {}
    return {k: int(v) for k, v in json.loads(paths.pids.read_text()).items()}


def _save_pids(paths: Paths, pids: dict[str, int]) -> None:
    paths.pids.write_text(json.dumps(pids, indent=2))


def stop_process_group(pid: int, sig: int, timeout: float = 20) -> None:
    """Send `sig` to the process group `pid` leads and wait for its leader to exit."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def down(paths: Paths) -> int:
    pids = _load_pids(paths)
    for name, pid in pids.items():
        say(f"stop {name} (process group {pid})")
        # Airflow standalone shuts its components down cleanly on SIGINT (PLATFORM_NOTES).
        stop_process_group(pid, signal.SIGINT if name == "airflow" else signal.SIGTERM)
    if paths.pids.exists():
        paths.pids.unlink()
    if embedded_pg.is_running(paths.pg):
        say("stop Postgres")
        embedded_pg.stop(paths.pg)
    return 0


def status(paths: Paths, port: int) -> int:
    pg = "running" if embedded_pg.is_running(paths.pg) else "stopped"
    print(f"postgres: {pg} (127.0.0.1:{port}, data {paths.pg})")
    for name, pid in _load_pids(paths).items():
        try:
            os.kill(pid, 0)
            state = "running"
        except ProcessLookupError:
            state = "gone"
        print(f"{name}: {state} (pid {pid})")
    return 0


AIRFLOW_PORT_ENV = "DATASURFACE_AIRFLOW_PORT"
DEFAULT_AIRFLOW_PORT = 8080


def airflow_env(paths: Paths, pg_port: int, airflow_port: int) -> dict[str, str]:
    """Airflow standalone for the sandbox: LocalExecutor, the DAG factory, the local launcher."""
    home = paths.airflow_home
    return {
        **local_env(pg_port),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__API__PORT": str(airflow_port),
        # Tasks reach the API server here; it must follow the port (PLATFORM_NOTES).
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{airflow_port}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(airflow_port + 1),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(airflow_port + 2),
        # The DAG factory's contract (datasurface/platforms/yellow/airflow/settings.py).
        "DATASURFACE_PLATFORMS": ",".join(PLATFORMS),
        "DATASURFACE_MERGE_CREDENTIAL": "postgres",
        "DATASURFACE_MODEL_REPO": str(paths.model_repo),
        "DATASURFACE_MODEL_BRANCH": "main",
        "DATASURFACE_MODELS_DIR": str(paths.models),
        "DATASURFACE_INFRA_SCHEDULE": "*/5 * * * *",
    }


def _spawn(name: str, args: Sequence[str], env: dict[str, str], paths: Paths) -> int:
    """Start a background process in its own process group, output to .sandbox/logs/NAME.log."""
    paths.logs.mkdir(parents=True, exist_ok=True)
    log = (paths.logs / f"{name}.log").open("ab")
    process = subprocess.Popen(
        list(args), env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    return process.pid


def _wait_for_http(url: str, timeout: float, pid: int) -> bool:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    return False


def up(paths: Paths, port: int) -> int:
    """The sandbox without Docker: Postgres, the model repo, the merge handler, Airflow
    standalone with the DAG factory (local launcher) and the simulator."""
    from datasurface.platforms.yellow.airflow.install import install_shim
    from datasurface.platforms.yellow.bootstrap.seed_repo import sync_seed_repo
    from datasurface.platforms.yellow.merge_handler.handler import run_merge_handler

    if _load_pids(paths):
        say("the local stack is already up (`make down-local` first to restart it)")
        return status(paths, port)
    airflow_port = int(os.environ.get(AIRFLOW_PORT_ENV, DEFAULT_AIRFLOW_PORT))
    ensure_postgres(paths, port)
    env = {**os.environ, **airflow_env(paths, port, airflow_port)}
    # `airflow standalone` starts its components as `airflow ...` from PATH: use this venv's.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    model = paths.root / "sandbox" / "model"
    say("Simulator: create the customer tables and load 200 customers")
    simulate(env, model, "--create-tables", "--initial-customers", "200", "--max-changes", "0", "--seed", "1")
    say(f"Model repository: {paths.model_repo} (a git copy of sandbox/model)")
    commit = sync_seed_repo(model, paths.model_repo, "main")
    say(f"Merge handler: deploy commit {commit[:10]} into {paths.models}")
    result = run_merge_handler(str(paths.model_repo), "main", paths.models, env=env)
    say(f"  deployed {result.model_folder}")
    install_shim(paths.airflow_home / "dags")
    pids: dict[str, int] = {}
    say(f"Airflow standalone on http://localhost:{airflow_port} (first start takes about a minute)")
    airflow = Path(sys.executable).with_name("airflow")
    pids["airflow"] = _spawn("airflow", [str(airflow), "standalone"], env, paths)
    _save_pids(paths, pids)
    ready = _wait_for_http(f"http://localhost:{airflow_port}/api/v2/monitor/health", 240, pids["airflow"])
    if not ready:
        print(f"error: Airflow did not become ready; see {paths.logs / 'airflow.log'}", file=sys.stderr)
        down(paths)
        return 1
    say("Simulator: 2 changes per second in the background")
    pids["simulator"] = _spawn(
        "simulator",
        [sys.executable, "-m", "datasurface.cli", "simulate", "--model", str(model), "--rate", "2", "--quiet"],
        env,
        paths,
    )
    _save_pids(paths, pids)
    password_file = paths.airflow_home / "simple_auth_manager_passwords.json.generated"
    login = "admin / (see " + str(password_file) + ")"
    if password_file.exists():
        login = "   ".join(f"{user} / {password}" for user, password in json.loads(password_file.read_text()).items())
    print(
        f"\nAirflow:  http://localhost:{airflow_port}   login: {login}\n"
        f"Postgres: postgresql://postgres@127.0.0.1:{port}/{MERGE_DB} (source: {SOURCE_DB})\n"
        f"Logs:     {paths.logs}\n"
        "Stop everything with `make down-local`."
    )
    return 0


COMMANDS: dict[str, Callable[[Paths, int], int]] = {
    "demo": demo,
    "up": up,
    "down": lambda paths, port: down(paths),
    "status": status,
    "env": lambda paths, port: print("\n".join(f"export {k}='{v}'" for k, v in local_env(port).items())) or 0,
}


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(f"usage: python -m datasurface.local_stack {{{'|'.join(COMMANDS)}}}", file=sys.stderr)
        return 2
    port = int(os.environ.get("DATASURFACE_LOCAL_PG_PORT", DEFAULT_PORT))
    paths = Paths(REPO_ROOT, Path(os.environ.get("DATASURFACE_LOCAL_STATE", REPO_ROOT / ".sandbox")).resolve())
    paths.state.mkdir(parents=True, exist_ok=True)
    try:
        return COMMANDS[argv[0]](paths, port)
    except (RuntimeError, embedded_pg.EmbeddedPgError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
