"""One Airflow DAG per stream pack:

    job ──> report ──> route ──> keep_working (TriggerDagRun of this same DAG)

- `job` runs `datasurface job run-pack --json --exit-zero` in the pack's Airflow pool (one
  pool per merge database: it caps how many packs run against that database at once). It
  fails only when the pack could not run at all (model, settings); the members' outcomes
  are its JSON result, which becomes the task's XCom (the last stdout line under the local
  launcher; the xcom sidecar's file under Kubernetes).
- `report` logs one line per member and records the asset events of every member that
  committed a batch: its stream's asset (which schedules the transformers reading it) and
  one asset per dataset, each event's extras carrying the batch id and the row counts. The
  events go through an AssetAlias, so only committed members get events: a plain outlet
  list would emit an event for every member of the pack on every run.
- `route` fails the run when a member failed (after `report` recorded the others' events);
  otherwise it follows `keep_working` when a member has work left (KEEP_WORKING, or not
  started before the pack's time budget ran out), which queues the next run at once
  (max_active_runs=1), and skips it when everything is DONE.

Schedule: the most frequent member's cron (chosen by the merge handler); each member's own
cron is honoured inside the job (`packs.is_due`). A run triggered with conf
`{"members": ["Store1", ...]}` also runs those members now (their external trigger).
"""

from __future__ import annotations

import json
from typing import Any

from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, Asset, AssetAlias

from datasurface.platforms.yellow.stream_config import PackConfig, dataset_asset_uri, stream_asset_uri

from .tasks import START_DATE, PodSettings, command_task, result_args

JOB_TASK = "job"
REPORT_TASK = "report"
ROUTE_TASK = "route"
KEEP_WORKING_TASK = "keep_working"
MEMBERS_ENV = "DATASURFACE_PACK_MEMBERS"
# The run's `members` conf, comma-joined; it reaches the command as an environment
# variable (never as shell text), and `run-pack` checks each name against the pack.
_MEMBERS_TEMPLATE = "{{ ((dag_run.conf or {}).get('members') or []) | join(',') }}"


def alias_name(config: PackConfig) -> str:
    return f"datasurface-pack://{config.platform.lower()}/{config.pack}"


def build_pack_dag(config: PackConfig, *, use_pool: bool = True) -> DAG:
    with DAG(
        dag_id=config.dag_id,
        schedule=config.cron,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        description=f"Ingest {len(config.members)} stream(s) of pack {config.pack} into Yellow platform {config.platform}",
        doc_md=config.doc_md,
        tags=["datasurface", "pack", f"platform:{config.platform}", f"launcher:{config.launcher}"],
        default_args={"owner": config.owner, "retries": 0},
        auto_register=False,  # only the DAGs the factory returns count (see dag_factory)
    ) as dag:
        job = command_task(
            JOB_TASK,
            [*config.job_args(), "--json", "--exit-zero", *result_args(config.launcher)],
            config.launcher,
            PodSettings.for_row(
                config, config.dag_id, {"datasurface/platform": config.platform, "datasurface/pack": config.pack}
            ),
            xcom_result=True,
            env={MEMBERS_ENV: _MEMBERS_TEMPLATE},
            pool=config.pool if use_pool else None,
        )
        alias = AssetAlias(alias_name(config))
        report = PythonOperator(
            task_id=REPORT_TASK,
            python_callable=report_pack,
            op_kwargs={"platform": config.platform, "alias": alias.name},
            outlets=[alias],
        )
        route = BranchPythonOperator(task_id=ROUTE_TASK, python_callable=route_pack)
        keep_working = TriggerDagRunOperator(
            task_id=KEEP_WORKING_TASK,
            trigger_dag_id=config.dag_id,
            conf={"datasurface": "KEEP_WORKING", "previous_run_id": "{{ run_id }}"},
        )
        job >> report >> route >> keep_working
    return dag


def _result(ti: Any) -> dict[str, Any]:
    raw = ti.xcom_pull(task_ids=JOB_TASK)
    data = json.loads(raw) if isinstance(raw, str | bytes) else raw
    if not isinstance(data, dict) or "members" not in data:
        raise ValueError(f"the job task left no pack result (XCom: {str(raw)[:200]!r})")
    return data


def report_pack(platform: str, alias: str, ti: Any, outlet_events: Any, **_: Any) -> dict[str, Any]:
    """Log one line per member; an asset event per committed member's stream and datasets."""
    import logging

    log = logging.getLogger("datasurface.pack")
    data = _result(ti)
    events = outlet_events[AssetAlias(alias)]
    counts: dict[str, int] = {}
    for m in data["members"]:
        counts[m["outcome"]] = counts.get(m["outcome"], 0) + 1
        log.info(
            "member=%s outcome=%s batch=%s inserted=%s updated=%s deleted=%s seconds=%s %s",
            m["stream"],
            m["outcome"],
            m.get("batch_id"),
            m.get("inserted"),
            m.get("updated"),
            m.get("deleted"),
            m.get("seconds"),
            m.get("message") or m.get("reason") or "",
        )
        if m["outcome"] != "DONE" or m.get("state") != "COMMITTED" or m.get("batch_id") is None:
            continue
        extra = {
            "batch_id": m["batch_id"],
            "inserted": m["inserted"],
            "updated": m["updated"],
            "deleted": m["deleted"],
            "stream": m["stream"],
        }
        uri = stream_asset_uri(platform, m["stream"])
        events.add(Asset(uri=uri, name=uri), extra=extra)
        for dataset in m.get("datasets", []):
            duri = dataset_asset_uri(platform, m["store"], dataset)
            events.add(Asset(uri=duri, name=duri), extra=extra)
    return {"counts": counts, "exit_code": data.get("exit_code", 0)}


def route_pack(ti: Any, **_: Any) -> list[str]:
    """Fail on a failed member; re-run at once when a member has work left."""
    from airflow.sdk.exceptions import AirflowFailException

    data = _result(ti)
    failed = [m["stream"] for m in data["members"] if m["outcome"] == "ERROR"]
    if failed:
        messages = "; ".join(f"{m['stream']}: {m['message']}" for m in data["members"] if m["outcome"] == "ERROR")
        raise AirflowFailException(f"pack {data['pack']}: member(s) failed: {messages}")
    more = [m["stream"] for m in data["members"] if m["outcome"] in ("KEEP_WORKING", "DEFERRED")]
    return [KEEP_WORKING_TASK] if more else []
