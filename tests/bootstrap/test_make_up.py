"""`make up` without a cluster: DRY_RUN prints the plan and runs nothing; missing tools are
named one per line; a run against recording stubs of docker, kind and kubectl issues the
expected commands and never shows a password."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

TOOLS = ("docker", "kind", "kubectl")
# `-o STAMP`: never (re)install the virtualenv from inside a test.
STAMP = f"{os.environ.get('VENV', '.venv')}/.installed-test"


def _stubs(tmp_path: Path) -> tuple[Path, Path]:
    """docker/kind/kubectl stubs that append their argv to a log and succeed."""
    bin_dir, log = tmp_path / "stubs", tmp_path / "calls.log"
    bin_dir.mkdir()
    for tool in TOOLS:
        stub = bin_dir / tool
        # `kubectl create secret ... | kubectl apply -f -`: apply drains stdin like kubectl does.
        stub.write_text(
            f'#!/usr/bin/env bash\nprintf "%s\\n" "{tool} $*" >> "{log}"\n'
            'if [[ " $* " == *" -f - "* ]]; then cat > /dev/null; fi\nexit 0\n'
        )
        stub.chmod(0o755)
    return bin_dir, log


def _make(tmp_path: Path, path: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": path,
        "ENV_FILE": str(tmp_path / "sandbox.env"),
        "RING0_DIR": str(tmp_path / "ring0"),
    }
    env.pop("DRY_RUN", None)
    return subprocess.run(
        ["make", "--no-print-directory", "-o", STAMP, "up", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _commands(stdout: str) -> list[str]:
    return [line[2:] for line in stdout.splitlines() if line.startswith("+ ")]


def _in_order(commands: list[str], expected: list[str]) -> None:
    i = 0
    for command in commands:
        if i < len(expected) and expected[i] in command:
            i += 1
    assert i == len(expected), f"missing or out of order: {expected[i:]}\nin:\n" + "\n".join(commands)


EXPECTED_PLAN = [
    "create ",  # sandbox/.env from .env.example
    "kind create cluster --name datasurface --config " + str(REPO_ROOT / "sandbox/kind-config.yaml"),
    "docker build -f " + str(REPO_ROOT / "Dockerfile.datasurface") + " -t datasurface/datasurface:latest",
    "docker build -f " + str(REPO_ROOT / "sandbox/Dockerfile.airflow") + " -t datasurface/airflow:sandbox",
    "kind load docker-image datasurface/datasurface:latest datasurface/airflow:sandbox --name datasurface",
    "bootstrap --ring 0 --model " + str(REPO_ROOT / "sandbox/model"),
    "apply -f ",  # the namespace
    "create-secrets.sh",
    "apply -f ",  # everything else
    "rollout status statefulset/postgres",
    "apply -f ",
    "wait --for=condition=complete job/airflow-db-migrate",
    "delete job datasurface-ring1",
    "wait --for=condition=complete job/datasurface-ring1",
    "simulator.yaml",
    "rollout status deployment/airflow-api-server",
]


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path) -> None:
    stubs, log = _stubs(tmp_path)
    done = _make(tmp_path, f"{stubs}:{os.environ['PATH']}", "DRY_RUN=1")
    assert done.returncode == 0, done.stderr
    _in_order(_commands(done.stdout), EXPECTED_PLAN)
    assert not log.exists(), f"DRY_RUN called a tool: {log.read_text()}"
    assert not (tmp_path / "sandbox.env").exists()
    assert not (tmp_path / "ring0").exists()
    assert "http://localhost:8080" in done.stdout


def _minimal_path(tmp_path: Path) -> str:
    """A PATH with the shell basics and make, and none of docker, kind, kubectl."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sh", "make", "dirname", "env"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_missing_tools_are_named_one_per_line(tmp_path: Path) -> None:
    done = _make(tmp_path, _minimal_path(tmp_path))
    assert done.returncode != 0
    missing = [line for line in done.stderr.splitlines() if line.startswith("missing: ")]
    assert [line.split()[1] for line in missing] == list(TOOLS), done.stderr
    assert "docs.docker.com" in missing[0] and "kind" in missing[1] and "kubectl" in missing[2]
    assert not (tmp_path / "sandbox.env").exists()


@pytest.mark.parametrize("present", TOOLS)
def test_only_the_missing_tools_are_named(tmp_path: Path, present: str) -> None:
    stubs, _ = _stubs(tmp_path)
    path = _minimal_path(tmp_path)
    (Path(path) / present).symlink_to(stubs / present)
    done = _make(tmp_path, path)
    assert done.returncode != 0
    named = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("missing: ")]
    assert named == [t for t in TOOLS if t != present]


def test_real_run_against_stubs_never_shows_a_password(tmp_path: Path) -> None:
    stubs, log = _stubs(tmp_path)
    done = _make(tmp_path, f"{stubs}:{os.environ['PATH']}")
    assert done.returncode == 0, done.stdout + done.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "docker info"
    _in_order(calls, [c for c in EXPECTED_PLAN if "bootstrap" not in c and "create-secrets" not in c][1:])
    assert sum("create secret generic" in c for c in calls) == 3  # two credentials + Airflow
    # sandbox/.env was generated with a random value for every secret, never printed.
    env_file = tmp_path / "sandbox.env"
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and line[0] != "#")
    secrets = [v for k, v in values.items() if k.endswith(("_PASSWORD", "_SECRET", "_SECRET_KEY"))]
    assert len(secrets) == 5 and all(len(v) == 32 for v in secrets)
    # The merge and source credentials both log in as `postgres`: one role, one password.
    assert values["POSTGRES_PASSWORD"] == values["CUSTOMER_DB_PASSWORD"]
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    shown = done.stdout + done.stderr + log.read_text()
    for value in secrets:
        assert value not in shown
    for path in (tmp_path / "ring0").rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not any(v in text for v in secrets), path
    # A second run reuses .env: same passwords.
    again = _make(tmp_path, f"{stubs}:{os.environ['PATH']}")
    assert again.returncode == 0
    assert env_file.read_text().count("=") == len(values) and secrets[0] in env_file.read_text()
