"""The merge handler: deploy the model at the head of a branch.

    clone (hidden folder) -> same commit as the newest folder? reuse it
                          -> compile eco.py once in a confined child into model.json (with
                             its content hash), load that, lint: refused if it doesn't compile
                             or lint (folder removed, nothing in any database touched, the
                             previous folder stays newest)
                          -> publish as model-{utc_seconds:010d} (atomic rename)
    per Yellow platform   -> DAG config rows (streams and transformers) synced in one
                             transaction, then views reconciled
    finally               -> prune old model folders (keep N, never the newest)

A view whose merge table doesn't exist yet is reported as pending, not an error: the
stream's first batch creates the table and the next reconcile creates the view.

Reusing the newest folder when the commit is unchanged keeps a scheduled handler from
churning folders, and makes a failed database sync retry on the next run with the same model.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from datasurface.errors import DataSurfaceError
from datasurface.model.credential import Credential, CredentialType
from datasurface.model.lint import lint_ecosystem
from datasurface.model.loader import MANIFEST_FILE, LoadedModel, ModelLoadError, load_model
from datasurface.model.problems import Problem, Severity

from ..connections import ConnectionFailedError, CredentialError, engine_for
from ..platform import YellowDataPlatform
from ..stream_config import build_stream_configs, sync_config_rows
from ..transformer_config import DagConfig, build_transformer_configs
from ..view_reconcile import ViewOutcome, reconcile_views
from ..views import plan_sink_views
from .git_clone import GitError, clone_branch, head_commit, is_remote_url
from .model_folders import incoming_folder, model_folders, prune, publish, remove_stale_incoming

__all__ = [
    "MergeHandlerError",
    "MergeHandlerResult",
    "ModelRefused",
    "PlatformSync",
    "run_merge_handler",
]

Clock = Callable[[], dt.datetime]
Progress = Callable[[str], None]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MergeHandlerError(DataSurfaceError):
    """The handler could not deploy; nothing in any database was changed."""


class ModelRefused(MergeHandlerError):
    """The model doesn't load or doesn't lint; `problems` holds the lint errors (if it loaded)."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass(slots=True)
class PlatformSync:
    platform: str
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    views: list[ViewOutcome] = field(default_factory=list)
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "config_rows": {"inserted": self.inserted, "updated": self.updated, "deleted": self.deleted},
            "views_created": [v.spec.qualified for v in self.views if v.status in ("created", "recreated")],
            "views_updated": [v.spec.qualified for v in self.views if v.status == "updated"],
            "views_unchanged": [v.spec.qualified for v in self.views if v.status == "unchanged"],
            "views_pending": [
                {"view": v.spec.qualified, "reason": v.reason} for v in self.views if v.status == "pending"
            ],
            "views_failed": [
                {"view": v.spec.qualified, "reason": v.reason} for v in self.views if v.status == "failed"
            ],
            "error": self.error,
        }


@dataclass(slots=True)
class MergeHandlerResult:
    model_folder: Path
    commit: str
    new_folder: bool
    platforms: list[PlatformSync]
    pruned: list[Path]
    #: The content hash of the deployed compiled model (`model.json`): what jobs and DAGs run.
    model_hash: str = ""

    @property
    def ok(self) -> bool:
        """False when a platform's database could not be synced or a view failed (pending is fine)."""
        return all(not p.error and all(v.status != "failed" for v in p.views) for p in self.platforms)

    def to_json(self) -> dict[str, Any]:
        return {
            "model_folder": str(self.model_folder),
            "commit": self.commit,
            "new_folder": self.new_folder,
            "platforms": [p.to_json() for p in self.platforms],
            "pruned": [str(p) for p in self.pruned],
            "model_hash": self.model_hash,
            "ok": self.ok,
        }


def run_merge_handler(
    repo: str,
    branch: str,
    models_dir: str | Path,
    keep: int = 5,
    env: Mapping[str, str] | None = None,
    clock: Clock = utc_now,
    *,
    git_credential: str | None = None,
    progress: Progress | None = None,
) -> MergeHandlerResult:
    """Deploy the head of `branch` of `repo` into `models_dir` (see the module docstring).

    `git_credential` names the TOKEN credential for an https repository; by default it is the
    `git_credential` of the Yellow platforms of the newest deployed model (the new model can't
    say how to fetch itself). `env` supplies credentials (default: the process environment).
    Raises `ModelRefused` or `MergeHandlerError`; database problems of one platform are
    recorded in its `PlatformSync.error` and the other platforms still sync.
    """
    say = progress or (lambda _line: None)
    source = os.environ if env is None else env
    base = Path(models_dir)
    base.mkdir(parents=True, exist_ok=True)
    remove_stale_incoming(base)
    token = _token(repo, base, git_credential, source)
    incoming = incoming_folder(base)
    say(f"cloning {repo} branch {branch}")
    try:
        commit = clone_branch(repo, branch, incoming, token=token, env=source)
        folders = model_folders(base)
        if folders and commit and head_commit(folders[-1]) == commit:
            say(f"commit {commit[:12]} is already deployed as {folders[-1].name}; re-syncing it")
            shutil.rmtree(incoming, ignore_errors=True)
            folder, new_folder = folders[-1], False
            model = _load_and_lint(folder, say, source)
        else:
            model = _load_and_lint(incoming, say, source)
            folder, new_folder = publish(incoming, base, int(clock().timestamp())), True
            say(f"published commit {commit[:12] or '?'} as {folder}")
    except GitError as exc:
        raise MergeHandlerError(str(exc)) from None
    finally:
        if incoming.exists():
            shutil.rmtree(incoming, ignore_errors=True)
    platforms = [p for p in model.ecosystem.platforms if isinstance(p, YellowDataPlatform)]
    synced = [_sync_platform(model, p, base, source, clock, say) for p in platforms]
    removed = prune(base, keep)
    for old in removed:
        say(f"pruned {old.name}")
    return MergeHandlerResult(folder, commit, new_folder, synced, removed, model.model_hash or "")


def _token(repo: str, base: Path, explicit: str | None, env: Mapping[str, str]) -> str | None:
    if not is_remote_url(repo):
        return None
    name = explicit or _deployed_git_credential(base)
    if name is None:
        return None  # a public repository
    (var,) = Credential(name, CredentialType.TOKEN).env_names()
    token = env.get(var)
    if not token:
        raise MergeHandlerError(f"Credential '{name}': environment variable {var} is not set (the git token)")
    return token


def _deployed_git_credential(base: Path) -> str | None:
    folders = model_folders(base)
    if not folders:
        return None
    try:
        model = load_model(folders[-1])
    except ModelLoadError:
        return None
    names = {
        p.git_credential.name
        for p in model.ecosystem.platforms
        if isinstance(p, YellowDataPlatform) and p.git_credential is not None
    }
    if len(names) > 1:
        raise MergeHandlerError(
            f"the deployed model's Yellow platforms use different git credentials ({', '.join(sorted(names))}); "
            "choose one with --git-credential"
        )
    return names.pop() if names else None


def _compile(folder: Path, env: Mapping[str, str], say: Progress) -> None:
    """Run the folder's eco.py once, confined, and write the compiled model.json into it.

    Always recompiled, never trusted from the clone: a `model.json` committed to the
    repository (check-change refuses one) is overwritten. `DATASURFACE_*` configuration
    variables reach eco.py (host names and the like); credential-like names never do."""
    from datasurface.commands.isolated_load import compile_isolated
    from datasurface.model.manifest.document import write_manifest

    config = {k: v for k, v in env.items() if k.startswith("DATASURFACE_")}
    outcome = compile_isolated(folder, env=config)
    if outcome.document is None:
        problems = [Problem(Severity.ERROR, p.path, p.message, "", p.rule) for p in outcome.problems]
        detail = outcome.error or f"{len(problems)} attribute(s) have the wrong type or range"
        raise ModelRefused(f"the model does not compile: {detail}", problems)
    write_manifest(folder / MANIFEST_FILE, outcome.document)
    say(f"compiled {folder.name}/{MANIFEST_FILE} sha256 {outcome.document['sha256']} ({outcome.confinement.value})")


def _load_and_lint(folder: Path, say: Progress, env: Mapping[str, str] | None = None) -> LoadedModel:
    _compile(folder, os.environ if env is None else env, say)
    try:
        model = load_model(folder)
    except ModelLoadError as exc:
        raise ModelRefused(f"the model does not load: {exc}") from None
    problems = lint_ecosystem(model.ecosystem, model.assignments)
    if problems.has_errors():
        raise ModelRefused(
            f"the model does not lint ({len(problems.errors)} error(s)); it was not deployed and the "
            "previous model keeps running",
            problems.errors,
        )
    say(f"model '{model.ecosystem.name}' lints clean ({len(problems.warnings)} warning(s))")
    return model


def _sync_platform(
    model: LoadedModel, platform: YellowDataPlatform, base: Path, env: Mapping[str, str], clock: Clock, say: Progress
) -> PlatformSync:
    result = PlatformSync(platform.name)
    configs: list[DagConfig] = [
        *build_stream_configs(
            model.ecosystem, model.assignments, platform, models_dir=str(base), model_hash=model.model_hash
        ),
        *build_transformer_configs(model.ecosystem, model.assignments, platform, models_dir=str(base)),
    ]
    specs = [s for sink in plan_sink_views(model.ecosystem, model.assignments, platform) for s in sink.specs()]
    try:
        engine = engine_for(platform.merge_database, platform.merge_credential, env)
        try:
            with engine.begin() as conn:
                result.inserted, result.updated, result.deleted = sync_config_rows(
                    conn, platform.name, configs, clock()
                )
            say(
                f"Platform '{platform.name}': {len(configs)} DAG config row(s): inserted {result.inserted}, "
                f"updated {result.updated}, deleted {result.deleted}"
            )
            result.views = reconcile_views(engine, platform.name, specs)
        finally:
            engine.dispose()
    except CredentialError as exc:
        result.error = f"Platform '{platform.name}': {exc}"
    except (SQLAlchemyError, ConnectionFailedError) as exc:
        result.error = (
            f"Platform '{platform.name}' / merge database '{platform.merge_database.name}': "
            f"{str(exc).splitlines()[0]} (the next run retries)"
        )
    if result.error:
        say(result.error)
    for view in result.views:
        say(
            f"Platform '{platform.name}': view {view.spec.qualified} {view.status}"
            + (f": {view.reason}" if view.reason else "")
        )
    return result
