"""The infrastructure DAG: the merge handler, then the view reconciler of each platform.

    merge_handler ──> views__<platform> (one per platform)

On its schedule (DATASURFACE_INFRA_SCHEDULE, default every 5 minutes) and on demand. A
model that doesn't lint makes `merge_handler` fail (the last good deployment keeps running)
and the run fails visibly; views whose merge tables don't exist yet make `views__<platform>`
exit 1 and fail too, until the stream's first batch commits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from airflow.sdk import DAG

from datasurface.platforms.yellow.kube_names import credential_secret_name

from .settings import InfraSettings
from .tasks import START_DATE, PodSettings, command_task

INFRA_DAG_ID = "datasurface__infrastructure"
MERGE_HANDLER_TASK = "merge_handler"


def views_task_id(platform: str) -> str:
    return "views__" + re.sub(r"[^A-Za-z0-9_.-]", "_", platform)


def build_infrastructure_dag(infra: InfraSettings, platforms: Sequence[str]) -> DAG:
    def pod(name: str, *, writable: bool) -> PodSettings:
        return PodSettings(
            image=infra.image,
            namespace=infra.namespace,
            name=name,
            labels={"datasurface/role": "infrastructure"},
            # Every key of each credential's Secret, prefixed: USER -> POSTGRES_USER, and a
            # TOKEN credential's TOKEN -> GIT_TOKEN, without knowing each credential's type.
            secret_env_prefixed=[(f"{c.upper()}_", credential_secret_name(c)) for c in infra.credentials],
            models_writable=writable,
        )

    with DAG(
        dag_id=INFRA_DAG_ID,
        schedule=infra.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        description="Merge handler (deploy the model, write DAG config rows), then view reconciliation",
        tags=["datasurface", "infrastructure"],
        default_args={"owner": "datasurface", "retries": 0},
        # Only the DAGs the factory returns count: a `with DAG` would otherwise register
        # itself with the DagBag even when its row is then rejected.
        auto_register=False,
    ) as dag:
        merge = command_task(
            MERGE_HANDLER_TASK,
            ["merge-handler", "--repo", infra.repo, "--branch", infra.branch, "--models-dir", infra.models_dir],
            infra.launcher,
            pod("datasurface-merge-handler", writable=True),  # it writes model-<seconds> folders
        )
        for platform in platforms:
            views = command_task(
                views_task_id(platform),
                # Views waiting for their stream's first batch are normal after a deploy: they
                # must not turn the infrastructure run red (real failures still do).
                ["views", "reconcile", "--model", infra.models_dir, "--platform", platform, "--pending-ok"],
                infra.launcher,
                pod(f"datasurface-views-{platform}", writable=False),
            )
            merge >> views
    return dag
