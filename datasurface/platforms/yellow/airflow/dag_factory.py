"""Builds one Airflow DAG per config row (streams, and transformers: `transformer_dag`), plus
the infrastructure DAG.

The dags-folder shim calls `build_dags()` and puts the result into its globals. Every stream
DAG has the same shape, whichever launcher runs the job:

    job ──┬─> keep_working  (trigger rule ALL_SKIPPED: TriggerDagRun of this same DAG)
          └─> done          (trigger rule ALL_SUCCESS: marks DONE; fails the run on ERROR)

- exit 0 (DONE): `job` succeeds, `done` succeeds, `keep_working` is skipped: the run
  succeeds and the DAG waits for its next trigger (its cron, or an external trigger).
- exit 75 (KEEP_WORKING): `job` is skipped (`skip_on_exit_code`), so `keep_working` runs
  and queues a new run of this DAG at once (max_active_runs=1 starts it as soon as this one
  ends); `done` is skipped; the run succeeds.
- anything else (ERROR): `job` fails, `done` becomes UPSTREAM_FAILED and the run FAILS.
  `done` exists for this: Airflow decides a run's state from its leaf tasks, and with
  `keep_working` as the only leaf an ERROR would leave it skipped and the run "successful".

`done` declares the stream's asset (`stream_asset_uri`) as its outlet: it runs only when a job
exits DONE, so each committed batch emits one asset event, which starts the DAGs of the
transformers reading the stream. (With an outlet, Airflow really runs the EmptyOperator
instead of short-circuiting it to success, which is what records the event.)
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, get_parsing_context

from datasurface.platforms.yellow.dag_docs import stream_doc_md, stream_owner
from datasurface.platforms.yellow.stream_config import (
    PackConfig,
    StreamConfig,
    dag_id_for_row,
    dataset_asset_uri,
    stream_asset_uri,
)
from datasurface.platforms.yellow.transformer_config import DagConfig, TransformerConfig

from .config_source import load_raw_rows, parse_rows
from .infra_dag import INFRA_DAG_ID, build_infrastructure_dag
from .settings import PACK_POOLS_ENV, FactorySettings
from .tasks import START_DATE, PodSettings, command_task
from .transformer_dag import build_transformer_dag, stream_asset

log = logging.getLogger("datasurface.airflow.factory")

JOB_TASK = "job"
KEEP_WORKING_TASK = "keep_working"
DONE_TASK = "done"
#: The job's KEEP_WORKING exit code (`datasurface.commands.common`), repeated here so that
#: a parse doesn't import the CLI and the model loader for one constant.
EXIT_KEEP_WORKING = 75


def build_dags(settings: FactorySettings | None = None) -> dict[str, DAG]:
    """Every DAG for the platforms in DATASURFACE_PLATFORMS (and the infrastructure DAG)."""
    settings = settings or FactorySettings.from_env()
    started = time.perf_counter()
    # A worker running one task parses this file for that task's DAG only (Airflow sets the
    # parsing context): build just that one instead of thousands.
    only = get_parsing_context().dag_id
    rows = load_raw_rows(settings)
    dags = build_stream_dags(
        config
        for platform, raw in rows.items()
        for config in parse_rows(
            platform, raw if only is None else [r for r in raw if dag_id_for_row(platform, r[0]) == only]
        )
    )
    if settings.infra is not None and only in (None, INFRA_DAG_ID):
        infra = build_infrastructure_dag(settings.infra, settings.platforms)
        dags[infra.dag_id] = infra
    log.info("built %d DataSurface DAG(s) in %.2fs", len(dags), time.perf_counter() - started)
    return dags


def build_stream_dags(configs: Iterable[DagConfig]) -> dict[str, DAG]:
    """One DAG per config (stream or transformer); a config whose DAG can't be built is
    logged and skipped."""
    dags: dict[str, DAG] = {}
    valid_crons: set[str] = set()
    for config in configs:
        if config.dag_id in dags:
            log.error("Platform '%s' / %s: duplicate DAG id %s; skipped", config.platform, _what(config), config.dag_id)
            continue
        try:
            dag = _build(config)
            # The DagBag validates each DAG after the file ran and reports a bad cron as an
            # import error of the whole file; catch it here, where it is one row's problem.
            # Once per distinct expression: croniter parsing is a large share of a parse.
            if config.cron is not None and config.cron not in valid_crons:
                dag.timetable.validate()
                valid_crons.add(config.cron)
            dags[config.dag_id] = dag
        except Exception as exc:  # one bad row (bad cron, illegal id...) must not hide the others
            log.error(
                "Platform '%s' / %s: DAG not built: %s: %s",
                config.platform,
                _what(config),
                type(exc).__name__,
                " ".join(str(exc).split()),
            )
    return dags


def _build(config: DagConfig) -> DAG:
    if isinstance(config, StreamConfig):
        return build_stream_dag(config)
    if isinstance(config, PackConfig):
        from .pack_dag import build_pack_dag  # only a dags folder with packs pays for its imports

        return build_pack_dag(config, use_pool=os.environ.get(PACK_POOLS_ENV, "1") != "0")
    return build_transformer_dag(config)


def _what(config: DagConfig) -> str:
    if isinstance(config, TransformerConfig):
        return f"Transformer '{config.workspace}'"
    if isinstance(config, PackConfig):
        return f"Pack '{config.pack}'"
    return f"Stream '{config.stream}'"


def build_stream_dag(config: StreamConfig) -> DAG:
    with DAG(
        dag_id=config.dag_id,
        schedule=config.cron,  # None: triggered externally only
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        description=f"Ingest {config.store} ({', '.join(config.datasets)}) into Yellow platform {config.platform}",
        doc_md=stream_doc_md(config),
        tags=["datasurface", f"platform:{config.platform}", f"launcher:{config.launcher}"],
        default_args={"owner": stream_owner(config), "retries": 0},
        # Only the DAGs the factory returns count: a `with DAG` would otherwise register
        # itself with the DagBag even when its row is then rejected.
        auto_register=False,
    ) as dag:
        job = command_task(
            JOB_TASK,
            config.job_args(),
            config.launcher,
            PodSettings.for_row(
                config, config.dag_id, {"datasurface/platform": config.platform, "datasurface/stream": config.stream}
            ),
            skip_on_exit_code=EXIT_KEEP_WORKING,
        )
        keep_working = TriggerDagRunOperator(
            task_id=KEEP_WORKING_TASK,
            trigger_dag_id=config.dag_id,
            trigger_rule="all_skipped",
            conf={"datasurface": "KEEP_WORKING", "previous_run_id": "{{ run_id }}"},
        )
        done = EmptyOperator(
            task_id=DONE_TASK,
            outlets=[
                stream_asset(stream_asset_uri(config.platform, config.stream)),
                *(stream_asset(dataset_asset_uri(config.platform, config.store, d)) for d in config.datasets),
            ],
        )
        job >> [keep_working, done]
    return dag
