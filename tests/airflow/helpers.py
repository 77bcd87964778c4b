"""Config rows and DagBag parsing shared by the Airflow tests and the DAG-parse benchmark."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datasurface.platforms.yellow.stream_config import CredentialRef, StreamConfig
from datasurface.platforms.yellow.transformer_config import TransformerConfig

if TYPE_CHECKING:
    from tests.job.harness import Stack

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


def synthetic_transformer(
    workspace: str, inputs: list[str], output: str, *, cron: str | None = None, platform: str = PLATFORM
) -> TransformerConfig:
    """Workspace `workspace`'s transformer reading streams `inputs`, writing store `output`."""
    return TransformerConfig(
        platform=platform,
        workspace=workspace,
        output_store=output,
        output_stream=output,
        input_streams=inputs,
        code="masking:mask_customers@1.0",
        cron=cron,
        after_inputs=cron is None,
        launcher="kubernetes",
        job_image="datasurface/datasurface:test",
        namespace="datasurface",
        models_dir="/models",
        credentials=[MERGE_CREDENTIAL],
    )


def parse(path: Path) -> Any:
    """A DagBag of one file, as the dag-processor builds it."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(path), safe_mode=True)


def write_model_config(stack: Stack, platform: str) -> list[StreamConfig | TransformerConfig]:
    """Write `platform`'s config rows for the stack's model, as the merge handler does."""
    from datasurface.model.loader import load_model
    from datasurface.platforms.yellow.platform import YellowDataPlatform
    from datasurface.platforms.yellow.stream_config import build_stream_configs, sync_config_rows
    from datasurface.platforms.yellow.transformer_config import build_transformer_configs

    model = load_model(stack.model_dir)
    plat = model.ecosystem.platform(platform)
    assert isinstance(plat, YellowDataPlatform)
    models_dir = str(stack.model_dir)
    configs: list[StreamConfig | TransformerConfig] = [
        *build_stream_configs(model.ecosystem, model.assignments, plat, models_dir=models_dir),
        *build_transformer_configs(model.ecosystem, model.assignments, plat, models_dir=models_dir),
    ]
    with stack.merge.begin() as conn:
        sync_config_rows(conn, platform, configs, dt.datetime.now(dt.UTC))
    return configs


def dag_runs(dag_id: str) -> list[Any]:
    """Every run of `dag_id` in the Airflow metadata DB, oldest first."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id).all()
        session.expunge_all()
        return list(runs)
