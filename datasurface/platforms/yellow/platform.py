"""The Yellow data platform as it appears in a model.

This module is imported by model files (`eco.py`), so like the model package it imports no
database, Airflow or Kubernetes code: only the description of the platform lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from datasurface.model.containers import PostgresDatabase
from datasurface.model.credential import Credential, CredentialType
from datasurface.model.identifiers import is_env_prefix
from datasurface.model.platform import DataPlatform
from datasurface.model.problems import ProblemList
from datasurface.model.workspace import Milestoning


class JobLauncher(StrEnum):
    """How a stream's job runs: a Kubernetes pod, or a subprocess on the Airflow worker."""

    KUBERNETES = "kubernetes"
    LOCAL = "local"


@dataclass(slots=True)
class YellowDataPlatform(DataPlatform):
    """Ingests SQL snapshots into a Postgres merge database.

    A LIVE_ONLY Yellow keeps current rows only and serves LIVE_ONLY DSGs; a FORENSIC Yellow
    keeps every version and serves both kinds (a live view is the open versions).
    """

    milestoning: Milestoning = Milestoning.LIVE_ONLY
    merge_database: PostgresDatabase = field(
        default_factory=lambda: PostgresDatabase(name="yellow_merge", host="localhost", database="datasurface_merge")
    )
    merge_credential: Credential = field(default_factory=lambda: Credential("postgres"))
    git_credential: Credential | None = None
    launcher: JobLauncher = JobLauncher.KUBERNETES
    job_image: str = "datasurface/datasurface:latest"
    namespace: str = "datasurface"
    #: A job checkpoints and exits KEEP_WORKING after ingesting this many rows in one run.
    max_rows_per_run: int = 5_000_000
    #: ... or after this many seconds, whichever comes first.
    max_seconds_per_run: int = 600
    #: Rows per ingestion chunk (one checkpoint per chunk).
    chunk_rows: int = 100_000

    def supported_milestoning(self) -> frozenset[Milestoning]:
        if self.milestoning is Milestoning.FORENSIC:
            return frozenset({Milestoning.LIVE_ONLY, Milestoning.FORENSIC})
        return frozenset({Milestoning.LIVE_ONLY})

    def lint_platform(self, path: str, problems: ProblemList) -> None:
        credentials = [self.merge_credential] + ([self.git_credential] if self.git_credential else [])
        for cred in credentials:
            if not is_env_prefix(cred.name):
                problems.error(
                    "credential-name",
                    path,
                    f"credential name '{cred.name}' is not a legal environment-variable prefix",
                    "use letters, digits and underscores, starting with a letter or underscore",
                )
        if self.git_credential is not None and self.git_credential.type is not CredentialType.TOKEN:
            problems.error(
                "credential-type",
                path,
                f"git credential '{self.git_credential.name}' must be a TOKEN credential",
                "use Credential(name, CredentialType.TOKEN)",
            )
        for label, value in (
            ("max_rows_per_run", self.max_rows_per_run),
            ("max_seconds_per_run", self.max_seconds_per_run),
            ("chunk_rows", self.chunk_rows),
        ):
            if value <= 0:
                problems.error("bad-setting", path, f"{label} must be positive, got {value}", f"set {label} > 0")
