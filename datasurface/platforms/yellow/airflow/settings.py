"""The DAG factory's environment contract: every variable it reads, in one place.

The Airflow dag-processor and workers get these from the `datasurface-env` ConfigMap (and the
merge credential from its Secret) in the cluster, or from the local stack's environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from datasurface.errors import DataSurfaceError
from datasurface.platforms.yellow.kube_names import MODELS_MOUNT

#: Comma-separated Yellow platform names: one DAG per config row of each.
PLATFORMS_ENV = "DATASURFACE_PLATFORMS"
#: A full SQLAlchemy URL of the merge database; wins over the parts below (tests, overrides).
FACTORY_DB_URL_ENV = "DATASURFACE_FACTORY_DB_URL"
#: The merge database, by parts: the same variables the example model reads.
MERGE_HOST_ENV = "DATASURFACE_MERGE_HOST"
MERGE_PORT_ENV = "DATASURFACE_MERGE_PORT"
MERGE_DB_ENV = "DATASURFACE_MERGE_DB"
#: Name of the credential for the merge database: its values come from <NAME>_USER/_PASSWORD.
MERGE_CREDENTIAL_ENV = "DATASURFACE_MERGE_CREDENTIAL"
#: Seconds to wait for the merge database before falling back to the cached rows.
DB_TIMEOUT_ENV = "DATASURFACE_FACTORY_DB_TIMEOUT"
#: Where the last good rows per platform are kept (default $AIRFLOW_HOME/datasurface_cache).
CACHE_DIR_ENV = "DATASURFACE_DAG_CACHE_DIR"

#: "0" builds pack DAGs without their merge database's Airflow pool (see `pools`).
PACK_POOLS_ENV = "DATASURFACE_PACK_POOLS"

#: "0" turns the infrastructure DAG off (default on, when a model repo is set).
INFRA_ENV = "DATASURFACE_INFRA"
MODEL_REPO_ENV = "DATASURFACE_MODEL_REPO"
MODEL_BRANCH_ENV = "DATASURFACE_MODEL_BRANCH"
MODELS_DIR_ENV = "DATASURFACE_MODELS_DIR"
#: Cron for the infrastructure DAG; "none" (or empty) for on demand only.
INFRA_SCHEDULE_ENV = "DATASURFACE_INFRA_SCHEDULE"
#: Credential names the infrastructure tasks need (comma-separated; default: the merge one).
INFRA_CREDENTIALS_ENV = "DATASURFACE_INFRA_CREDENTIALS"
#: How the infrastructure tasks run, and where (the stream DAGs take these from their rows).
LAUNCHER_ENV = "DATASURFACE_LAUNCHER"
JOB_IMAGE_ENV = "DATASURFACE_JOB_IMAGE"
NAMESPACE_ENV = "DATASURFACE_NAMESPACE"

DEFAULT_MERGE_CREDENTIAL = "postgres"
DEFAULT_INFRA_SCHEDULE = "*/5 * * * *"
DEFAULT_JOB_IMAGE = "datasurface/datasurface:latest"
DEFAULT_NAMESPACE = "datasurface"


class MergeDatabase(NamedTuple):
    """Where the factory reads its config rows (parts, never a URL string with a password)."""

    host: str
    port: int
    database: str
    username: str
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> MergeDatabase:
        """From a URL as SQLAlchemy or libpq spell it (postgresql[+driver]://user:pw@host:port/db).
        Parsed here, not by SQLAlchemy: the dag-processor parses this file every few seconds
        and SQLAlchemy's import alone is 0.15 s of each parse."""
        parts = urlsplit(url)
        if not parts.scheme.startswith("postgresql") or not parts.hostname:
            raise SettingsError(f"{FACTORY_DB_URL_ENV} must be a postgresql://user@host:port/database URL")
        return cls(
            host=parts.hostname,
            port=parts.port or 5432,
            database=unquote(parts.path.lstrip("/")) or "postgres",
            username=unquote(parts.username or ""),
            password=unquote(parts.password) if parts.password is not None else None,
        )


class SettingsError(DataSurfaceError, ValueError):
    """The environment can't describe a merge database (the factory then uses its cache)."""


@dataclass(frozen=True, slots=True)
class InfraSettings:
    repo: str
    branch: str
    models_dir: str
    schedule: str | None
    launcher: str
    image: str
    namespace: str
    credentials: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FactorySettings:
    platforms: tuple[str, ...]
    cache_dir: Path
    db_timeout_s: float
    infra: InfraSettings | None
    env: Mapping[str, str]

    @staticmethod
    def from_env(env: Mapping[str, str] | None = None) -> FactorySettings:
        env = dict(os.environ if env is None else env)
        platforms = tuple(p.strip() for p in env.get(PLATFORMS_ENV, "").split(",") if p.strip())
        airflow_home = env.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
        cache_dir = Path(env.get(CACHE_DIR_ENV) or Path(airflow_home) / "datasurface_cache")
        return FactorySettings(
            platforms=platforms,
            cache_dir=cache_dir,
            db_timeout_s=float(env.get(DB_TIMEOUT_ENV) or 5),
            infra=_infra(env),
            env=env,
        )

    def merge_db_url(self) -> MergeDatabase:
        """The merge database; raises SettingsError naming what is missing."""
        if self.env.get(FACTORY_DB_URL_ENV):
            return MergeDatabase.from_url(self.env[FACTORY_DB_URL_ENV])
        credential = self.env.get(MERGE_CREDENTIAL_ENV) or DEFAULT_MERGE_CREDENTIAL
        user_var, password_var = f"{credential.upper()}_USER", f"{credential.upper()}_PASSWORD"
        host = self.env.get(MERGE_HOST_ENV)
        if not host:
            raise SettingsError(f"set {MERGE_HOST_ENV} (or {FACTORY_DB_URL_ENV}) to the merge database")
        if not self.env.get(user_var):
            raise SettingsError(f"credential '{credential}': set {user_var} and {password_var}")
        return MergeDatabase(
            username=self.env[user_var],
            password=self.env.get(password_var) or None,
            host=host,
            port=int(self.env.get(MERGE_PORT_ENV) or 5432),
            database=self.env.get(MERGE_DB_ENV) or "datasurface_merge",
        )


def _infra(env: Mapping[str, str]) -> InfraSettings | None:
    repo = env.get(MODEL_REPO_ENV, "")
    if env.get(INFRA_ENV, "1") == "0" or not repo:
        return None
    schedule = env.get(INFRA_SCHEDULE_ENV, DEFAULT_INFRA_SCHEDULE).strip()
    credentials = env.get(INFRA_CREDENTIALS_ENV) or env.get(MERGE_CREDENTIAL_ENV) or DEFAULT_MERGE_CREDENTIAL
    return InfraSettings(
        repo=repo,
        branch=env.get(MODEL_BRANCH_ENV) or "main",
        models_dir=env.get(MODELS_DIR_ENV) or MODELS_MOUNT,
        schedule=None if schedule.lower() in ("", "none") else schedule,
        launcher=env.get(LAUNCHER_ENV) or "kubernetes",
        image=env.get(JOB_IMAGE_ENV) or DEFAULT_JOB_IMAGE,
        namespace=env.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE,
        credentials=tuple(c.strip() for c in credentials.split(",") if c.strip()),
    )
