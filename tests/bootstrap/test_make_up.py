"""`make up` without a cluster: DRY_RUN prints the plan and runs nothing; missing tools are
named one per line; against fake docker, kind and kubectl (tests/bootstrap/fake_tools.py,
which answer as the real tools do and log what a real cluster would do) it issues the
expected commands, never shows a password, stops at the first failure with the failing
pod's logs, and re-runs change exactly what changed."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

TOOLS = ("docker", "kind", "kubectl")
FAKE = Path(__file__).with_name("fake_tools.py")
# `-o STAMP`: never (re)install the virtualenv from inside a test.
STAMP = f"{os.environ.get('VENV', '.venv')}/.installed-test"
SANDBOX_ENV = {
    "POLL_SECONDS": "0.1",
    # Far above what any test may take: a test that ends proves the wait stopped by itself.
    "TIMEOUT_JOB": "3600",
    "TIMEOUT_AIRFLOW": "3600",
    "TIMEOUT_POSTGRES": "3600",
}


def _fake_bin(tmp_path: Path) -> Path:
    """docker/kind/kubectl on a PATH folder, each running the fake with its own name."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    for tool in TOOLS:
        stub = bin_dir / tool
        stub.write_text(f'#!/usr/bin/env bash\nexec "{sys.executable}" "{FAKE}" {tool} "$@"\n')
        stub.chmod(0o755)
    (tmp_path / "state").mkdir(exist_ok=True)
    return bin_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kind_config(tmp_path: Path) -> Path:
    """kind-config.yaml with free host ports: the preflight's port check must not depend on
    what else this machine runs on 8080 and 15432. Airflow's port is `_airflow_port`."""
    config = tmp_path / "kind-config.yaml"
    if not config.exists():
        text = (REPO_ROOT / "sandbox" / "kind-config.yaml").read_text()
        text = text.replace("hostPort: 8080", f"hostPort: {_free_port()}")
        config.write_text(text.replace("hostPort: 15432", f"hostPort: {_free_port()}"))
    return config


def _airflow_port(tmp_path: Path) -> int:
    text = _kind_config(tmp_path).read_text()
    return int(text.split("containerPort: 30080", 1)[1].split("hostPort:", 1)[1].split()[0])


def _env(tmp_path: Path, path: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        **SANDBOX_ENV,
        "PATH": path,
        "HOME": str(tmp_path / "home"),
        "ENV_FILE": str(tmp_path / "sandbox.env"),
        "RING0_DIR": str(tmp_path / "ring0"),
        "KUBECONFIG_FILE": str(tmp_path / "kubeconfig"),
        "FAKE_STATE": str(tmp_path / "state"),
        "KIND_CONFIG": str(_kind_config(tmp_path)),
        **(extra or {}),
    }
    for name in ("DRY_RUN", "LOW_RESOURCES", "PURGE", "KUBECONFIG"):
        if name not in (extra or {}):
            env.pop(name, None)
    return env


def _make(
    tmp_path: Path, path: str, target: str, *args: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-o", STAMP, target, *args],
        cwd=REPO_ROOT,
        env=_env(tmp_path, path, extra),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def fake_path(tmp_path: Path) -> Iterator[str]:
    yield f"{_fake_bin(tmp_path)}:{os.environ['PATH']}"


def _events(tmp_path: Path) -> list[str]:
    log = tmp_path / "state" / "events.log"
    return log.read_text().splitlines() if log.exists() else []


def _calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "state" / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def _commands(stdout: str) -> list[str]:
    return [line[2:] for line in stdout.splitlines() if line.startswith("+ ")]


def _in_order(commands: list[str], expected: list[str]) -> None:
    i = 0
    for command in commands:
        if i < len(expected) and expected[i] in command:
            i += 1
    assert i == len(expected), f"missing or out of order: {expected[i:]}\nin:\n" + "\n".join(commands)


def _context_tag(dockerfile: Path) -> str:
    """The oracle for the content tag: SHA-256 over the Dockerfile and every file of the
    build context the root .dockerignore lets through (sha256sum's listing format)."""
    lines = [f"{hashlib.sha256(dockerfile.read_bytes()).hexdigest()}  {dockerfile.relative_to(REPO_ROOT)}\n"]
    files: list[Path] = []
    for top in ("pyproject.toml", "README.md", "datasurface", "simulator"):
        root = REPO_ROOT / top
        candidates = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        files += [p for p in candidates if "__pycache__" not in p.parts and p.suffix != ".pyc"]
    for p in sorted(files, key=lambda p: str(p.relative_to(REPO_ROOT)).encode()):
        lines.append(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(REPO_ROOT)}\n")
    return "src-" + hashlib.sha256("".join(lines).encode()).hexdigest()[:12]


JOB_TAG = _context_tag(REPO_ROOT / "Dockerfile.datasurface")
AIRFLOW_TAG = _context_tag(REPO_ROOT / "sandbox" / "Dockerfile.airflow")
JOB_IMAGE = f"datasurface/datasurface:{JOB_TAG}"
AIRFLOW_IMAGE = f"datasurface/airflow:{AIRFLOW_TAG}"

EXPECTED_PLAN = [
    "preflight",
    "create ",  # sandbox/.env from .env.example
    "kind create cluster --name datasurface --config ",
    "docker build -f " + str(REPO_ROOT / "Dockerfile.datasurface") + " -t " + JOB_IMAGE,
    "docker build -f " + str(REPO_ROOT / "sandbox/Dockerfile.airflow") + " -t " + AIRFLOW_IMAGE,
    f"kind load docker-image {JOB_IMAGE} {AIRFLOW_IMAGE} --name datasurface",
    "bootstrap --ring 0 --model " + str(REPO_ROOT / "sandbox/model"),
    "apply -f ",  # the namespace
    "create-secrets.sh",
    "apply --server-side --force-conflicts -f ",  # the model's files
    "apply -f ",  # everything else
    "statefulset/postgres",
    "delete job airflow-db-migrate",
    "apply -f ",
    "job/airflow-db-migrate",
    "delete job datasurface-ring1",
    "job/datasurface-ring1",
    "simulator.yaml",
    "deployment/airflow-api-server",
]


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path, fake_path: str) -> None:
    done = _make(tmp_path, fake_path, "up", "DRY_RUN=1")
    assert done.returncode == 0, done.stderr
    _in_order(_commands(done.stdout), EXPECTED_PLAN)
    assert not _calls(tmp_path), f"DRY_RUN called a tool: {_calls(tmp_path)}"
    assert not (tmp_path / "sandbox.env").exists()
    assert not (tmp_path / "ring0").exists()
    assert f"http://localhost:{_airflow_port(tmp_path)}" in done.stdout


def _minimal_path(tmp_path: Path) -> str:
    """A PATH with the shell basics and make, and none of docker, kind, kubectl."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sh", "make", "dirname", "env", "sed", "awk", "mktemp", "rm", "cat"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_missing_tools_are_named_one_per_line(tmp_path: Path) -> None:
    done = _make(tmp_path, _minimal_path(tmp_path), "up")
    assert done.returncode != 0
    missing = [line for line in done.stderr.splitlines() if line.startswith("missing: ")]
    assert [line.split()[1] for line in missing] == list(TOOLS), done.stderr
    assert "docs.docker.com" in missing[0] and "kind" in missing[1] and "kubectl" in missing[2]
    assert not (tmp_path / "sandbox.env").exists()


@pytest.mark.parametrize("present", TOOLS)
def test_only_the_missing_tools_are_named(tmp_path: Path, present: str) -> None:
    fakes = _fake_bin(tmp_path)
    path = _minimal_path(tmp_path)
    (Path(path) / present).symlink_to(fakes / present)
    done = _make(tmp_path, path, "up")
    assert done.returncode != 0
    named = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("missing: ")]
    assert named == [t for t in TOOLS if t != present]


def _env_values(env_file: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and line[0] != "#")


def test_real_run_never_shows_a_password_and_a_rerun_changes_nothing(tmp_path: Path, fake_path: str) -> None:
    done = _make(tmp_path, fake_path, "up")
    assert done.returncode == 0, done.stdout + done.stderr
    calls = _calls(tmp_path)
    # Preflight asks before anything is created.
    first_change = next(i for i, c in enumerate(calls) if c.startswith(("kind create", "docker build ")))
    assert any(c.startswith("docker info") for c in calls[:first_change])
    assert "docker buildx version" in calls[:first_change]
    assert not any(c.startswith(("kubectl", "kind load")) for c in calls[:first_change] if "version" not in c)
    _in_order(calls, [c for c in EXPECTED_PLAN[2:] if "bootstrap" not in c and "create-secrets" not in c][:6])
    assert sum("create secret generic" in c for c in calls) == 3  # two credentials + Airflow
    # Every kubectl call names the sandbox's kubeconfig and context; kind writes only there.
    kubeconfig = str(tmp_path / "kubeconfig")
    for call in calls:
        local = ("create secret generic", " apply -f -", "kubectl version --client")
        if call.startswith("kubectl ") and not any(part in call for part in local):
            assert f"--kubeconfig {kubeconfig} --context kind-datasurface" in call, call
    assert f"--kubeconfig {kubeconfig}" in next(c for c in calls if c.startswith("kind create cluster"))
    assert not (tmp_path / "home" / ".kube").exists()
    assert oct((tmp_path / "kubeconfig").stat().st_mode & 0o777) == "0o600"
    # With buildx, BuildKit builds.
    builds = [e for e in _events(tmp_path) if e.startswith("build ")]
    assert len(builds) == 2 and all(b.endswith("DOCKER_BUILDKIT=1") for b in builds)
    # sandbox/.env was generated with a random value for every secret, never printed.
    env_file = tmp_path / "sandbox.env"
    values = _env_values(env_file)
    secrets = {k: v for k, v in values.items() if k.endswith(("_PASSWORD", "_SECRET", "_SECRET_KEY"))}
    assert len(secrets) == 5
    jwt = secrets.pop("AIRFLOW_JWT_SECRET")
    # The JWT key: 64 random bytes (HS512's recommended minimum), the others 16.
    assert len(bytes.fromhex(jwt)) == 64
    assert all(len(bytes.fromhex(v)) == 16 for v in secrets.values())
    # The merge and source credentials both log in as `postgres`: one role, one password.
    assert values["POSTGRES_PASSWORD"] == values["CUSTOMER_DB_PASSWORD"]
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    shown = done.stdout + done.stderr + "\n".join(calls) + "\n".join(_events(tmp_path))
    for value in [*secrets.values(), jwt]:
        assert value not in shown
    for path in (tmp_path / "ring0").rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not any(v in text for v in [*secrets.values(), jwt]), path
    # Progress: every step announced, and closed with its elapsed time.
    assert [line.split("] ")[0] for line in done.stdout.splitlines() if line.startswith("==> [")] == [
        f"==> [{i}/9" for i in range(1, 10)
    ]
    assert done.stdout.count("    ok: ") == 9
    # The job pods run the image just built: the model's job image is the content tag.
    rendered = (tmp_path / "ring0" / "10-config.yaml").read_text()
    assert f"DATASURFACE_JOB_IMAGE: {JOB_IMAGE}" in rendered
    assert AIRFLOW_IMAGE in (tmp_path / "ring0" / "50-airflow.yaml").read_text()
    first = _events(tmp_path)
    assert {"create cluster", f"load {JOB_IMAGE}", f"load {AIRFLOW_IMAGE}"} <= set(first)
    assert {"run job/airflow-db-migrate", "run job/datasurface-ring1"} <= set(first)

    # A second run reuses .env (same passwords) and changes nothing at all.
    again = _make(tmp_path, fake_path, "up")
    assert again.returncode == 0, again.stderr
    assert _env_values(env_file) == values
    assert _events(tmp_path)[len(first) :] == [], "a re-run with no change changed something"
    assert "0 object(s) created or changed" in again.stdout
    assert again.stdout.count("already completed: not run again") == 2
    assert again.stdout.count("already built from these sources") == 2

    # `make creds`: the URL and the logins, from sandbox/.env.
    creds = _make(tmp_path, fake_path, "creds")
    assert creds.returncode == 0, creds.stderr
    assert f"http://localhost:{_airflow_port(tmp_path)}" in creds.stdout
    assert "user:     admin" in creds.stdout
    assert f"password: {values['AIRFLOW_ADMIN_PASSWORD']}" in creds.stdout
    assert f"password: {values['POSTGRES_PASSWORD']}" in creds.stdout


def test_rerun_after_a_model_change_reruns_ring1_and_rolls_only_its_readers(tmp_path: Path, fake_path: str) -> None:
    model = tmp_path / "model"
    shutil.copytree(REPO_ROOT / "sandbox" / "model", model, ignore=shutil.ignore_patterns("__pycache__"))
    extra = {"MODEL_DIR": str(model)}
    assert _make(tmp_path, fake_path, "up", extra=extra).returncode == 0
    first = len(_events(tmp_path))
    with open(model / "eco.py", "a") as f:
        f.write("\n# a change to the model\n")
    again = _make(tmp_path, fake_path, "up", extra=extra)
    assert again.returncode == 0, again.stderr
    changes = _events(tmp_path)[first:]
    # Ring 1 commits the new model (it reads the model-source ConfigMap); the simulator reads
    # it too. Airflow reads neither: it gets the model from the merge handler, not a restart.
    assert sorted(changes) == ["rollout deployment/datasurface-simulator", "run job/datasurface-ring1"]


def _copy_repo(tmp_path: Path) -> Path:
    """The parts of the checkout `make up` hashes and runs, to change a source file safely."""
    copy = tmp_path / "repo"
    copy.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", ".env", ".ring0", ".kubeconfig")
    for name in ("datasurface", "simulator", "sandbox"):
        shutil.copytree(REPO_ROOT / name, copy / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "Dockerfile.datasurface", ".dockerignore"):
        shutil.copy2(REPO_ROOT / name, copy / name)
    return copy


def _up_script(tmp_path: Path, repo: Path, path: str) -> subprocess.CompletedProcess[str]:
    env = _env(tmp_path, path, {"DATASURFACE": str(Path(sys.executable).parent / "datasurface")})
    return subprocess.run(
        ["bash", str(repo / "sandbox" / "scripts" / "up.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_rerun_after_a_source_change_rebuilds_and_rolls_everything(tmp_path: Path, fake_path: str) -> None:
    repo = _copy_repo(tmp_path)
    assert _up_script(tmp_path, repo, fake_path).returncode == 0
    first = len(_events(tmp_path))
    with open(repo / "datasurface" / "__init__.py", "a") as f:
        f.write("\n# a change to the code\n")
    again = _up_script(tmp_path, repo, fake_path)
    assert again.returncode == 0, again.stderr
    changes = _events(tmp_path)[first:]
    builds = [e for e in changes if e.startswith("build ")]
    assert len(builds) == 2 and all(":src-" in b for b in builds)
    assert len([e for e in changes if e.startswith("load ")]) == 2
    rollouts = {e for e in changes if e.startswith("rollout ")}
    assert rollouts == {
        f"rollout deployment/{d}"
        for d in (
            "airflow-api-server",
            "airflow-scheduler",
            "airflow-dag-processor",
            "airflow-triggerer",
            "datasurface-simulator",
        )
    }
    # The Airflow migration runs for the new Airflow image; ring 1 for the new job image.
    assert {"run job/airflow-db-migrate", "run job/datasurface-ring1"} <= set(changes)
    # The previous tags leave the node and Docker.
    assert sum(e.startswith("node rmi ") for e in changes) == 2
    assert sum(e.startswith("docker rmi ") for e in changes) == 2


def test_a_failed_job_stops_make_up_with_its_logs(tmp_path: Path, fake_path: str) -> None:
    # TIMEOUT_JOB is an hour: returning at all shows the wait stopped on the failure.
    done = _make(tmp_path, fake_path, "up", extra={"FAKE_FAIL_JOB": "datasurface-ring1"})
    assert done.returncode != 0
    err = done.stderr
    assert "ERROR: job/datasurface-ring1 failed" in err
    assert "BackoffLimitExceeded" in err
    assert "FAKE-FAILURE-LOG" in err  # the failing pod's last log lines
    kubeconfig = tmp_path / "kubeconfig"
    assert f"More: kubectl --kubeconfig {kubeconfig} --context kind-datasurface -n datasurface logs pod/" in err
    assert "STOPPED at step [8/9] ring 1" in err
    # Nothing after the failed step ran.
    assert not any("simulator.yaml" in c for c in _calls(tmp_path))


def test_a_crashing_deployment_stops_make_up_with_its_logs(tmp_path: Path, fake_path: str) -> None:
    done = _make(tmp_path, fake_path, "up", extra={"FAKE_CRASH": "airflow-scheduler"})
    assert done.returncode != 0
    assert "deployment/airflow-scheduler: pod airflow-scheduler-6d5f8-abcde is CrashLoopBackOff" in done.stderr
    assert "FAKE-CRASH-LOG" in done.stderr
    assert "describe pod/airflow-scheduler-6d5f8-abcde" in done.stderr
    assert "STOPPED at step [9/9]" in done.stderr


def test_preflight_docker_not_running(tmp_path: Path, fake_path: str) -> None:
    done = _make(tmp_path, fake_path, "up", extra={"FAKE_DOCKER_DOWN": "1"})
    assert done.returncode != 0
    problems = [line for line in done.stderr.splitlines() if line.startswith("docker: ")]
    assert len(problems) == 1 and "start Docker Desktop" in problems[0]
    assert not (tmp_path / "sandbox.env").exists()
    assert _events(tmp_path) == []


def test_preflight_busy_port(tmp_path: Path, fake_path: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "kind-config.yaml"
        text = (REPO_ROOT / "sandbox" / "kind-config.yaml").read_text()
        config.write_text(text.replace("hostPort: 8080", f"hostPort: {port}"))
        done = _make(tmp_path, fake_path, "up", extra={"KIND_CONFIG": str(config)})
    assert done.returncode != 0
    problems = [line for line in done.stderr.splitlines() if line.startswith(f"port {port}: ")]
    assert len(problems) == 1 and "in use" in problems[0], done.stderr
    assert not (tmp_path / "sandbox.env").exists()
    assert _events(tmp_path) == []


@pytest.mark.parametrize(
    ("extra", "starts", "fix"),
    [
        ({"FAKE_KIND_VERSION": "v0.17.0"}, "kind: version v0.17.0 is older than 0.20.0", "go install"),
        ({"FAKE_KUBECTL_VERSION": "v1.25.4"}, "kubectl: version v1.25.4 is older than 1.27.0", "brew upgrade"),
        ({"FAKE_MEM_BYTES": str(4 * 1024**3)}, "memory: Docker may use 4.0 GiB", "LOW_RESOURCES=1"),
        ({"NEED_DISK_GIB": "100000000"}, "disk: ", "docker system prune"),
    ],
)
def test_preflight_names_each_problem_and_its_fix(
    tmp_path: Path, fake_path: str, extra: dict[str, str], starts: str, fix: str
) -> None:
    done = _make(tmp_path, fake_path, "preflight", extra=extra)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.startswith(starts)]
    assert len(lines) == 1 and fix in lines[0], done.stderr
    assert _events(tmp_path) == []


AIRFLOW_DEPLOYMENTS = (
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "datasurface-simulator",
)


def test_a_changed_secret_restarts_and_down_keeps_the_data_and_purge_deletes_it(tmp_path: Path, fake_path: str) -> None:
    assert _make(tmp_path, fake_path, "up").returncode == 0
    env_file = tmp_path / "sandbox.env"
    old = _env_values(env_file)["AIRFLOW_ADMIN_PASSWORD"]
    env_file.write_text(
        env_file.read_text().replace(f"AIRFLOW_ADMIN_PASSWORD={old}", "AIRFLOW_ADMIN_PASSWORD=" + "a1" * 16)
    )
    mark = len(_events(tmp_path))
    # The fake kubectl reports the changed Secret as kubectl does: "configured".
    again = _make(tmp_path, fake_path, "up")
    assert again.returncode == 0, again.stderr
    assert sorted(_events(tmp_path)[mark:]) == [f"restart deployment/{d}" for d in sorted(AIRFLOW_DEPLOYMENTS)]

    mark = len(_events(tmp_path))
    down = _make(tmp_path, fake_path, "down")
    assert down.returncode == 0, down.stderr
    assert _events(tmp_path)[mark:] == ["stop datasurface-control-plane"]
    status = _make(tmp_path, fake_path, "status")
    assert status.returncode != 0 and "stopped" in status.stdout
    # Up again: the same cluster starts with its data; nothing is rebuilt or re-run.
    mark = len(_events(tmp_path))
    up = _make(tmp_path, fake_path, "up")
    assert up.returncode == 0, up.stderr
    assert _events(tmp_path)[mark:] == ["start datasurface-control-plane"]

    purge = _make(tmp_path, fake_path, "down", "PURGE=1")
    assert purge.returncode == 0, purge.stderr
    assert _events(tmp_path)[-1] == "delete cluster"
    assert not (tmp_path / "kubeconfig").exists()
    assert (tmp_path / "sandbox.env").exists()
    # After a purge everything is created again.
    mark = len(_events(tmp_path))
    assert _make(tmp_path, fake_path, "up").returncode == 0
    assert {"create cluster", "run job/airflow-db-migrate", "run job/datasurface-ring1"} <= set(
        _events(tmp_path)[mark:]
    )


def test_an_8gb_laptop_without_buildx_and_an_older_env(tmp_path: Path, fake_path: str) -> None:
    """LOW_RESOURCES=1 fits 4 GiB of Docker memory; without buildx the classic builder
    builds; a short JWT key left by an older `make up` is replaced, the rest kept."""
    env_file = tmp_path / "sandbox.env"
    lines = (REPO_ROOT / "sandbox" / ".env.example").read_text().splitlines()
    filled = [
        f"{line}{'ab' * 16}" if line.endswith(("_PASSWORD=", "_SECRET=", "_SECRET_KEY=")) else line for line in lines
    ]
    env_file.write_text("\n".join(filled) + "\n")
    env_file.chmod(0o600)
    laptop = {"FAKE_MEM_BYTES": str(4 * 1024**3), "FAKE_NO_BUILDX": "1"}
    refused = _make(tmp_path, fake_path, "preflight", extra=laptop)
    assert refused.returncode != 0 and "LOW_RESOURCES=1" in refused.stderr
    done = _make(tmp_path, fake_path, "up", extra={**laptop, "LOW_RESOURCES": "1"})
    assert done.returncode == 0, done.stderr
    airflow = (tmp_path / "ring0" / "50-airflow.yaml").read_text()
    assert "value: '3'" in airflow.split("AIRFLOW__CORE__PARALLELISM", 1)[1].split("\n", 2)[1]
    assert "- '0.5'" in (tmp_path / "ring0" / "apps" / "simulator.yaml").read_text()
    note = [line for line in done.stderr.splitlines() if "buildx is missing" in line]
    assert len(note) == 1 and "docker-buildx-plugin" in note[0]
    builds = [e for e in _events(tmp_path) if e.startswith("build ")]
    assert len(builds) == 2 and all(b.endswith("DOCKER_BUILDKIT=0") for b in builds)
    values = _env_values(env_file)
    assert len(bytes.fromhex(values["AIRFLOW_JWT_SECRET"])) == 64
    assert values["AIRFLOW_ADMIN_PASSWORD"] == "ab" * 16  # the rest is kept
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
