"""Transformer DAGs parsed by a real Airflow 3 DagBag from config rows beside the stream rows:
shape, schedule (cron, or ANY input stream's asset) and the stream DAGs' asset outlets."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from datasurface.platforms.yellow.naming import config_table, quote_ident
from datasurface.platforms.yellow.stream_config import (
    create_config_table,
    dag_id_for,
    dataset_asset_uri,
    stream_asset_uri,
    sync_config_rows,
)
from tests.airflow.helpers import PLATFORM, parse, synthetic_config, synthetic_transformer

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
# Streams 0..4; "mask" reads 1 and 2 and writes store 0; "nightly" reads 1, writes 3 on a cron.
MASK = synthetic_transformer("mask", ["store_00001", "store_00002"], "store_00000")
NIGHTLY = synthetic_transformer("nightly", ["store_00001"], "store_00003", cron="0 2 * * *")
SINGLE = synthetic_transformer("single", ["store_00004"], "store_00002")


@pytest.fixture
def rows(pg_engine: Engine, pg_url: str, factory_env: pytest.MonkeyPatch) -> None:
    with pg_engine.begin() as conn:
        sync_config_rows(conn, PLATFORM, [*(synthetic_config(i) for i in range(5)), MASK, NIGHTLY, SINGLE], NOW)
    factory_env.setenv("DATASURFACE_PLATFORMS", PLATFORM)
    factory_env.setenv("DATASURFACE_FACTORY_DB_URL", pg_url)


def _uris(asset_condition: Any) -> set[str]:
    return {a.uri for a in asset_condition.objects}


def test_one_dag_per_transformer_beside_the_stream_dags(shim: Path, rows: None) -> None:
    bag = parse(shim)

    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {synthetic_config(i).dag_id for i in range(5)} | {
        "datasurface__YellowBench__transformer__mask",
        "datasurface__YellowBench__transformer__nightly",
        "datasurface__YellowBench__transformer__single",
    }
    dag = bag.dags[MASK.dag_id]
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert {"datasurface", "transformer", f"platform:{PLATFORM}"} <= set(dag.tags)
    assert {t.task_id for t in dag.tasks} == {"views", "transform", "ingest_output"}
    transform = dag.get_task("transform")
    assert transform.downstream_task_ids == {"ingest_output"}
    # The platform's views are reconciled first (a first run needs its input views), and
    # the transform runs whatever that step did.
    views = dag.get_task("views")
    assert views.downstream_task_ids == {"transform"} and transform.trigger_rule == "all_done"
    assert views.arguments == ["views", "reconcile", "--model", "/models", "--platform", PLATFORM, "--pending-ok"]
    # Same launcher handling as the stream jobs: the image, the command, the merge credential.
    assert type(transform).__name__ == "KubernetesPodOperator"
    assert transform.image == "datasurface/datasurface:test"
    assert transform.arguments == [
        "transformer", "run", "--model", "/models", "--platform", PLATFORM, "--workspace", "mask",
    ]  # fmt: skip
    assert {(s.deploy_target, s.secret, s.key) for s in transform.secrets} == {
        ("POSTGRES_USER", "postgres-credential", "USER"),
        ("POSTGRES_PASSWORD", "postgres-credential", "PASSWORD"),
    }
    assert not transform.skip_on_exit_code  # no KEEP_WORKING here: any non-zero exit fails the run
    ingest = dag.get_task("ingest_output")
    assert ingest.trigger_dag_id == dag_id_for(PLATFORM, "store_00000")
    assert ingest.trigger_rule == "all_success"


def test_schedule_is_any_input_stream_or_the_cron(shim: Path, rows: None) -> None:
    from airflow.sdk import Asset
    from airflow.sdk.definitions.asset import AssetAny

    bag = parse(shim)

    mask = bag.dags[MASK.dag_id].schedule
    assert isinstance(mask, AssetAny)
    assert _uris(mask) == {stream_asset_uri(PLATFORM, "store_00001"), stream_asset_uri(PLATFORM, "store_00002")}
    single = bag.dags[SINGLE.dag_id].schedule
    assert isinstance(single, Asset) and single.uri == "datasurface://yellowbench/store_00004"
    assert bag.dags[NIGHTLY.dag_id].schedule == "0 2 * * *"


def test_the_scheduler_runs_it_when_any_one_input_commits(shim: Path, rows: None, airflow_db: Path) -> None:
    """What the scheduler evaluates (the serialized DAG's condition, Airflow's own evaluator):
    one updated input is enough. A plain list of assets would need all of them."""
    from airflow.assets.evaluation import AssetEvaluator
    from airflow.sdk import DAG, Asset
    from airflow.serialization.definitions.assets import SerializedAssetUniqueKey
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session

    def runs_when_only_store_1_updated(dag: Any) -> bool:
        condition = DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable.asset_condition
        uri = stream_asset_uri(PLATFORM, "store_00001")
        with create_session() as session:
            return bool(AssetEvaluator(session).run(condition, {SerializedAssetUniqueKey(name=uri, uri=uri): True}))

    assert runs_when_only_store_1_updated(parse(shim).dags[MASK.dag_id])
    as_list = [Asset(uri=u, name=u) for u in MASK.input_asset_uris()]
    assert not runs_when_only_store_1_updated(DAG("all_inputs", schedule=as_list))


def test_stream_done_task_updates_the_stream_asset(shim: Path, rows: None) -> None:
    bag = parse(shim)
    for i in range(5):
        config = synthetic_config(i)
        done = bag.dags[config.dag_id].get_task("done")
        # The stream's asset (what transformers are scheduled on), then one per dataset.
        assert [a.uri for a in done.outlets] == [
            stream_asset_uri(PLATFORM, config.stream),
            *(dataset_asset_uri(PLATFORM, config.store, d) for d in config.datasets),
        ]


def test_a_worker_builds_only_its_transformer_dag(shim: Path, rows: None, factory_env: pytest.MonkeyPatch) -> None:
    factory_env.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", MASK.dag_id)
    assert parse(shim).dag_ids == [MASK.dag_id]


def _insert_raw(engine: Engine, key: str, config: object) -> None:
    with engine.begin() as conn:
        create_config_table(conn, PLATFORM)
        conn.execute(
            text(
                f"INSERT INTO {quote_ident(config_table(PLATFORM))} (stream, config, updated_at)"
                " VALUES (:s, CAST(:c AS jsonb), :at)"
            ),
            {"s": key, "c": json.dumps(config), "at": NOW},
        )


def test_bad_transformer_rows_hide_nothing_and_version_1_rows_still_build(
    shim: Path, pg_engine: Engine, rows: None, caplog: pytest.LogCaptureFixture
) -> None:
    good = MASK.model_dump(mode="json")
    _insert_raw(pg_engine, "transformer:no_output", {**good, "workspace": "no_output", "output_stream": None})
    _insert_raw(pg_engine, "transformer:bad_cron", {**good, "workspace": "bad_cron", "cron": "at noon"})
    _insert_raw(pg_engine, "transformer:wrong_key", good)  # the row says it is `mask`
    # A row written before `kind` existed (CONFIG_VERSION 1) is a stream row.
    old = {k: v for k, v in synthetic_config(7).model_dump(mode="json").items() if k != "kind"}
    _insert_raw(pg_engine, "store_00007", {**old, "version": 1})

    with caplog.at_level(logging.ERROR, logger="datasurface.airflow.factory"):
        bag = parse(shim)

    assert bag.import_errors == {}
    assert synthetic_config(7).dag_id in bag.dag_ids
    assert {MASK.dag_id, NIGHTLY.dag_id, SINGLE.dag_id} <= set(bag.dag_ids)
    assert len(bag.dag_ids) == 5 + 3 + 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for workspace in ("no_output", "bad_cron", "wrong_key"):
        assert f"Transformer '{workspace}'" in logged
