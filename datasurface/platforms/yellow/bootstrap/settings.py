"""What ring 0 needs to know, read from the model once: namespace, images, credentials,
databases. Everything else in the bootstrap package is a pure function of these settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from datasurface.errors import DataSurfaceError
from datasurface.model.containers import PostgresDatabase, SQLDatabase
from datasurface.model.credential import Credential
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.ingestion import SQLSnapshotIngestion
from datasurface.platforms.yellow.kube_names import MODELS_MOUNT, POSTGRES_SERVICE, service_dns_name
from datasurface.platforms.yellow.platform import YellowDataPlatform

#: Airflow runs from an image built FROM apache/airflow with the datasurface wheel added
#: (sandbox/Dockerfile.airflow); `make up` builds and loads it under this name.
DEFAULT_AIRFLOW_IMAGE = "datasurface/airflow:sandbox"
#: PostgreSQL 17: MERGE ... WHEN NOT MATCHED BY SOURCE exists, and the image's PGDATA layout
#: is the long-standing one (18 moved it).
DEFAULT_POSTGRES_IMAGE = "postgres:17"
#: One node in the kind cluster, so every pod mounts the models volume from the same node:
#: ReadWriteOnce (what kind's local-path provisioner offers) is enough. Multi-node clusters
#: need ReadWriteMany storage (NFS, EFS, Azure Files) and `--models-access-mode ReadWriteMany`.
DEFAULT_MODELS_ACCESS_MODE = "ReadWriteOnce"

#: The sandbox's model repository, on the models volume (hidden: not a model-<seconds>
#: folder); ring 1 commits the model-source ConfigMap into it, the merge handler deploys it.
MODEL_REPO = f"{MODELS_MOUNT}/.model-repo"
MODEL_BRANCH = "main"

_DB_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_MODEL_SUFFIXES = (".py", ".json", ".md", ".txt", ".yaml", ".yml")
_SECRET_SUFFIXES = ("_PASSWORD", "_TOKEN", "_SECRET", "_KEY")


class BootstrapError(DataSurfaceError):
    """The model can't be bootstrapped as asked; the message names the object and the fix."""


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    namespace: str
    job_image: str
    platforms: tuple[YellowDataPlatform, ...]
    credentials: tuple[Credential, ...]
    #: Databases on the sandbox Postgres that Postgres creates at first start (sources);
    #: merge databases are ring 1's job, so they are not listed here.
    source_databases: tuple[str, ...]
    #: Non-secret settings for the ENV_CONFIGMAP (DATASURFACE_* variables).
    config_env: dict[str, str]
    #: Files of the model folder shipped in a ConfigMap for the in-cluster Jobs.
    model_files: dict[str, str] = field(default_factory=dict)
    airflow_image: str = DEFAULT_AIRFLOW_IMAGE
    postgres_image: str = DEFAULT_POSTGRES_IMAGE
    models_access_mode: str = DEFAULT_MODELS_ACCESS_MODE
    simulator_rate: float = 2.0
    #: Where model_files were read from: named in errors about them.
    model_dir: str = ""
    #: Resource profile (sizing.PROFILES): `standard`, or `low` for an 8 GB laptop.
    resource_profile: str = "standard"

    @property
    def postgres_host(self) -> str:
        return service_dns_name(POSTGRES_SERVICE, self.namespace)

    @property
    def merge_credential(self) -> Credential:
        """The Postgres superuser: the first platform's merge credential."""
        return self.platforms[0].merge_credential


def yellow_platforms(eco: Ecosystem, names: Sequence[str]) -> tuple[YellowDataPlatform, ...]:
    """The Yellow platforms to bootstrap: those named, or every Yellow platform of the model."""
    yellow = [p for p in eco.platforms if isinstance(p, YellowDataPlatform)]
    if not names:
        if not yellow:
            raise BootstrapError(f"Ecosystem '{eco.name}': no YellowDataPlatform to bootstrap")
        return tuple(yellow)
    by_name = {p.name: p for p in yellow}
    chosen: list[YellowDataPlatform] = []
    for name in names:
        if name not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise BootstrapError(
                f"Platform '{name}': not a YellowDataPlatform of the model (Yellow platforms: {known})"
            )
        chosen.append(by_name[name])
    return tuple(chosen)


def model_credentials(eco: Ecosystem, platforms: Sequence[YellowDataPlatform]) -> tuple[Credential, ...]:
    """Every credential a pod may need: the platforms' merge and git credentials and the
    source credential of every SQL-snapshot datastore, once each, in model order."""
    found: dict[str, Credential] = {}
    for platform in platforms:
        found.setdefault(platform.merge_credential.name, platform.merge_credential)
        if platform.git_credential is not None:
            found.setdefault(platform.git_credential.name, platform.git_credential)
    for entry in eco.stores().values():
        capture = entry.store.capture
        if isinstance(capture, SQLSnapshotIngestion):
            found.setdefault(capture.credential.name, capture.credential)
    return tuple(found.values())


def sandbox_source_databases(eco: Ecosystem, platforms: Sequence[YellowDataPlatform]) -> tuple[str, ...]:
    """Source databases hosted on the sandbox Postgres (host = its Service name)."""
    merge = {p.merge_database.database for p in platforms}
    names: list[str] = []
    for entry in eco.stores().values():
        capture = entry.store.capture
        if not isinstance(capture, SQLSnapshotIngestion) or not isinstance(capture.source, PostgresDatabase):
            continue
        db = capture.source
        if _on_sandbox_postgres(db) and db.database not in merge and db.database not in names:
            if not _DB_NAME.fullmatch(db.database):
                raise BootstrapError(
                    f"Datastore '{entry.store.name}': source database name '{db.database}' is not a plain "
                    "SQL identifier; use letters, digits and underscores"
                )
            names.append(db.database)
    return tuple(names)


def _on_sandbox_postgres(db: SQLDatabase) -> bool:
    return db.host == POSTGRES_SERVICE or db.host.startswith(f"{POSTGRES_SERVICE}.")


def config_env(
    namespace: str,
    job_image: str,
    env_file: Mapping[str, str],
    platforms: Sequence[YellowDataPlatform],
    model_repo: str,
    model_branch: str,
) -> dict[str, str]:
    """The DATASURFACE_* settings for pods: the env file's non-secret DATASURFACE_* values,
    then what the cluster fixes (launcher, hosts, namespace, image, models folder)."""
    out = {
        k: v
        for k, v in sorted(env_file.items())
        if k.startswith("DATASURFACE_") and not k.endswith(_SECRET_SUFFIXES) and "TEST" not in k
    }
    host = service_dns_name(POSTGRES_SERVICE, namespace)
    first = platforms[0]
    merge = first.merge_database
    infra_credentials = [first.merge_credential.name] + ([first.git_credential.name] if first.git_credential else [])
    out.update(
        {
            "DATASURFACE_LAUNCHER": "kubernetes",
            "DATASURFACE_NAMESPACE": namespace,
            "DATASURFACE_JOB_IMAGE": job_image,
            "DATASURFACE_MODELS_DIR": MODELS_MOUNT,
            # What the Airflow DAG factory and infrastructure DAG read (airflow/settings.py).
            "DATASURFACE_PLATFORMS": ",".join(p.name for p in platforms),
            "DATASURFACE_MERGE_HOST": merge.host,
            "DATASURFACE_MERGE_PORT": str(merge.effective_port()),
            "DATASURFACE_MERGE_DB": merge.database,
            "DATASURFACE_MERGE_CREDENTIAL": first.merge_credential.name,
            "DATASURFACE_INFRA_CREDENTIALS": ",".join(infra_credentials),
            "DATASURFACE_MODEL_REPO": model_repo,
            "DATASURFACE_MODEL_BRANCH": model_branch,
        }
    )
    # Every *_HOST pointing at the sandbox Postgres gets its cluster DNS name.
    for key, value in list(out.items()):
        if key.endswith("_HOST") and (value == POSTGRES_SERVICE or value.startswith(f"{POSTGRES_SERVICE}.")):
            out[key] = host
    return out


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (comments and blanks skipped, optional quotes removed)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip().removeprefix("export ").strip()] = value
    return values


def model_source_files(model_dir: Path) -> dict[str, str]:
    """The model folder's text files by relative path (eco.py, the mapping JSON, helper
    modules in sub-folders), without caches or hidden files."""
    files: dict[str, str] = {}
    for path in sorted(model_dir.rglob("*")):
        rel = path.relative_to(model_dir)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if path.is_file() and path.suffix in _MODEL_SUFFIXES:
            try:
                files[rel.as_posix()] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise BootstrapError(
                    f"model file '{rel.as_posix()}' in {model_dir}: not UTF-8 text ({exc.reason} at byte "
                    f"{exc.start}); ConfigMaps ship text only: re-save it as UTF-8 or keep it out of the model folder"
                ) from None
    return files


def build_settings(
    eco: Ecosystem,
    model_dir: Path,
    platform_names: Sequence[str] = (),
    env_file: Mapping[str, str] | None = None,
    *,
    airflow_image: str = DEFAULT_AIRFLOW_IMAGE,
    models_access_mode: str = DEFAULT_MODELS_ACCESS_MODE,
    simulator_rate: float = 2.0,
    resource_profile: str = "standard",
    model_repo: str = MODEL_REPO,
    model_branch: str = MODEL_BRANCH,
) -> SandboxSettings:
    platforms = yellow_platforms(eco, platform_names)
    for attr in ("namespace", "job_image"):
        values = {getattr(p, attr) for p in platforms}
        if len(values) > 1:
            listing = ", ".join(f"'{p.name}'={getattr(p, attr)}" for p in platforms)
            raise BootstrapError(
                f"Platforms {listing}: one sandbox needs one {attr}; render them separately with --platform"
            )
    namespace, job_image = platforms[0].namespace, platforms[0].job_image
    return SandboxSettings(
        namespace=namespace,
        job_image=job_image,
        platforms=platforms,
        credentials=model_credentials(eco, platforms),
        source_databases=sandbox_source_databases(eco, platforms),
        config_env=config_env(namespace, job_image, env_file or {}, platforms, model_repo, model_branch),
        model_files=model_source_files(model_dir),
        airflow_image=airflow_image,
        models_access_mode=models_access_mode,
        simulator_rate=simulator_rate,
        model_dir=str(model_dir),
        resource_profile=resource_profile,
    )
