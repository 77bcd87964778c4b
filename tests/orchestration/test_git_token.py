"""The git token reaches git only through GIT_ASKPASS and the environment: never argv, the
clone's .git/config, progress output or error messages.

There is no network: `https://git.example.invalid/...` is rewritten (git's `insteadOf`, set
through GIT_CONFIG_* variables) to a local smart-HTTP server that demands the token."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datasurface.platforms.yellow.merge_handler import MergeHandlerError, run_merge_handler
from datasurface.platforms.yellow.merge_handler.git_clone import DEFAULT_TOKEN_USER, clone_branch
from tests.job.harness import Stack
from tests.orchestration.git_http import git_http_server
from tests.orchestration.model_repo import commit, init_repo

TOKEN = "ghp_T0KEN-never-shown-1234567890"
URL = "https://git.example.invalid/eco.git"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    """The example model in a bare repository behind the token-checking server, and the env
    that sends `URL` there."""
    work = init_repo(tmp_path / "work")
    bare = tmp_path / "served"
    bare.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare / "eco.git")], check=True)
    with git_http_server(bare, DEFAULT_TOKEN_USER, TOKEN) as server:
        port = server.server_address[1]
        env = {
            **os.environ,
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.http://127.0.0.1:{port}/eco.git.insteadOf",
            "GIT_CONFIG_VALUE_0": URL,
        }
        yield server, env


def _record_argv(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    real = subprocess.run

    def spy(cmd: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append([str(c) for c in cmd])
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    return calls


def test_token_is_used_but_never_stored_or_shown(
    stack: Stack, served: tuple[Any, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, env = served
    env = {**env, "MODEL_REPO_TOKEN": TOKEN}
    models = tmp_path / "models"
    lines: list[str] = []
    argv = _record_argv(monkeypatch)
    result = run_merge_handler(URL, "main", models, env=env, git_credential="model_repo", progress=lines.append)

    assert server.expected_auth in server.seen_auth  # the token did reach the server, via askpass
    assert "" in server.seen_auth  # ... only after the server asked for it
    git_config = (result.model_folder / ".git" / "config").read_text()
    assert URL in git_config and TOKEN not in git_config
    assert all(TOKEN not in " ".join(cmd) for cmd in argv)
    assert any(cmd[:2] == ["git", "-c"] and "credential.helper=" in cmd for cmd in argv)
    assert TOKEN not in "\n".join(lines) and TOKEN not in str(result.to_json())
    assert not list(Path(tempfile.gettempdir()).glob("datasurface-askpass-*"))  # helper removed


def test_wrong_token_fails_without_showing_it(served: tuple[Any, dict[str, str]], tmp_path: Path) -> None:
    _, env = served
    wrong = "ghp_wrong-token-also-secret"
    with pytest.raises(Exception) as caught:
        clone_branch(URL, "main", tmp_path / "clone", token=wrong, env=env)
    assert "git clone failed" in str(caught.value) and wrong not in str(caught.value)
    assert (
        not (tmp_path / "clone" / ".git" / "config").exists()
        or wrong not in (tmp_path / "clone" / ".git" / "config").read_text()
    )


def test_missing_token_variable_names_the_credential(tmp_path: Path) -> None:
    with pytest.raises(MergeHandlerError, match="MODEL_REPO_TOKEN is not set"):
        run_merge_handler(
            URL, "main", tmp_path / "models", env={"PATH": os.environ["PATH"]}, git_credential="model_repo"
        )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"https://x-access-token:{TOKEN}@git.example.invalid/eco.git", "carries credentials"),
        ("http://git.example.invalid/eco.git", "refusing to send the git token over http://"),
    ],
)
def test_unsafe_urls_are_refused(url: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(MergeHandlerError) as caught:
        run_merge_handler(
            url, "main", tmp_path / "models", env={"MODEL_REPO_TOKEN": TOKEN}, git_credential="model_repo"
        )
    assert message in str(caught.value) and TOKEN not in str(caught.value)
    assert not list((tmp_path / "models").glob("model-*"))


def test_cli_output_never_shows_the_token(stack: Stack, served: tuple[Any, dict[str, str]], tmp_path: Path) -> None:
    _, env = served
    done = stack.cli(
        "merge-handler", "--repo", URL, "--branch", "main", "--models-dir", str(tmp_path / "models"),
        "--git-credential", "model_repo", "--json",
        extra_env={k: v for k, v in env.items() if k.startswith("GIT_CONFIG")} | {"MODEL_REPO_TOKEN": TOKEN},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout and TOKEN not in done.stderr
    # A later run finds the credential name in the deployed model? The example model has no
    # git_credential, so without --git-credential the clone is anonymous and the server refuses.
    anonymous = stack.cli(
        "merge-handler", "--repo", URL, "--branch", "main", "--models-dir", str(tmp_path / "models"),
        extra_env={k: v for k, v in env.items() if k.startswith("GIT_CONFIG")} | {"MODEL_REPO_TOKEN": TOKEN},
    )  # fmt: skip
    assert anonymous.returncode == 1 and "git clone failed" in anonymous.stderr
    assert TOKEN not in anonymous.stderr + anonymous.stdout


def test_git_credential_defaults_to_the_deployed_models(
    stack: Stack, served: tuple[Any, dict[str, str]], tmp_path: Path
) -> None:
    """The new model can't say how to fetch itself: the deployed model's platforms do."""
    server, env = served
    work = tmp_path / "work"
    eco = work / "eco.py"
    eco.write_text(
        eco.read_text()
        .replace("    Credential,\n", "    Credential,\n    CredentialType,\n", 1)
        .replace(
            'merge_credential=Credential("postgres"),',
            'merge_credential=Credential("postgres"),\n            git_credential=Credential("model_repo", CredentialType.TOKEN),',
        )
    )
    commit(work, "git credential")
    subprocess.run(["git", "-C", str(work), "push", "-q", str(tmp_path / "served" / "eco.git"), "main"], check=True)
    env = {**env, "MODEL_REPO_TOKEN": TOKEN}
    models = tmp_path / "models"
    first = run_merge_handler(URL, "main", models, env=env, git_credential="model_repo")
    server.seen_auth.clear()
    again = run_merge_handler(URL, "main", models, env=env)  # no explicit credential
    assert server.expected_auth in server.seen_auth and again.model_folder == first.model_folder
