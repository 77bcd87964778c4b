"""The sandbox without Docker: an embedded Postgres, the example model, the simulator, the
jobs, and (for `make up-local`) Airflow. Behind `make demo`, `make up-local`,
`make down-local`, `make status-local`.

Everything lives under `.sandbox/` in the repository: the Postgres data folder, the local
model repository, the models folder, Airflow's home and a `pids.json` naming exactly the
process groups `up` started, so that `down` stops those and nothing else.

Why `up` starts Airflow's components itself instead of `airflow standalone`: standalone binds
the UI on 0.0.0.0 and starts two log servers on every interface (the UI port +1 and +2, not
configurable), which a laptop on a shared network should not expose. Here the API server
listens on 127.0.0.1 only, and the scheduler runs with `--skip-serve-logs`: on one machine
the API server reads the task log files directly, so the stack takes exactly two ports, the
Postgres port and the Airflow port, both checked before anything starts. No triggerer: no
DataSurface task defers.

Every step gets the same environment (`local_env`, which the example model's `eco.py` reads),
including the merge handler, which runs as a subprocess with it: loaded in-process it would
read this process's environment instead and write no DAG config rows. A step that fails stops
`up` at once with the step's name and the cause.

This module imports only the standard library at the top, so `env` and the one-line hint for
a missing virtualenv work from any Python. Airflow's part of `up` is `local_airflow.py`.

    python -m datasurface.local_stack demo | up | down | status | env
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasurface.errors import DataSurfaceError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 55432
PG_PORT_ENV = "DATASURFACE_LOCAL_PG_PORT"
AIRFLOW_PORT_ENV = "DATASURFACE_AIRFLOW_PORT"
DEFAULT_AIRFLOW_PORT = 8080
SOURCE_DB = "customer_db"
MERGE_DB = "datasurface_merge"
PLATFORMS = ("YellowLive", "YellowForensic")
#: batch_out of a version that is still live (the engine's sentinel); shown as "live".
LIVE_BATCH_OUT = 2147483647

VENV_HINT = "run `make demo` (or `make venv`) first, then `source .venv/bin/activate`"


class LocalStackError(DataSurfaceError):
    """A step of the local stack failed; the message names the step, the cause and the fix."""


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

    @property
    def model(self) -> Path:
        return self.root / "sandbox" / "model"


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


def batch_label(batch_out: int) -> str:
    """A version's last batch as a person reads it: "live" instead of the sentinel."""
    return "live" if batch_out == LIVE_BATCH_OUT else str(batch_out)


@contextmanager
def step(name: str) -> Iterator[None]:
    """Run one step of `up`/`demo`: any failure becomes one `LocalStackError` naming the step."""
    try:
        yield
    except LocalStackError as exc:
        raise LocalStackError(f"step '{name}' failed: {exc}") from None
    except DataSurfaceError as exc:
        raise LocalStackError(f"step '{name}' failed: {exc}") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise LocalStackError(f"step '{name}' failed: {exc}") from None


# -- ports ---------------------------------------------------------------------------------


def port_is_free(port: int) -> bool:
    """True when nothing listens on `port` (on 127.0.0.1 or on every interface). SO_REUSEADDR
    as the servers use it, so a socket in TIME_WAIT from an earlier run does not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_holder(port: int) -> str:
    """Which process listens on `port` (see `embedded_pg.port_holder`)."""
    from datasurface import embedded_pg

    return embedded_pg.port_holder(port)


def check_ports(ports: Sequence[tuple[str, int, str]]) -> None:
    """Each (what, port, variable that moves it) must be free; one line per taken port."""
    taken = [
        f"port {port} ({what}) is in use by {port_holder(port)}: stop it, or choose another port with "
        f"`export {variable}=<port>`"
        for what, port, variable in ports
        if not port_is_free(port)
    ]
    if taken:
        raise LocalStackError("; ".join(taken))


def _env_port(variable: str, default: int) -> int:
    raw = os.environ.get(variable, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise LocalStackError(f"{variable}={raw!r} is not a port number; set it to e.g. {default}") from None
    if not 1 <= port <= 65535:
        raise LocalStackError(f"{variable}={port} is not a TCP port (1-65535); set it to e.g. {default}")
    return port


# -- steps shared by demo and up -------------------------------------------------------------


def ensure_postgres(paths: Paths, port: int) -> str:
    """Start (or reuse) the embedded Postgres and create the two databases; return its URL."""
    from sqlalchemy import create_engine, text

    from datasurface import embedded_pg

    say(f"Postgres: embedded server in {paths.pg} on 127.0.0.1:{port}")
    url = embedded_pg.start(paths.pg, port, port_variable=PG_PORT_ENV)
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
    """Run the `datasurface` command with this interpreter and `env`, output captured."""
    result = subprocess.run(
        [sys.executable, "-m", "datasurface.cli", *args], env=env, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise LocalStackError(
            f"`datasurface {' '.join(args)}` exited {result.returncode}: {_last_lines(result.stderr, 5)}"
        )
    return result


def _last_lines(text: str, n: int) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-n:]) if lines else "(no output)"


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
            raise LocalStackError(f"job {platform}/{stream} failed: {_last_lines(result.stderr, 5)}")
    raise LocalStackError(f"job {platform}/{stream} did not finish after 1000 runs")


def run_all_streams(model: Path, env: dict[str, str]) -> None:
    """Every ingestion stream of every platform to DONE; then each DataTransformer, which
    reads the fresh views and refills its output store, which is then ingested in turn.
    Prints the batch id each stream committed, as the engine reports it."""
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
        args = ["transformer", "run", "--model", str(model), "--platform", t.platform, "--workspace", t.workspace]
        result = json.loads(datasurface([*args, "--ingest", "--json"], env).stdout)
        rows = ", ".join(f"{k} {v} rows" for k, v in result["rows_written"].items())
        say(
            f"  {t.platform}/{t.workspace} transformer -> {t.output_store} ({rows}), "
            f"ingested as batch {result['ingestion']['batch_id']} ({time.monotonic() - started:.1f} s)"
        )


def transformer_runs(model: Path) -> list[Any]:
    """The transformers each Yellow platform runs (those whose output it ingests). The model
    is loaded in this process: `main` put the stack's settings into `os.environ` first."""
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
    from sqlalchemy import create_engine, text

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
    from sqlalchemy import text

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
        lines.append(
            f"  {f'{r.ds_surf_batch_in}..{batch_label(r.ds_surf_batch_out)}':<12} {r.ds_surf_valid_from!s:<27} "
            f"{r.first_name + ' ' + r.last_name:<28} {r.email}"
        )
    return lines


def demo(paths: Paths, port: int, changes: int = 400) -> int:
    """The main job in one shot: Postgres, changes, both platforms' streams, views, summary."""
    from sqlalchemy.engine import make_url

    from datasurface import embedded_pg

    started = time.monotonic()
    if embedded_pg.running_port(paths.pg) != port:
        with step("check ports"):
            check_ports([("Postgres", port, PG_PORT_ENV)])
    with step("Postgres"):
        url = ensure_postgres(paths, port)
    env = {**os.environ, **local_env(port)}
    model = paths.model
    with step("lint"):
        say("Lint the example model")
        datasurface(["lint", str(model)], env)
    with step("simulator"):
        say(f"Simulator: create the customer tables and load 200 customers into {SOURCE_DB}")
        simulate(env, model, "--create-tables", "--initial-customers", "200", "--max-changes", "0", "--seed", "1")
    rounds = 3
    for round_no in range(1, rounds + 1):
        with step(f"round {round_no} of {rounds}"):
            if round_no > 1:
                summary = simulate(
                    env, model, "--rate", "0", "--max-changes", str(changes // 2), "--seed", str(round_no)
                )
                say(f"Simulator: {summary.get('total_changes', changes // 2)} changes at the source")
            say(f"Round {round_no} of {rounds}: ingest and merge every stream of both platforms (one batch each)")
            run_all_streams(model, env)
    with step("views"):
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


# -- process groups ----------------------------------------------------------------------------


def _load_pids(paths: Paths) -> dict[str, int]:
    if not paths.pids.exists():
        return {}
    return {k: int(v) for k, v in json.loads(paths.pids.read_text()).items()}


def _save_pids(paths: Paths, pids: dict[str, int]) -> None:
    paths.pids.write_text(json.dumps(pids, indent=2))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process_group(pid: int, sig: int, timeout: float = 20) -> None:
    """Send `sig` to the process group `pid` leads and wait for its leader to exit."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def spawn(name: str, args: Sequence[str], env: dict[str, str], paths: Paths) -> int:
    """Start a background process in its own process group, output to .sandbox/logs/NAME.log."""
    paths.logs.mkdir(parents=True, exist_ok=True)
    with (paths.logs / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            list(args), env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    return process.pid


def log_tail(paths: Paths, name: str, lines: int = 3) -> str:
    try:
        text = (paths.logs / f"{name}.log").read_text(errors="replace")
    except OSError:
        return "(no log)"
    return _last_lines(text, lines)


def down(paths: Paths) -> int:
    from datasurface import embedded_pg

    pids = _load_pids(paths)
    # The simulator first, the API server last: nothing is left writing to a stopped service.
    for name, pid in reversed(list(pids.items())):
        say(f"stop {name} (process group {pid})")
        stop_process_group(pid, signal.SIGTERM)
    if paths.pids.exists():
        paths.pids.unlink()
    if embedded_pg.is_running(paths.pg):
        say("stop Postgres")
        embedded_pg.stop(paths.pg)
    return 0


def stack_memory(pids: dict[str, int]) -> dict[str, int]:
    """Proportional set size (bytes) per process group: shared pages (Python, Airflow's
    libraries) are split between the processes that map them, so the sum is what the stack
    really costs the machine; RSS would count them once per process."""
    import psutil

    totals = dict.fromkeys(pids, 0)
    group_of = {pid: name for name, pid in pids.items()}
    for process in psutil.process_iter():
        try:
            name = group_of.get(os.getpgid(process.pid))
            if name is not None:
                totals[name] += process.memory_full_info().pss
        except (psutil.Error, ProcessLookupError, PermissionError):
            continue
    return totals


def status(paths: Paths, port: int) -> int:
    from datasurface import embedded_pg

    pg = "running" if embedded_pg.is_running(paths.pg) else "stopped"
    print(f"postgres: {pg} (127.0.0.1:{port}, data {paths.pg})")
    pids = _load_pids(paths)
    memory = stack_memory(pids) if pids else {}
    for name, pid in pids.items():
        state = "running" if _alive(pid) else "gone"
        print(f"{name}: {state} (process group {pid}, {memory.get(name, 0) / 2**20:.0f} MiB PSS)")
    if pids:
        pg_pss = _postgres_pss(paths)
        total = sum(memory.values()) + pg_pss
        print(f"memory: {total / 2**30:.2f} GiB PSS in all (Postgres {pg_pss / 2**20:.0f} MiB)")
    return 0


def _postgres_pss(paths: Paths) -> int:
    import psutil

    from datasurface import embedded_pg

    info = embedded_pg.running_port(paths.pg)
    pid_file = paths.pg / "postmaster.pid"
    if info is None or not pid_file.exists():
        return 0
    try:
        postmaster = psutil.Process(int(pid_file.read_text().splitlines()[0]))
        return sum(p.memory_full_info().pss for p in [postmaster, *postmaster.children(recursive=True)])
    except (psutil.Error, OSError, ValueError, IndexError):
        return 0


def _up(paths: Paths, port: int) -> int:
    from datasurface.local_airflow import up  # Airflow's part of the stack, in its own module

    return up(paths, port)


def print_env(paths: Paths, port: int) -> int:
    print("\n".join(f"export {k}='{v}'" for k, v in local_env(port).items()))
    return 0


COMMANDS: dict[str, Callable[[Paths, int], int]] = {
    "demo": demo,
    "up": lambda paths, port: _up(paths, port),
    "down": lambda paths, port: down(paths),
    "status": status,
    "env": print_env,
}


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(f"usage: python -m datasurface.local_stack {{{'|'.join(COMMANDS)}}}", file=sys.stderr)
        return 2
    try:
        port = _env_port(PG_PORT_ENV, DEFAULT_PORT)
        paths = Paths(REPO_ROOT, Path(os.environ.get("DATASURFACE_LOCAL_STATE", REPO_ROOT / ".sandbox")).resolve())
        paths.state.mkdir(parents=True, exist_ok=True)
        if argv[0] in ("demo", "up"):
            # Models loaded in this process (transformer_runs) read their settings here too.
            os.environ.update(local_env(port))
        return COMMANDS[argv[0]](paths, port)
    except ModuleNotFoundError as exc:
        print(f"error: {exc}: the local stack needs the project's virtualenv; {VENV_HINT}", file=sys.stderr)
        return 1
    except DataSurfaceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
