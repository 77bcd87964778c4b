"""One Airflow DAG per DataTransformer (and platform):

    views ──> transform ──> ingest_output  (TriggerDagRun of the output store's stream DAG)

- `views` reconciles the platform's consumer views (`datasurface views reconcile
  --pending-ok`) before every transform. A transformer's first run comes right after its
  inputs' first batch committed, which is when their views can first be created; the
  infrastructure DAG would create them only on its next tick (5 minutes later), so without
  this step the first run failed on missing input views. `transform` runs whatever `views`
  did (ALL_DONE): a view elsewhere on the platform that can't be built must not block it,
  and a missing input view still fails `transform` with its own message.
- `transform` runs `datasurface transformer run` with the same launcher, image, secrets and
  volumes as the stream jobs. Exit 0: the output tables were refilled in one transaction.
  Anything else fails the task; `ingest_output` becomes UPSTREAM_FAILED and the run FAILS,
  so a failed transformer is never ingested and its previous output stays in place.
- `ingest_output` queues a run of the output stream's DAG, which ingests the new output like
  any snapshot (with its own KEEP_WORKING handling) and, on commit, updates its own asset, so
  transformers reading this one's output run next.

Schedule: the transformer's cron when the model gives one; otherwise the assets of its input
streams combined with `|` (AssetAny): a batch committed by ANY input stream starts a run.
A plain list would be AssetAll in Airflow 3 (every input must have updated since the last
run), which would starve a transformer whose inputs commit at different rates.
"""

from __future__ import annotations

from functools import reduce

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Asset
from airflow.sdk.definitions.asset import BaseAsset

from datasurface.platforms.yellow.transformer_config import TransformerConfig

from .tasks import START_DATE, PodSettings, command_task

VIEWS_TASK = "views"
TRANSFORM_TASK = "transform"
INGEST_OUTPUT_TASK = "ingest_output"


def stream_asset(uri: str) -> Asset:
    return Asset(uri=uri, name=uri)


def transformer_schedule(config: TransformerConfig) -> str | BaseAsset | None:
    """The cron, or any of the input streams' assets, or None (triggered externally only)."""
    if config.cron is not None:
        return config.cron
    assets: list[BaseAsset] = [stream_asset(uri) for uri in config.input_asset_uris()]
    if not config.after_inputs or not assets:
        return None
    return reduce(lambda a, b: a | b, assets)


def build_transformer_dag(config: TransformerConfig) -> DAG:
    with DAG(
        dag_id=config.dag_id,
        schedule=transformer_schedule(config),
        start_date=START_DATE,
        catchup=False,
        # One run at a time: the job holds an advisory lock anyway, and asset events that
        # arrive meanwhile queue one more run, which reads the newest inputs.
        max_active_runs=1,
        description=(
            f"Run workspace {config.workspace}'s transformer ({config.code}) on Yellow platform "
            f"{config.platform}, then ingest {config.output_store}"
        ),
        tags=["datasurface", "transformer", f"platform:{config.platform}", f"launcher:{config.launcher}"],
        default_args={"owner": "datasurface", "retries": 0},
        auto_register=False,  # only the DAGs the factory returns count (see dag_factory)
    ) as dag:
        views = command_task(
            VIEWS_TASK,
            ["views", "reconcile", "--model", config.models_dir, "--platform", config.platform, "--pending-ok"],
            config.launcher,
            PodSettings.for_row(
                config,
                f"{config.dag_id}__views",
                {"datasurface/platform": config.platform, "datasurface/transformer": config.workspace},
            ),
        )
        transform = command_task(
            TRANSFORM_TASK,
            config.job_args(),
            config.launcher,
            PodSettings.for_row(
                config,
                config.dag_id,
                {"datasurface/platform": config.platform, "datasurface/transformer": config.workspace},
            ),
            trigger_rule="all_done",
        )
        ingest = TriggerDagRunOperator(
            task_id=INGEST_OUTPUT_TASK,
            trigger_dag_id=config.output_dag_id,
            conf={"datasurface": "TRANSFORMER_OUTPUT", "transformer_run_id": "{{ run_id }}"},
        )
        views >> transform >> ingest
    return dag
