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
    #: Stream packs (see `packs`): 0 gives every stream a DAG and a process of its own; N > 0
    #: groups the platform's streams, by a stable hash of their names, into packs of at most
    #: N streams, each run by one DAG and one `datasurface job run-pack` process.
    pack_size: int = 0
    #: Streams that keep a DAG of their own while the others are packed (e.g. a huge table).
    dedicated_streams: list[str] = field(default_factory=list)
    #: Member jobs one pack run runs at once.
    pack_workers: int = 4
    #: Connections one pack run may hold on each source database, and on the merge database
    #: (a member holds at most one source and two merge connections: its lock and its work).
    pack_source_connections: int = 4
    pack_merge_connections: int = 8
    #: Pack runs allowed at once against this platform's merge database (an Airflow pool).
    max_active_packs: int = 4

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
        self._lint_packs(path, problems)

    def _lint_packs(self, path: str, problems: ProblemList) -> None:
        if self.pack_size < 0:
            problems.error(
                "bad-pack-setting",
                path,
                f"pack_size must be 0 (no packs) or positive, got {self.pack_size}",
                "set pack_size=0 for one DAG per stream, or the most streams one pack may hold",
            )
        for label, value, least in (
            ("pack_workers", self.pack_workers, 1),
            ("pack_source_connections", self.pack_source_connections, 1),
            # A member holds two merge connections at once (its advisory lock and its work).
            ("pack_merge_connections", self.pack_merge_connections, 2),
            ("max_active_packs", self.max_active_packs, 1),
        ):
            if value < least:
                problems.error(
                    "bad-pack-setting",
                    path,
                    f"{label} must be at least {least}, got {value}",
                    f"set {label} >= {least}",
                )
        if self.pack_size > 0 and self.pack_merge_connections // 2 < self.pack_workers:
            problems.warning(
                "pack-workers-capped",
                path,
                f"pack_workers={self.pack_workers} but pack_merge_connections={self.pack_merge_connections} lets only"
                f" {max(1, self.pack_merge_connections // 2)} member(s) run at once (two merge connections each)",
                f"raise pack_merge_connections to {2 * self.pack_workers} or lower pack_workers",
            )
        seen: set[str] = set()
        for name in self.dedicated_streams:
            if name in seen:
                problems.error(
                    "bad-pack-setting",
                    path,
                    f"dedicated stream '{name}' is listed twice",
                    "list each dedicated stream once",
                )
            seen.add(name)
        if self.dedicated_streams and self.pack_size == 0:
            problems.warning(
                "dedicated-without-packs",
                path,
                f"dedicated_streams {sorted(seen)} have no effect: pack_size is 0, so every stream has its own DAG",
                "set pack_size > 0 to pack the other streams, or remove dedicated_streams",
            )
