"""The dags-folder shim parsed by a real Airflow 3 DagBag over config rows in real Postgres."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from datasurface.platforms.yellow.airflow import config_source
from datasurface.platforms.yellow.airflow.settings import FactorySettings, SettingsError
from datasurface.platforms.yellow.naming import config_table, quote_ident
from datasurface.platforms.yellow.stream_config import create_config_table, dag_id_for, sync_config_rows
from tests.airflow.helpers import PLATFORM, parse, synthetic_config

N_ROWS = 200
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _write_rows(engine: Engine, n: int, platform: str = PLATFORM) -> None:
    with engine.begin() as conn:
        sync_config_rows(conn, platform, [synthetic_config(i, platform=platform) for i in range(n)], NOW)


def _insert_raw(engine: Engine, platform: str, stream: str, config: object) -> None:
    with engine.begin() as conn:
        create_config_table(conn, platform)
        conn.execute(
            text(
                f"INSERT INTO {quote_ident(config_table(platform))} (stream, config, updated_at)"
                " VALUES (:s, CAST(:c AS jsonb), :at)"
            ),
            {"s": stream, "c": json.dumps(config), "at": NOW},
        )


def test_dagbag_builds_one_dag_per_row(
    shim: Path, pg_engine: Engine, pg_url: str, factory_env: pytest.MonkeyPatch
) -> None:
    _write_rows(pg_engine, N_ROWS)
    _write_rows(pg_engine, 3, platform="Other")
    factory_env.setenv("DATASURFACE_PLATFORMS", f"{PLATFORM}, Other")
    factory_env.setenv("DATASURFACE_FACTORY_DB_URL", pg_url)

    bag = parse(shim)

    assert bag.import_errors == {}
    expected = {dag_id_for(PLATFORM, f"store_{i:05d}") for i in range(N_ROWS)}
    expected |= {dag_id_for("Other", f"store_{i:05d}") for i in range(3)}
    assert set(bag.dag_ids) == expected
    for i in (0, 1, 2, N_ROWS - 1):
        config = synthetic_config(i)
        dag = bag.dags[config.dag_id]
        assert dag.max_active_runs == 1
        assert dag.catchup is False
        assert dag.schedule == config.cron
        assert {"datasurface", f"platform:{PLATFORM}", f"launcher:{config.launcher}"} <= set(dag.tags)
        assert {t.task_id for t in dag.tasks} == {"job", "keep_working", "done"}
        job = dag.get_task("job")
        assert job.downstream_task_ids == {"keep_working", "done"}
        assert list(job.skip_on_exit_code) == [75]
        assert type(job).__name__ == ("KubernetesPodOperator" if config.launcher == "kubernetes" else "BashOperator")
        trigger = dag.get_task("keep_working")
        assert trigger.trigger_dag_id == config.dag_id
        assert trigger.trigger_rule == "all_skipped"
        assert dag.get_task("done").trigger_rule == "all_success"


def test_bad_rows_are_skipped_and_logged(
    shim: Path,
    pg_engine: Engine,
    pg_url: str,
    factory_env: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _write_rows(pg_engine, 5)
    good = synthetic_config(99).model_dump(mode="json")
    _insert_raw(pg_engine, PLATFORM, "unknown_launcher", {**good, "stream": "unknown_launcher", "launcher": "ssh"})
    _insert_raw(pg_engine, PLATFORM, "not_a_config", ["a", "list"])
    _insert_raw(pg_engine, PLATFORM, "missing_field", {k: v for k, v in good.items() if k != "job_image"})
    _insert_raw(pg_engine, PLATFORM, "bad_cron", {**good, "stream": "bad_cron", "cron": "every tuesday"})
    _insert_raw(pg_engine, PLATFORM, "wrong_key", good)  # the row says it is store_00099
    factory_env.setenv("DATASURFACE_PLATFORMS", PLATFORM)
    factory_env.setenv("DATASURFACE_FACTORY_DB_URL", pg_url)

    with caplog.at_level(logging.ERROR, logger="datasurface.airflow.factory"):
        bag = parse(shim)

    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {synthetic_config(i).dag_id for i in range(5)}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for stream in ("unknown_launcher", "not_a_config", "missing_field", "bad_cron", "wrong_key"):
        assert f"Stream '{stream}'" in logged


def test_unreachable_database_keeps_the_last_good_dags(
    shim: Path,
    pg_engine: Engine,
    pg_url: str,
    factory_env: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _write_rows(pg_engine, 20)
    factory_env.setenv("DATASURFACE_PLATFORMS", PLATFORM)
    factory_env.setenv("DATASURFACE_FACTORY_DB_URL", pg_url)
    first = parse(shim)
    assert len(first.dag_ids) == 20
    cache = config_source.cache_file(tmp_path / "dag_cache", PLATFORM)
    assert cache.is_file()
    assert len(json.loads(cache.read_text())["rows"]) == 20

    # Nothing listens on port 1: connection refused at once.
    factory_env.setenv("DATASURFACE_FACTORY_DB_URL", "postgresql+psycopg://postgres:pw@127.0.0.1:1/nowhere")
    with caplog.at_level(logging.WARNING, logger="datasurface.airflow.factory"):
        second = parse(shim)
    assert second.import_errors == {}
    assert set(second.dag_ids) == set(first.dag_ids)
    assert "using cached DAG config" in caplog.text
    assert "pw" not in caplog.text.replace("pwd", "")

    # No database and no cache: no DAGs, and still no import error.
    cache.unlink()
    third = parse(shim)
    assert third.import_errors == {}
    assert third.dag_ids == []


def test_missing_config_table_falls_back_to_the_cache(pg_url: str, factory_env: pytest.MonkeyPatch) -> None:
    factory_env.setenv("DATASURFACE_PLATFORMS", "NeverDeployed")
    factory_env.setenv("DATASURFACE_FACTORY_DB_URL", pg_url)
    assert config_source.load_raw_rows(FactorySettings.from_env()) == {"NeverDeployed": []}


def test_merge_database_from_parts() -> None:
    env = {
        "DATASURFACE_MERGE_HOST": "postgres",
        "DATASURFACE_MERGE_PORT": "5433",
        "DATASURFACE_MERGE_DB": "merge",
        "DATASURFACE_MERGE_CREDENTIAL": "yellow_db",
        "YELLOW_DB_USER": "ds",
        "YELLOW_DB_PASSWORD": "p@ss/word",
    }
    url = FactorySettings.from_env(env).merge_db_url()
    assert (url.host, url.port, url.database, url.username, url.password) == (
        "postgres",
        5433,
        "merge",
        "ds",
        "p@ss/word",
    )
    with pytest.raises(SettingsError, match="YELLOW_DB_USER"):
        FactorySettings.from_env({k: v for k, v in env.items() if not k.startswith("YELLOW_DB")}).merge_db_url()
    # The credential defaults to the sandbox's `postgres`.
    url = FactorySettings.from_env({"DATASURFACE_MERGE_HOST": "h", "POSTGRES_USER": "u"}).merge_db_url()
    assert (url.username, url.port, url.database) == ("u", 5432, "datasurface_merge")


def test_merge_database_from_a_url() -> None:
    """DATASURFACE_FACTORY_DB_URL as SQLAlchemy or libpq spell it, parsed without SQLAlchemy."""
    url = FactorySettings.from_env(
        {"DATASURFACE_FACTORY_DB_URL": "postgresql+psycopg://ds:p%40ss%2Fword@db.example:6543/my%20merge"}
    ).merge_db_url()
    assert tuple(url) == ("db.example", 6543, "my merge", "ds", "p@ss/word")
    url = FactorySettings.from_env({"DATASURFACE_FACTORY_DB_URL": "postgresql://postgres@127.0.0.1/m"}).merge_db_url()
    assert tuple(url) == ("127.0.0.1", 5432, "m", "postgres", None)
    with pytest.raises(SettingsError, match="DATASURFACE_FACTORY_DB_URL must be a postgresql://"):
        FactorySettings.from_env({"DATASURFACE_FACTORY_DB_URL": "mysql+pymysql://root@h/db"}).merge_db_url()


def test_infrastructure_dag(shim: Path, pg_url: str, factory_env: pytest.MonkeyPatch) -> None:
    factory_env.setenv("DATASURFACE_PLATFORMS", "YellowLive,YellowForensic")
    factory_env.setenv("DATASURFACE_FACTORY_DB_URL", pg_url)
    factory_env.setenv("DATASURFACE_MODEL_REPO", "/srv/model-repo")
    factory_env.setenv("DATASURFACE_MODELS_DIR", "/srv/models")
    factory_env.setenv("DATASURFACE_LAUNCHER", "local")

    bag = parse(shim)

    assert bag.import_errors == {}
    assert bag.dag_ids == ["datasurface__infrastructure"]
    dag = bag.dags["datasurface__infrastructure"]
    assert dag.schedule == "*/5 * * * *"
    assert dag.max_active_runs == 1
    merge = dag.get_task("merge_handler")
    assert merge.downstream_task_ids == {"views__YellowLive", "views__YellowForensic"}
    assert merge.bash_command.endswith(
        "datasurface merge-handler --repo /srv/model-repo --branch main --models-dir /srv/models{% endraw %}"
    )
    views = dag.get_task("views__YellowForensic")
    assert views.bash_command.endswith(
        "datasurface views reconcile --model /srv/models --platform YellowForensic --pending-ok{% endraw %}"
    )

    factory_env.setenv("DATASURFACE_INFRA_SCHEDULE", "none")
    assert parse(shim).dags["datasurface__infrastructure"].schedule is None
    factory_env.setenv("DATASURFACE_INFRA", "0")
    assert parse(shim).dag_ids == []


def test_a_worker_builds_only_its_own_dag(
    shim: Path, pg_engine: Engine, pg_url: str, factory_env: pytest.MonkeyPatch
) -> None:
    _write_rows(pg_engine, 50)
    factory_env.setenv("DATASURFACE_PLATFORMS", PLATFORM)
    factory_env.setenv("DATASURFACE_FACTORY_DB_URL", pg_url)
    factory_env.setenv("DATASURFACE_MODEL_REPO", "/srv/model-repo")
    # What Airflow sets when a worker parses the file to run one task.
    factory_env.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", synthetic_config(7).dag_id)
    assert parse(shim).dag_ids == [synthetic_config(7).dag_id]
    factory_env.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "datasurface__infrastructure")
    assert parse(shim).dag_ids == ["datasurface__infrastructure"]
