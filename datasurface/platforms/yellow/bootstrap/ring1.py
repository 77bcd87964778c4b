"""Ring 1: the merge database, its metadata and config tables, then the first merge handler.

Runs in the cluster as a Job (credentials from Secrets) or locally against any Postgres
(credentials from the environment). Every step is idempotent: databases and tables are
created only if missing, and the merge handler re-syncs an already deployed commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from datasurface.model.ecosystem import Ecosystem
from datasurface.platforms.yellow.batch_metadata import create_batch_tables
from datasurface.platforms.yellow.connections import ConnectionFailedError, CredentialError, engine_for
from datasurface.platforms.yellow.naming import quote_ident
from datasurface.platforms.yellow.platform import YellowDataPlatform
from datasurface.platforms.yellow.stream_config import create_config_table

from .seed_repo import sync_seed_repo
from .settings import BootstrapError, yellow_platforms

Progress = Callable[[str], None]
#: Serialises concurrent ring-1 runs on one merge database (CREATE TABLE IF NOT EXISTS can
#: still race on the catalog). An arbitrary constant; the job advisory locks use other keys.
_RING1_LOCK_KEY = 0x64735F72696E6731  # "ds_ring1"
_DUPLICATE_DATABASE = "42P04"


@dataclass(slots=True)
class MergeHandlerRun:
    repo: str
    branch: str
    models_dir: str
    result: dict[str, Any] | None = None
    skipped: str | None = None


@dataclass(slots=True)
class Ring1Result:
    databases_created: list[str] = field(default_factory=list)
    databases_existing: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    merge_handler: MergeHandlerRun | None = None
    ok: bool = True

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _admin_engine(platform: YellowDataPlatform, env: Mapping[str, str] | None) -> Engine:
    # The server's maintenance database: CREATE DATABASE can't run inside the target database.
    maintenance = dataclasses.replace(platform.merge_database, database="postgres")
    return engine_for(
        maintenance,
        platform.merge_credential,
        env,
        role=f"Platform '{platform.name}' / merge database",
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )


def ensure_database(platform: YellowDataPlatform, env: Mapping[str, str] | None = None) -> bool:
    """Create the platform's merge database if missing; True if it was created."""
    name = platform.merge_database.database
    engine = _admin_engine(platform, env)
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": name}).first()
            if exists:
                return False
            try:
                conn.execute(text(f"CREATE DATABASE {quote_ident(name)}"))
            except DBAPIError as exc:
                # Another ring 1 created it between our check and our CREATE: that's fine.
                if getattr(exc.orig, "sqlstate", None) == _DUPLICATE_DATABASE:
                    return False
                raise
            return True
    finally:
        engine.dispose()


def ensure_tables(platform: YellowDataPlatform, env: Mapping[str, str] | None = None) -> None:
    """The platform's batch-metadata and DAG-config tables, in one transaction."""
    engine = engine_for(
        platform.merge_database,
        platform.merge_credential,
        env,
        role=f"Platform '{platform.name}' / merge database",
        poolclass=NullPool,
    )
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _RING1_LOCK_KEY})
            create_batch_tables(conn, platform.name)
            create_config_table(conn, platform.name)
    finally:
        engine.dispose()


def run_ring1(
    eco: Ecosystem,
    platform_names: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    *,
    repo: str | None = None,
    branch: str = "main",
    models_dir: str | None = None,
    seed_from: Path | None = None,
    progress: Progress | None = None,
) -> Ring1Result:
    """Databases and tables for every selected Yellow platform, then (given a repo and a models
    folder) the first merge handler run. Raises BootstrapError naming the platform on failure."""
    say = progress or (lambda _line: None)
    result = Ring1Result()
    platforms = yellow_platforms(eco, platform_names)
    seen: set[tuple[str, int, str]] = set()
    for platform in platforms:
        db = platform.merge_database
        where = (
            f"Platform '{platform.name}' / merge database '{db.name}' ({db.host}:{db.effective_port()}/{db.database})"
        )
        try:
            key = (db.host, db.effective_port(), db.database)
            if key not in seen:
                seen.add(key)
                created = ensure_database(platform, env)
                (result.databases_created if created else result.databases_existing).append(db.database)
                say(f"{where}: {'created' if created else 'exists'}")
            ensure_tables(platform, env)
            say(f"Platform '{platform.name}': batch metadata and DAG config tables ready")
        except CredentialError as exc:
            raise BootstrapError(f"Platform '{platform.name}': {exc}") from None
        except (SQLAlchemyError, ConnectionFailedError) as exc:
            raise BootstrapError(f"{where}: {str(exc).splitlines()[0]}") from None
        result.platforms.append(platform.name)
    if repo and models_dir:
        result.merge_handler = _merge_handler(repo, branch, models_dir, seed_from, env, say)
        result.ok = result.merge_handler.skipped is None and bool(
            result.merge_handler.result and result.merge_handler.result.get("ok", True)
        )
    else:
        say("merge handler not run: give --repo and --models-dir (or DATASURFACE_MODEL_REPO) to deploy the model")
    return result


def _merge_handler(
    repo: str, branch: str, models_dir: str, seed_from: Path | None, env: Mapping[str, str] | None, say: Progress
) -> MergeHandlerRun:
    # Imported here: the merge handler pulls in lint, views and git, which ring 0 and the
    # table steps don't need.
    from datasurface.platforms.yellow.merge_handler import MergeHandlerError, run_merge_handler

    run = MergeHandlerRun(repo, branch, models_dir)
    if seed_from is not None:
        commit = sync_seed_repo(seed_from, Path(repo), branch)
        say(f"model repository {repo} branch {branch} at {commit[:12]} (from {seed_from})")
    try:
        outcome = run_merge_handler(repo, branch, models_dir, env=env, progress=say)
    except MergeHandlerError as exc:
        raise BootstrapError(f"merge handler: {exc}") from None
    run.result = {**outcome.to_json(), "ok": outcome.ok}
    return run
