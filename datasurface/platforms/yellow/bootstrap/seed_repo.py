"""Keep a local git repository in step with a model folder (the kind sandbox's model repo).

In the sandbox the model comes from `sandbox/model` on the developer's machine, shipped into
the cluster as a ConfigMap. The merge handler deploys from git, so ring 1 commits the
ConfigMap's files into a repository on the models volume; the infrastructure DAG then
redeploys from that repository. A commit is made only when the files changed, so re-running
ring 1 is a no-op for the merge handler (same commit -> it re-syncs the deployed folder).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .settings import BootstrapError

_AUTHOR = ["-c", "user.name=datasurface-bootstrap", "-c", "user.email=bootstrap@datasurface.invalid"]


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *_AUTHOR, "-C", str(repo), *args], capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BootstrapError(f"model repository {repo}: git {args[0]} failed: {' / '.join(detail[-2:])}")
    return done.stdout


def _files(source: Path) -> set[Path]:
    """Relative paths of the files under `source`, following symlinks (a ConfigMap mount is
    symlinks into a hidden `..data` folder) and skipping hidden entries and caches."""
    found: set[Path] = set()
    for folder, dirs, files in os.walk(source, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        for name in files:
            if not name.startswith("."):
                found.add((Path(folder) / name).relative_to(source))
    return found


def sync_seed_repo(source: Path, repo: Path, branch: str) -> str:
    """Make `branch` of the git repo at `repo` hold exactly `source`'s files.

    Returns the head commit. Creates the repository on first use.
    """
    if shutil.which("git") is None:
        raise BootstrapError("git is not installed: the merge handler and the model repository need it")
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        _git(repo, "init", "--quiet", "--initial-branch", branch)
    else:
        _git(repo, "checkout", "--quiet", "-B", branch)
    wanted = _files(source)
    for old in repo.iterdir():
        if old.name != ".git":
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    for rel in sorted(wanted):
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        # read/write, not copy2: ConfigMap files are symlinks into a `..data` folder.
        target.write_bytes((source / rel).read_bytes())
    _git(repo, "add", "--all")
    if _git(repo, "status", "--porcelain").strip():
        _git(repo, "commit", "--quiet", "-m", f"Model from {source}")
    return _git(repo, "rev-parse", "HEAD").strip()
