"""Transformer config rows: built from the model (only where the output is ingested), written
beside the stream rows and kept in step with the model (inserted, updated, deleted)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, text

from datasurface.model.loader import LoadedModel, load_model
from datasurface.model.triggers import CronTrigger
from datasurface.platforms.yellow.naming import config_table
from datasurface.platforms.yellow.platform import YellowDataPlatform
from datasurface.platforms.yellow.stream_config import StreamConfig, build_stream_configs, sync_config_rows
from datasurface.platforms.yellow.transformer_config import (
    DagConfig,
    TransformerConfig,
    build_transformer_configs,
    parse_config,
)
from tests.job.harness import SANDBOX_MODEL

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _configs(model: LoadedModel, platform: str) -> list[DagConfig]:
    plat = model.ecosystem.platform(platform)
    assert isinstance(plat, YellowDataPlatform)
    return [
        *build_stream_configs(model.ecosystem, model.assignments, plat, "/models"),
        *build_transformer_configs(model.ecosystem, model.assignments, plat, "/models"),
    ]


def test_sandbox_transformer_runs_where_its_output_is_read() -> None:
    model = load_model(SANDBOX_MODEL)
    live = [c for c in _configs(model, "YellowLive") if isinstance(c, TransformerConfig)]
    assert [c.row_key for c in live] == ["transformer:Consumer1"]
    (config,) = live
    assert (config.workspace, config.output_store, config.output_stream) == (
        "Consumer1",
        "MaskedCustomers",
        "MaskedCustomers",
    )
    assert config.input_streams == ["Store1"] and config.cron is None and config.after_inputs
    assert config.code == "masking:mask_customers@1.0"
    assert [c.name for c in config.credentials] == ["postgres"]  # the merge database only
    assert config.dag_id == "datasurface__YellowLive__transformer__Consumer1"
    assert config.output_dag_id == "datasurface__YellowLive__MaskedCustomers"
    # Nobody reads MaskedCustomers on YellowForensic: no transformer runs there.
    assert not any(isinstance(c, TransformerConfig) for c in _configs(model, "YellowForensic"))


def test_rows_round_trip_and_old_rows_are_streams() -> None:
    for config in _configs(load_model(SANDBOX_MODEL), "YellowLive"):
        assert parse_config(config.model_dump_json()) == config
    old = {k: v for k, v in _configs(load_model(SANDBOX_MODEL), "YellowLive")[0].model_dump().items() if k != "kind"}
    assert isinstance(parse_config({**old, "version": 1}), StreamConfig)


def _table(engine: Engine) -> dict[str, tuple[dict[str, object], dt.datetime]]:
    with engine.connect() as conn:
        rows = conn.execute(text(f'SELECT stream, config, updated_at FROM "{config_table("YellowLive")}"'))
        return {r.stream: (r.config, r.updated_at) for r in rows}


def test_transformer_rows_are_inserted_updated_and_deleted(pg_engine: Engine) -> None:
    model = load_model(SANDBOX_MODEL)
    with pg_engine.begin() as conn:
        assert sync_config_rows(conn, "YellowLive", _configs(model, "YellowLive"), T0) == (3, 0, 0)
    first = _table(pg_engine)
    # The sandbox packs Store1 (one row per pack); the transformer's output keeps its own row.
    assert set(first) == {"pack:pack0000", "MaskedCustomers", "transformer:Consumer1"}
    assert TransformerConfig.model_validate(first["transformer:Consumer1"][0]).kind == "transformer"

    # The transformer gets a cron: only its row changes.
    consumer1 = model.ecosystem.workspaces()["Consumer1"].workspace
    assert consumer1.transformer is not None
    consumer1.transformer.trigger = CronTrigger("0 * * * *")
    later = T0 + dt.timedelta(minutes=1)
    with pg_engine.begin() as conn:
        assert sync_config_rows(conn, "YellowLive", _configs(model, "YellowLive"), later) == (0, 1, 0)
    second = _table(pg_engine)
    assert second["transformer:Consumer1"][0]["cron"] == "0 * * * *"
    assert second["transformer:Consumer1"][1] == later and second["pack:pack0000"][1] == T0

    # MaskedConsumer leaves YellowLive: the output stream and the transformer rows go.
    model.assignments.assignments = [a for a in model.assignments.assignments if a.workspace != "MaskedConsumer"]
    with pg_engine.begin() as conn:
        assert sync_config_rows(conn, "YellowLive", _configs(model, "YellowLive"), later) == (0, 0, 2)
    assert set(_table(pg_engine)) == {"pack:pack0000"}
