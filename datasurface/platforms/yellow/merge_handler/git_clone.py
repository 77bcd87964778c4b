"""Clone one branch of the model repository without ever exposing the access token.

The token (from `<NAME>_TOKEN` of the platform's git credential) reaches git only through
the environment of the git process and a GIT_ASKPASS helper script:

- never in argv (visible to `ps`): the URL is passed as given, without user info;
- never in the clone's `.git/config`: the remote URL stored is the token-free one, and
  `credential.helper` is reset for the command so no helper (e.g. `store`) can save it;
- never in logs or errors: git's output is scrubbed of the token before it is shown;
- the helper script holds no secret itself: it prints an environment variable that only the
  git process (and its children) carry. It lives in a private 0700 directory and is removed
  after the clone.

A local path or `file://` URL (the sandbox) needs no token and gets none.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from datasurface.errors import DataSurfaceError

__all__ = ["GitError", "clone_branch", "head_commit", "is_remote_url", "scrub"]

TOKEN_ENV = "DATASURFACE_GIT_ASKPASS_TOKEN"
USER_ENV = "DATASURFACE_GIT_ASKPASS_USER"
#: GitHub (and most forges) accept any user name with a token as the password.
DEFAULT_TOKEN_USER = "x-access-token"

_ASKPASS = f"""#!/bin/sh
# DataSurface GIT_ASKPASS helper: answers git's prompts from the environment. Holds no secret.
case "$1" in
  [Uu]sername*) printf '%s\\n' "${{{USER_ENV}:-{DEFAULT_TOKEN_USER}}}" ;;
  *) printf '%s\\n' "${{{TOKEN_ENV}}}" ;;
esac
"""


class GitError(DataSurfaceError):
    """Cloning failed; the message is scrubbed of the token and says what to check."""


def is_remote_url(repo: str) -> bool:
    return "://" in repo and not repo.startswith("file://")


def scrub(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


def _check_url(repo: str, token: str | None) -> None:
    if not is_remote_url(repo):
        return
    parts = urlsplit(repo)
    if parts.username or parts.password:
        raise GitError(
            f"repository URL {parts.scheme}://***@{parts.hostname}{parts.path} carries credentials; "
            "remove them from the URL and put the token in the git credential's <NAME>_TOKEN variable"
        )
    if token and parts.scheme != "https":
        raise GitError(
            f"refusing to send the git token over {parts.scheme}:// to {parts.hostname}; use an https:// URL"
        )


def git_command(repo: str, branch: str, dest: Path) -> list[str]:
    """The clone's argv: no token, ever (the tests assert it)."""
    cmd = ["git", "-c", "credential.helper=", "clone", "--quiet", "--single-branch", "--no-tags", "--branch", branch]
    if is_remote_url(repo) or repo.startswith("file://"):
        cmd += ["--depth", "1"]  # ignored (with a warning) for plain local paths
    return [*cmd, "--", repo, str(dest)]


def clone_branch(
    repo: str, branch: str, dest: Path, *, token: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    """Clone `branch` of `repo` into `dest` (which must not exist); return the commit id."""
    _check_url(repo, token)
    if not is_remote_url(repo) and not repo.startswith("file://"):
        local = Path(repo).expanduser()
        if not local.exists():
            raise GitError(f"repository {repo}: no such local path (give a git repository path or an https URL)")
        repo = str(local.resolve())
    run_env = {**(os.environ if env is None else env), "GIT_TERMINAL_PROMPT": "0"}
    helper_dir: str | None = None
    try:
        if token and is_remote_url(repo):
            helper_dir = tempfile.mkdtemp(prefix="datasurface-askpass-")  # mode 0700
            helper = Path(helper_dir) / "askpass.sh"
            helper.write_text(_ASKPASS, encoding="utf-8")
            helper.chmod(stat.S_IRWXU)
            run_env.update({"GIT_ASKPASS": str(helper), TOKEN_ENV: token})
        done = subprocess.run(
            git_command(repo, branch, dest), capture_output=True, text=True, env=run_env, check=False, timeout=600
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"repository {repo} branch {branch}: git could not run: {scrub(str(exc), token)}") from None
    finally:
        if helper_dir is not None:
            shutil.rmtree(helper_dir, ignore_errors=True)
    if done.returncode != 0:
        detail = scrub((done.stderr or done.stdout).strip(), token).splitlines()
        raise GitError(
            f"repository {repo} branch {branch}: git clone failed: {' / '.join(detail[-3:]) or 'no output'} "
            "(check the URL, the branch and the token's read access)"
        )
    return head_commit(dest)


def head_commit(folder: Path) -> str:
    """The commit checked out in `folder`, or '' if it is not a git clone."""
    if not (folder / ".git").exists():
        return ""
    done = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, check=False, timeout=60
    )
    return done.stdout.strip() if done.returncode == 0 else ""
