"""Config rows and DagBag parsing shared by the Airflow tests and the DAG-parse benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasurface.platforms.yellow.stream_config import CredentialRef, StreamConfig

PLATFORM = "YellowBench"
MERGE_CREDENTIAL = CredentialRef(
    name="postgres", secret="postgres-credential", env={"POSTGRES_USER": "USER", "POSTGRES_PASSWORD": "PASSWORD"}
)
SOURCE_CREDENTIAL = CredentialRef(
    name="customer_db",
    secret="customer-db-credential",
    env={"CUSTOMER_DB_USER": "USER", "CUSTOMER_DB_PASSWORD": "PASSWORD"},
)


def synthetic_config(i: int, *, platform: str = PLATFORM, launcher: str = "") -> StreamConfig:
    """Stream `i`: every third one externally triggered, launchers alternating unless given."""
    return StreamConfig(
        platform=platform,
        stream=f"store_{i:05d}",
        store=f"store_{i:05d}",
        datasets=["customers", "addresses"],
        cron=None if i % 3 == 0 else f"{i % 60} * * * *",
        launcher=launcher or ("kubernetes" if i % 2 else "local"),  # type: ignore[arg-type]
        job_image="datasurface/datasurface:test",
        namespace="datasurface",
        models_dir="/models",
        credentials=[MERGE_CREDENTIAL, SOURCE_CREDENTIAL],
    )


def parse(path: Path) -> Any:
    """A DagBag of one file, as the dag-processor builds it."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(path), safe_mode=True)
