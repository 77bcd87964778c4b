"""Run untrusted Python (a proposed `eco.py`) in a confined child process.

`check-change` and `compile` execute model code written by whoever opened the pull request.
That code gets one child process and nothing else of the checker:

- **environment**: an allow-list (`PATH`, locale, `HOME`/`TMPDIR` pointing at scratch) plus
  variables the caller names explicitly; a name that looks like a credential (`*TOKEN*`,
  `*PASSWORD*`, `*SECRET*`, `*KEY*`, `*_USER`, ...) is never passed, whoever asks;
- **resource limits** (`setrlimit` before exec): CPU seconds, address space, file size, open
  files, processes; plus a wall-clock timeout (`DEFAULT_TIMEOUT_SECONDS`, small: the sandbox
  model compiles in well under a second);
- **a scratch working directory**, the only place the child is expected to write;
- **its whole process tree killed** when it ends: its own session/process group, and every
  orphan re-parented to us (the parent makes itself a "child subreaper", so a grandchild that
  double-forks or calls `setsid()` still lands here and is killed and reaped before the caller
  sees the result);
- **captured output**: stdout/stderr go to files the caller may show as diagnostics, never into
  the verdict.

Where the machine allows it, more (the `Confinement` level says which was in force):

- `bubblewrap` (`bwrap`, as on GitHub's runners when installed): no network, new PID/IPC/UTS
  namespaces, the whole file system read-only except the scratch folder, `/tmp` private;
- `user-namespace` (`unshare` with unprivileged user namespaces): no network, a new PID
  namespace (the parent's command line is invisible; every process dies with the namespace),
  every mount remounted read-only except the scratch folder;
- `process`: only the limits above. Run the check where the installed package is read-only
  and the environment holds no secrets (the Action's container) when this is all you get.
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from datasurface.errors import DataSurfaceError

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "ConfinedProcess",
    "ConfinedResult",
    "Confinement",
    "Limits",
    "SandboxError",
    "available_confinement",
    "child_environment",
    "is_secret_name",
    "run_confined",
]

#: Seconds a model may take to build. The sandbox model compiles in ~0.3 s; a generous margin
#: for big models, but a hanging model no longer costs five minutes.
DEFAULT_TIMEOUT_SECONDS = 30.0

#: Set by the caller to force a level (tests; or `process` where namespaces misbehave).
CONFINEMENT_ENV = "DATASURFACE_CONFINEMENT"

_SECRET = re.compile(r"TOKEN|PASS|SECRET|KEY|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|_USER$|^USER$", re.IGNORECASE)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


class SandboxError(DataSurfaceError):
    """The confined child could not be started (not: the child failed)."""


class Confinement(StrEnum):
    """Strongest first."""

    BUBBLEWRAP = "bubblewrap"
    USER_NAMESPACE = "user-namespace"
    PROCESS = "process"

    def describe(self) -> str:
        return {
            Confinement.BUBBLEWRAP: "bubblewrap: no network, own PID namespace, read-only file system except scratch",
            Confinement.USER_NAMESPACE: "user namespace: no network, own PID namespace, "
            "read-only file system except scratch",
            Confinement.PROCESS: "process only: minimal environment, resource limits, process tree killed; "
            "network and file system NOT confined (run in the Action's container)",
        }[self]


@dataclass(frozen=True, slots=True)
class Limits:
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    cpu_seconds: int = 120
    address_space_bytes: int = 4 * 1024**3
    file_size_bytes: int = 512 * 1024**2
    open_files: int = 256
    #: Extra processes the child may create beyond those the user already runs.
    processes: int = 64


@dataclass(slots=True)
class ConfinedResult:
    returncode: int
    timed_out: bool
    confinement: Confinement
    stdout: str
    stderr: str
    elapsed_seconds: float
    killed_descendants: int = 0
    notes: list[str] = field(default_factory=list)

    def output_tail(self, lines: int = 3) -> str:
        """The last lines of the child's output, as one line (for an error message only)."""
        tail = (self.stderr or self.stdout).strip().splitlines()[-lines:]
        return " | ".join(_printable(line)[:300] for line in tail)


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def is_secret_name(name: str) -> bool:
    return _SECRET.search(name) is not None


def child_environment(scratch: Path, passed: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's whole environment: the allow-list plus `passed`, minus anything secret-like."""
    env = {
        "PATH": _SAFE_PATH,
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }
    for name, value in (passed or {}).items():
        if _ENV_NAME.fullmatch(name) and not is_secret_name(name) and name not in env:
            env[name] = value
    return env


# -- which confinement this machine offers ---------------------------------------------------


def _probe(cmd: list[str]) -> bool:
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=10, check=False, env={"PATH": _SAFE_PATH})
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@lru_cache(maxsize=1)
def _detected() -> Confinement:
    bwrap = shutil.which("bwrap", path=_SAFE_PATH)
    if bwrap and _probe([bwrap, "--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"]):
        return Confinement.BUBBLEWRAP
    if shutil.which("unshare", path=_SAFE_PATH):
        # The real wrapper, checked end to end: the remount must leave the root read-only
        # (else the level would claim more than it gives) and the scratch folder writable.
        with tempfile.TemporaryDirectory(prefix="datasurface-probe-") as name:
            scratch = Path(name).resolve()
            check = f"! touch /.datasurface-probe 2>/dev/null && touch {scratch}/ok"
            argv = _wrap(Confinement.USER_NAMESPACE, ["/bin/sh", "-c", check], scratch, {})
            if _probe(argv) and (scratch / "ok").exists():
                return Confinement.USER_NAMESPACE
    return Confinement.PROCESS


def available_confinement() -> Confinement:
    """The strongest level that works here; `DATASURFACE_CONFINEMENT` may ask for a weaker one."""
    best = _detected()
    asked = os.environ.get(CONFINEMENT_ENV, "").strip().lower()
    if asked:
        try:
            wanted = Confinement(asked)
        except ValueError:
            raise SandboxError(
                f"{CONFINEMENT_ENV}={asked!r}: use one of {', '.join(c.value for c in Confinement)}"
            ) from None
        order = list(Confinement)
        if order.index(wanted) < order.index(best):
            raise SandboxError(f"{CONFINEMENT_ENV}={asked}: this machine offers at most {best.value}")
        return wanted
    return best


# A POSIX shell script run as PID 1 of the new namespaces: every mount becomes read-only, then
# the scratch folder is bind-mounted writable again, then the child program is exec'd.
_REMOUNT_SCRIPT = r"""
scratch="$1"; shift
mount --bind "$scratch" "$scratch" || exit 97
while read -r _ _ _ _ point _; do
  case "$point" in "$scratch"|/proc|/proc/*) continue ;; esac
  point=$(printf '%b' "$point")
  mount -o remount,bind,ro "$point" 2>/dev/null
done < /proc/self/mountinfo
mount -o remount,bind,rw "$scratch" 2>/dev/null
exec "$@"
"""


def _wrap(level: Confinement, argv: Sequence[str], scratch: Path, env: Mapping[str, str]) -> list[str]:
    if level is Confinement.BUBBLEWRAP:
        bwrap = shutil.which("bwrap", path=_SAFE_PATH) or "bwrap"
        cmd = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/", "/"]
        cmd += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--bind", str(scratch), str(scratch)]
        cmd += ["--chdir", str(scratch), "--clearenv"]
        for name, value in env.items():
            cmd += ["--setenv", name, value]
        return [*cmd, "--", *argv]
    if level is Confinement.USER_NAMESPACE:
        unshare = shutil.which("unshare", path=_SAFE_PATH) or "unshare"
        return [
            unshare,
            "--user",
            "--map-root-user",
            "--net",
            "--mount",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "/bin/sh",
            "-c",
            _REMOUNT_SCRIPT,
            "sh",
            str(scratch),
            *argv,
        ]
    return list(argv)


# -- process tree ------------------------------------------------------------------------------

_PR_SET_CHILD_SUBREAPER = 36


@lru_cache(maxsize=1)
def _become_subreaper() -> bool:
    """Orphans of our descendants are re-parented to us instead of init, so we can kill them."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _children_of(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command name, which may hold spaces.
        rest = stat[stat.rfind(b")") + 2 :].split()
        if len(rest) > 1 and int(rest[1]) == pid:
            found.add(int(entry))
    return found


def _user_process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


#: Confined children currently running (several may run at once): never strays of each other.
_LIVE: set[int] = set()


def _kill_tree(process: subprocess.Popen[bytes], before: set[int]) -> int:
    """Kill the child's process group and every orphan re-parented to us; reap them all."""
    killed = 0
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        strays = _children_of(os.getpid()) - before - _LIVE - {process.pid}
        if not strays:
            break
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    return killed


def _limiter(limits: Limits) -> Callable[[], None]:
    nproc = _user_process_count() + limits.processes

    def apply() -> None:
        pairs = (
            (resource.RLIMIT_CPU, limits.cpu_seconds),
            (resource.RLIMIT_AS, limits.address_space_bytes),
            (resource.RLIMIT_FSIZE, limits.file_size_bytes),
            (resource.RLIMIT_NOFILE, limits.open_files),
            (resource.RLIMIT_NPROC, nproc),
            (resource.RLIMIT_CORE, 0),
        )
        for which, value in pairs:
            try:
                _soft, hard = resource.getrlimit(which)
                capped = value if hard == resource.RLIM_INFINITY else min(value, hard)
                resource.setrlimit(which, (capped, capped))
            except (ValueError, OSError):
                continue

    return apply


class ConfinedProcess:
    """A confined child that was started; `finish()` waits, kills its tree and collects output.

    Split in two so the caller can do its own work (build validators) while a trusted child
    runs; `run_confined` is both steps at once.
    """

    def __init__(
        self,
        argv: Sequence[str],
        scratch: Path,
        *,
        env: Mapping[str, str] | None = None,
        limits: Limits | None = None,
        level: Confinement | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.level = level or available_confinement()
        child_env = child_environment(scratch, env)
        command = _wrap(self.level, argv, scratch, child_env)
        self._subreaper = _become_subreaper()
        self._before = _children_of(os.getpid())
        self._started = time.monotonic()
        self._outdir = tempfile.TemporaryDirectory(prefix="datasurface-out-")
        out_path, err_path = Path(self._outdir.name) / "stdout", Path(self._outdir.name) / "stderr"
        self._paths = (out_path, err_path)
        with out_path.open("wb") as out, err_path.open("wb") as err:
            try:
                self.process = subprocess.Popen(
                    command,
                    cwd=scratch,
                    env=child_env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    preexec_fn=_limiter(self.limits),
                    close_fds=True,
                )
                _LIVE.add(self.process.pid)
            except OSError as exc:
                self._outdir.cleanup()
                raise SandboxError(f"could not start the confined child ({self.level.value}): {exc}") from None

    def finish(self) -> ConfinedResult:
        """Wait (up to the timeout from the start), then make sure the whole tree is gone."""
        remaining = max(0.0, self.limits.timeout_seconds - (time.monotonic() - self._started))
        timed_out = False
        try:
            self.process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            timed_out = True
        try:
            killed = _kill_tree(self.process, self._before)
        finally:
            _LIVE.discard(self.process.pid)
        try:
            notes = (
                [] if self._subreaper else ["could not become a child subreaper: detached grandchildren may survive"]
            )
            return ConfinedResult(
                returncode=self.process.returncode,
                timed_out=timed_out,
                confinement=self.level,
                stdout=_tail(self._paths[0]),
                stderr=_tail(self._paths[1]),
                elapsed_seconds=time.monotonic() - self._started,
                killed_descendants=killed,
                notes=notes,
            )
        finally:
            self._outdir.cleanup()


def run_confined(
    argv: Sequence[str],
    scratch: Path,
    *,
    env: Mapping[str, str] | None = None,
    limits: Limits | None = None,
    level: Confinement | None = None,
) -> ConfinedResult:
    """Run `argv` confined, with `scratch` as its working directory; return when its whole
    process tree is gone. `env` is passed through `child_environment` (secrets dropped)."""
    return ConfinedProcess(argv, scratch, env=env, limits=limits, level=level).finish()


def _tail(path: Path, limit: int = 8192) -> str:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - limit))
        return handle.read().decode("utf-8", "replace")
