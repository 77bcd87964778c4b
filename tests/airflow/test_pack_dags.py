"""Pack DAGs over the packed sandbox model: parsed from the dags-folder shim by a real DagBag
and run with `dag.test()` (local launcher) against real Postgres."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datasurface.platforms.yellow.stream_config import (
    dag_id_for,
    dataset_asset_uri,
    pack_dag_id_for,
    stream_asset_uri,
    transformer_dag_id_for,
)
from tests.airflow.helpers import parse, write_model_config
from tests.job.harness import STORE, Stack

PLATFORM = "YellowLive"
PACK_DAG = pack_dag_id_for(PLATFORM, "pack0000")


@pytest.fixture
def packed(stack: Stack, factory_env: pytest.MonkeyPatch) -> Stack:
    factory_env.setenv("DATASURFACE_PACK_SIZE", "50")  # the sandbox's default
    write_model_config(stack, PLATFORM)
    return stack


def test_the_packed_sandbox_has_one_dag_per_pack(packed: Stack, shim: Path) -> None:
    bag = parse(shim)
    assert bag.import_errors == {}
    # Store1 is packed; the transformer's output stream keeps its own DAG (the transformer
    # triggers it); the transformer DAG is unchanged.
    assert set(bag.dag_ids) == {
        PACK_DAG,
        dag_id_for(PLATFORM, "MaskedCustomers"),
        transformer_dag_id_for(PLATFORM, "Consumer1"),
    }
    dag = bag.dags[PACK_DAG]
    assert dag.schedule == "*/1 * * * *"  # Store1's cron: the pack's only member
    assert [t.task_id for t in dag.topological_sort()] == ["job", "report", "route", "keep_working"]
    job = dag.get_task("job")
    assert job.pool == "datasurface_merge__yellow_merge"
    assert "job run-pack" in job.bash_command and "--pack pack0000" in job.bash_command
    # Docs and owner from the model.
    assert dag.owner == "customer_team"
    for text in ("Store1", "customers, addresses", "customer_team", "Consumer1/LiveDSG", "Model hash"):
        assert text in dag.doc_md
    stream_dag = bag.dags[dag_id_for(PLATFORM, "MaskedCustomers")]
    assert stream_dag.owner == "analytics_team" and "MaskedConsumer/MaskedDSG" in stream_dag.doc_md


def test_a_pack_dag_run_commits_and_records_asset_events(packed: Stack, shim: Path, airflow_pool: str) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    bag = parse(shim)
    run = bag.dags[PACK_DAG].test()
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    assert states == {"job": "success", "report": "success", "route": "success", "keep_working": "skipped"}
    batches = packed.batches(PLATFORM)
    assert [(b["batch_id"], b["state"], b["rows_inserted"]) for b in batches] == [(1, "COMMITTED", 60)]
    assert len(packed.live_rows(PLATFORM, "customers")) == 30
    with create_session() as session:
        events = {
            uri: extra
            for uri, extra in session.query(AssetModel.uri, AssetEvent.extra)
            .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetEvent.source_run_id == run.run_id)
        }
    expected = {
        stream_asset_uri(PLATFORM, STORE),
        dataset_asset_uri(PLATFORM, STORE, "customers"),
        dataset_asset_uri(PLATFORM, STORE, "addresses"),
    }
    assert set(events) == expected
    for extra in events.values():
        assert {k: extra[k] for k in ("batch_id", "inserted", "updated", "deleted")} == {
            "batch_id": 1,
            "inserted": 60,
            "updated": 0,
            "deleted": 0,
        }


def test_a_failed_member_fails_the_run(
    packed: Stack, shim: Path, factory_env: pytest.MonkeyPatch, airflow_pool: str
) -> None:
    factory_env.setenv("CUSTOMER_DB_USER", "nobody_here")  # the source refuses the member
    run = parse(shim).dags[PACK_DAG].test()
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "failed"
    assert states == {"job": "success", "report": "success", "route": "failed", "keep_working": "upstream_failed"}


def test_local_dags_never_import_the_kubernetes_provider(packed: Stack, shim: Path) -> None:
    """The dags folder of a local-launcher platform parses without the cncf-kubernetes
    provider or the kubernetes client (about 2 s of CPU per parse)."""

    def k8s_modules(dag_file: Path) -> list[str]:
        code = (
            "import json, sys\n"
            "from airflow.dag_processing.dagbag import DagBag\n"
            f"bag = DagBag(dag_folder={str(dag_file)!r}, safe_mode=True)\n"
            "print(json.dumps({'dags': len(bag.dag_ids), 'errors': len(bag.import_errors),"
            " 'k8s': sorted(m for m in sys.modules if m.startswith(('airflow.providers.cncf', 'kubernetes')))}))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ), check=True
        )
        found = json.loads(out.stdout.strip().splitlines()[-1])
        assert found["errors"] == 0
        return list(found["k8s"])

    # The oracle: what Airflow itself loads (provider discovery) for a file with no DAGs.
    empty = shim.parent.parent / "empty_dags" / "empty_dag.py"
    empty.parent.mkdir(exist_ok=True)
    empty.write_text("# airflow DAG file without DAGs\n")
    baseline = set(k8s_modules(empty))
    loaded = set(k8s_modules(shim))
    assert loaded <= baseline, sorted(loaded - baseline)
    assert not any(m.startswith(("kubernetes", "airflow.providers.cncf.kubernetes.operators")) for m in loaded)
