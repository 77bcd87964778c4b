"""The tutorial notebooks' one line of setup: `stack = connect()`.

It finds the local stack (`make demo` / `make lab`: the embedded Postgres on
127.0.0.1:${DATASURFACE_LOCAL_PG_PORT:-55432}, or whatever the `DATASURFACE_*` variables of
the kernel's environment say) and returns a `Stack` with what every notebook needs: the
example model, engines on the source and merge databases, `run` / `json` for the
`datasurface` command, `run_to_done` for a stream, and `query` returning a DataFrame.

When the stack is not running it says so in ONE line with the command that starts it, within
about two seconds: it checks the port with a plain socket before any driver connects (a
driver's default connect timeout made the notebooks wait 60 s and then fail an assertion).
In Jupyter the error shows as that line, not a traceback (`_render_traceback_`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datasurface.errors import DataSurfaceError
from datasurface.local_stack import DEFAULT_PORT, LIVE_BATCH_OUT, PG_PORT_ENV, batch_label, local_env

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]
    from sqlalchemy import Engine

__all__ = ["LIVE_BATCH_OUT", "Stack", "StackNotRunning", "batch_label", "connect", "find_repo_root", "readable"]

#: The sandbox's producer datastore: the one the simulator writes to.
STORE = "Store1"


class StackNotRunning(DataSurfaceError):
    """The local stack's Postgres does not answer; the message says how to start it."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the one line is the whole story.
        return [f"{type(self).__name__}: {self}"]


def find_repo_root(start: Path | None = None) -> Path:
    """The checkout holding `sandbox/model/eco.py`, from `start` (default: the working
    directory, which is `notebooks/` under `make lab`) upwards."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "sandbox" / "model" / "eco.py").exists():
            return candidate
    raise DataSurfaceError(f"no sandbox/model/eco.py in {here} or above it: open the notebooks from a checkout")


def _settings() -> dict[str, str]:
    """The local stack's settings unless the environment already says otherwise."""
    port = int(os.environ.get(PG_PORT_ENV, DEFAULT_PORT))
    return {**local_env(port), **os.environ}


def _answers(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class Stack:
    """What a notebook uses; see the module docstring."""

    root: Path
    env: dict[str, str]
    source: Engine
    merge: Engine
    store: str = STORE
    _closed: bool = field(default=False, repr=False)

    @property
    def model(self) -> Path:
        return self.root / "sandbox" / "model"

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        """The `datasurface` command; an unexpected exit code raises with its stderr."""
        result = subprocess.run(
            [sys.executable, "-m", "datasurface.cli", *args], env=self.env, capture_output=True, text=True, check=False
        )
        if result.returncode not in ok:
            raise DataSurfaceError(
                f"`datasurface {' '.join(args)}` exited {result.returncode}: {result.stderr.strip()}"
            )
        return result

    def json(self, *args: str, ok: tuple[int, ...] = (0,)) -> Any:
        """The `datasurface` command with `--json`, parsed."""
        return json.loads(self.run(*args, "--json", ok=ok).stdout)

    def run_to_done(self, platform: str, stream: str) -> dict[str, Any]:
        """`job run` until DONE (exit 0); exit 75 (KEEP_WORKING) means: run again now."""
        while True:
            args = ["job", "run", "--model", str(self.model), "--platform", platform, "--stream", stream]
            result = self.run(*args, "--json", ok=(0, 75))
            if result.returncode == 0:
                return dict(json.loads(result.stdout))

    def query(self, sql: str, engine: Engine | None = None, **params: Any) -> pd.DataFrame:
        """Rows of `sql` (on the merge database unless `engine` says otherwise) as a DataFrame."""
        import pandas as pd
        from sqlalchemy import text

        # sqlalchemy.text(): psycopg 3 would otherwise read a literal % as a parameter.
        with (engine or self.merge).connect() as conn:
            return pd.read_sql(text(sql), conn, params=params)

    def close(self) -> None:
        if not self._closed:
            self.source.dispose()
            self.merge.dispose()
            self._closed = True


def connect(start: Path | None = None) -> Stack:
    """The local stack, or `StackNotRunning` with the one line that says how to start it."""
    from sqlalchemy import URL, create_engine

    env = _settings()
    root = find_repo_root(start)
    engines: dict[str, Engine] = {}
    for side in ("SOURCE", "MERGE"):
        host, port = env[f"DATASURFACE_{side}_HOST"], int(env[f"DATASURFACE_{side}_PORT"])
        if not _answers(host, port):
            raise StackNotRunning(
                f"nothing answers at {host}:{port} ({side.lower()} database): start the local stack with "
                f"`make demo` in {root} (then re-run this cell)"
            )
        engines[side] = create_engine(
            URL.create(
                "postgresql+psycopg",
                username=env.get("POSTGRES_USER") or "postgres",
                password=env.get("POSTGRES_PASSWORD") or None,
                host=host,
                port=port,
                database=env[f"DATASURFACE_{side}_DB"],
            ),
            connect_args={"connect_timeout": 5},
        )
    from sqlalchemy.exc import OperationalError

    for side, engine in engines.items():
        try:
            with engine.connect():
                pass
        except OperationalError as exc:  # the server runs, but e.g. its databases don't exist yet
            for e in engines.values():
                e.dispose()
            first = str(exc.orig or exc).strip().splitlines()[0]
            raise StackNotRunning(
                f"the {side.lower()} database does not answer ({first}): run `make demo` in {root} first"
            ) from None
    import pandas as pd

    pd.set_option("display.max_colwidth", None)
    return Stack(root, env, engines["SOURCE"], engines["MERGE"])


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with `ds_surf_batch_out` as a person reads it: "live" instead of the
    engine's sentinel 2147483647 for versions that are still live."""
    shown = frame.copy()
    if "ds_surf_batch_out" in shown.columns:
        shown["ds_surf_batch_out"] = shown["ds_surf_batch_out"].map(batch_label)
    return shown
