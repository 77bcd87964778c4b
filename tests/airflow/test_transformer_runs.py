"""The sandbox transformer's DAG run with `dag.test()` (local launcher) against real Postgres:
Store1's DAG commits a batch and emits its asset event; the transformer DAG writes the masked
rows and queues the MaskedCustomers stream DAG; a failing transformer fails the run, queues
nothing and leaves the output as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from datasurface.platforms.yellow.naming import quote_ident
from datasurface.platforms.yellow.stream_config import dag_id_for, stream_asset_uri, transformer_dag_id_for
from datasurface.platforms.yellow.transformer_job import output_table
from tests.airflow.helpers import dag_runs, parse, write_model_config
from tests.job.harness import STORE, Stack

PLATFORM = "YellowLive"
TRANSFORMER_DAG = transformer_dag_id_for(PLATFORM, "Consumer1")
OUTPUT_DAG = dag_id_for(PLATFORM, "MaskedCustomers")


def _test(bag: Any, dag_id: str) -> tuple[Any, dict[str, str]]:
    run = bag.dags[dag_id].test()
    return run, {ti.task_id: ti.state for ti in run.get_task_instances()}


def _ingest_store1(stack: Stack, shim: Path, *, reconcile: bool = True) -> Any:
    """Store1's DAG commits a batch; then the views the transformer reads are reconciled
    (MaskedConsumer's stays pending until its stream's first batch: exit 1 is expected)."""
    write_model_config(stack, PLATFORM)
    bag = parse(shim)
    assert bag.import_errors == {}
    run, states = _test(bag, dag_id_for(PLATFORM, STORE))
    assert run.state == "success" and states["done"] == "success"
    if reconcile:
        done = stack.cli("views", "reconcile", "--model", str(stack.model_dir), "--platform", PLATFORM)
        assert done.returncode in (0, 1), done.stderr
    return bag


def _output_rows(stack: Stack) -> dict[str, dict[str, Any]]:
    table = quote_ident(output_table(PLATFORM, "MaskedCustomers", "customers"))
    with stack.merge.connect() as conn:
        return {r.id: dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {table}"))}


def _asset_events(uri: str) -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == uri)
            .count()
        )


def test_transformer_dag_writes_the_output_and_queues_its_ingestion(stack: Stack, shim: Path) -> None:
    events_before = _asset_events(stream_asset_uri(PLATFORM, STORE))
    bag = _ingest_store1(stack, shim)
    # The committed batch is an asset event: what schedules the transformer DAG in Airflow.
    assert _asset_events(stream_asset_uri(PLATFORM, STORE)) == events_before + 1
    queued_before = {r.run_id for r in dag_runs(OUTPUT_DAG)}

    run, states = _test(bag, TRANSFORMER_DAG)

    assert run.state == "success"
    assert states == {"views": "success", "transform": "success", "ingest_output": "success"}
    rows = _output_rows(stack)
    assert len(rows) == 30
    assert rows["c00004"]["email"] == "***@example.com" and rows["c00004"]["phone"] == "***04"
    assert rows["c00004"]["last_name"] == "L." and rows["c00004"]["dob"] is None
    queued = [r for r in dag_runs(OUTPUT_DAG) if r.run_id not in queued_before]
    assert [r.state for r in queued] == ["queued"]
    assert queued[0].conf == {"datasurface": "TRANSFORMER_OUTPUT", "transformer_run_id": run.run_id}


def test_a_failing_transformer_fails_the_run_and_triggers_nothing(stack: Stack, shim: Path) -> None:
    bag = _ingest_store1(stack, shim)
    first, _ = _test(bag, TRANSFORMER_DAG)
    assert first.state == "success"
    before = _output_rows(stack)
    queued_before = {r.run_id for r in dag_runs(OUTPUT_DAG)}
    code = stack.model_dir / "transformers" / "masking.py"
    code.write_text(code.read_text().replace("left(last_name, 1)", "left(no_such_column, 1)"))

    run, states = _test(parse(shim), TRANSFORMER_DAG)

    assert run.state == "failed"
    assert states == {"views": "success", "transform": "failed", "ingest_output": "upstream_failed"}
    assert {r.run_id for r in dag_runs(OUTPUT_DAG)} == queued_before
    assert _output_rows(stack) == before


def test_the_first_transformer_run_finds_its_input_views(stack: Stack, shim: Path) -> None:
    """Right after its input's first batch, before any infrastructure run reconciled the
    views, the transformer DAG's own `views` step creates them: the first run succeeds."""
    bag = _ingest_store1(stack, shim, reconcile=False)

    run, states = _test(bag, TRANSFORMER_DAG)

    assert run.state == "success", states
    assert states == {"views": "success", "transform": "success", "ingest_output": "success"}
    assert len(_output_rows(stack)) == 30
