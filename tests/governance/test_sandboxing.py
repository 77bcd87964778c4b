"""The confined child: environment, limits, file system, network, process tree."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from datasurface.sandboxing import (
    Confinement,
    Limits,
    available_confinement,
    child_environment,
    is_secret_name,
    run_confined,
)

LEVEL = available_confinement()
needs_namespaces = pytest.mark.skipif(LEVEL is Confinement.PROCESS, reason="needs user namespaces or bubblewrap")


def _py(code: str, scratch: Path, **kwargs: object) -> tuple[int, str, str]:
    result = run_confined([sys.executable, "-I", "-c", code], scratch, **kwargs)  # type: ignore[arg-type]
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize(
    "name", ["GITHUB_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "PGPASSWORD", "AWS_SECRET_ACCESS_KEY", "CRM_USER"]
)
def test_credential_like_names_are_never_passed(name: str, tmp_path: Path) -> None:
    assert is_secret_name(name) or "TOKEN" in name
    env = child_environment(tmp_path, {name: "s3cret", "DATASURFACE_SOURCE_HOST": "db"})
    assert name not in env
    assert env["DATASURFACE_SOURCE_HOST"] == "db" and env["HOME"] == str(tmp_path)


def test_the_child_sees_only_the_allow_listed_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    code, out, _ = _py("import os; print(sorted(os.environ))", tmp_path)
    assert code == 0 and "GITHUB_TOKEN" not in out and "'PATH'" in out


@needs_namespaces
def test_the_file_system_is_read_only_except_scratch(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    outside = tmp_path / "outside.txt"
    code, out, err = _py(
        f"open({str(scratch / 'ok.txt')!r}, 'w').write('x')\n"
        f"try:\n    open({str(outside)!r}, 'w').write('x'); print('WROTE')\n"
        "except OSError as e:\n    print('REFUSED', e.errno)\n",
        scratch.resolve(),
    )
    assert code == 0, err
    assert "REFUSED" in out and not outside.exists() and (scratch / "ok.txt").exists()


@needs_namespaces
def test_there_is_no_network(tmp_path: Path) -> None:
    code, out, err = _py(
        "import socket\ns = socket.socket()\ns.settimeout(2)\n"
        "try:\n    s.connect(('127.0.0.1', 5432)); print('CONNECTED')\nexcept OSError:\n    print('NO NETWORK')\n",
        tmp_path,
    )
    assert code == 0, err
    assert "NO NETWORK" in out


def test_memory_is_limited(tmp_path: Path) -> None:
    _code, out, _ = _py(
        "try:\n    b = bytearray(3 * 1024**3); print('ALLOCATED')\nexcept MemoryError:\n    print('LIMITED')\n",
        tmp_path,
        limits=Limits(address_space_bytes=1024**3),
    )
    assert "LIMITED" in out


def test_the_timeout_stops_the_child(tmp_path: Path) -> None:
    result = run_confined(
        [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path, limits=Limits(timeout_seconds=1)
    )
    assert result.timed_out and result.elapsed_seconds < 15


def test_the_level_is_reported(tmp_path: Path) -> None:
    result = run_confined([sys.executable, "-c", "pass"], tmp_path)
    assert result.confinement is LEVEL and LEVEL.describe()
