"""The merge handler over a local git repository with three commits: the example model, a
new dataset and workspace (config rows and views follow), a model that doesn't lint
(nothing changes, the error is reported with the object path)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from datasurface.platforms.yellow import naming
from datasurface.platforms.yellow.merge_handler import ModelRefused, run_merge_handler
from datasurface.platforms.yellow.merge_handler.model_folders import model_folders
from datasurface.platforms.yellow.views import view_in_schema, workspace_schema
from tests.job.harness import Stack, address, customer, load_source
from tests.orchestration.helpers import consumer_views, rows
from tests.orchestration.model_repo import add_orders_and_consumer2, break_lint, init_repo

T0 = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _config_rows(stack: Stack, platform: str) -> dict[str, Any]:
    table = naming.config_table(platform)
    return {r["stream"]: r for r in rows(stack.merge, f'SELECT stream, config, updated_at FROM "{table}"')}


def _live_view(workspace: str, dsg: str, dataset: str) -> str:
    return f"{workspace_schema('YellowLive', workspace)}.{view_in_schema(dsg, 'Store1', dataset, 'live')}"


def _handler_cli(stack: Stack, repo: Path, models: Path, *more: str) -> Any:
    return stack.cli(
        "merge-handler", "--repo", str(repo), "--branch", "main", "--models-dir", str(models), *more, timeout=300
    )


def test_three_commits(stack: Stack, tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "eco-repo")
    models = tmp_path / "models"
    lines: list[str] = []

    # Commit 1: the example model. Config rows are written; views wait for the first batch.
    first = run_merge_handler(str(repo), "main", models, keep=5, clock=lambda: T0, progress=lines.append)
    assert first.model_folder == models / f"model-{int(T0.timestamp()):010d}" and first.new_folder
    assert [f.name for f in model_folders(models)] == [first.model_folder.name]
    summary = first.to_json()
    # YellowLive: Store1, the transformer's output MaskedCustomers and the transformer itself.
    inserted = {"YellowLive": 3, "YellowForensic": 1}
    pending = {"YellowLive": 3, "YellowForensic": 4}  # LiveDSG x2 + MaskedDSG; ForensicDSG live+history x2
    for p in summary["platforms"]:
        assert p["config_rows"] == {"inserted": inserted[p["platform"]], "updated": 0, "deleted": 0}
        assert p["error"] == ""
        assert p["views_created"] == [] and len(p["views_pending"]) == pending[p["platform"]]
    assert first.ok and any("pending" in line for line in lines)
    # The sandbox packs Store1: its pack's row stands for it (see stream_config.dag_rows).
    assert set(_config_rows(stack, "YellowLive")) == {"pack:pack0000", "MaskedCustomers", "transformer:Consumer1"}
    transformer = _config_rows(stack, "YellowLive")["transformer:Consumer1"]["config"]
    assert transformer["kind"] == "transformer" and transformer["input_streams"] == ["Store1"]
    assert transformer["output_stream"] == "MaskedCustomers" and transformer["models_dir"] == str(models)
    config = _config_rows(stack, "YellowLive")["pack:pack0000"]["config"]
    assert config["members"] == ["Store1"] and config["models_dir"] == str(models)
    assert all(c["name"] in ("postgres", "customer_db") for c in config["credentials"])
    assert "s3cr3t" not in json.dumps(config)

    # After the first batches, a rerun of the same commit reuses the folder and creates the views.
    load_source(stack, [customer(i) for i in range(1, 4)], [address(i, i) for i in range(1, 4)])
    stack.run("YellowLive")
    stack.run("YellowForensic")
    again = run_merge_handler(str(repo), "main", models, clock=lambda: T0 + dt.timedelta(seconds=30))
    assert not again.new_folder and again.model_folder == first.model_folder
    by_platform = {p.platform: p.to_json() for p in again.platforms}
    assert by_platform["YellowLive"]["config_rows"] == {"inserted": 0, "updated": 0, "deleted": 0}
    assert len(by_platform["YellowLive"]["views_created"]) == 2
    assert len(by_platform["YellowForensic"]["views_created"]) == 4

    # Commit 2 (through the CLI): a dataset and a workspace. The YellowLive row gains `orders`,
    # Consumer2's customers view is created, its orders view waits for its merge table.
    add_orders_and_consumer2(repo)
    done = _handler_cli(stack, repo, models, "--json")
    assert done.returncode == 0, done.stderr
    second = json.loads(done.stdout)
    assert second["new_folder"] and second["model_folder"] != str(first.model_folder)
    assert Path(second["model_folder"]).name > first.model_folder.name
    plats = {p["platform"]: p for p in second["platforms"]}
    # Every stream and pack row carries the compiled model's hash (shown in the DAG docs), so a
    # new model updates them all: YellowLive's pack (which also gains `orders`) and its
    # MaskedCustomers stream, YellowForensic's pack. Transformer rows carry no hash.
    assert second["model_hash"] != first.model_hash
    assert plats["YellowLive"]["config_rows"] == {"inserted": 0, "updated": 2, "deleted": 0}
    assert plats["YellowForensic"]["config_rows"] == {"inserted": 0, "updated": 1, "deleted": 0}
    assert plats["YellowLive"]["views_created"] == [_live_view("Consumer2", "OrdersDSG", "customers")]
    # MaskedConsumer's view still waits for the transformer output's first batch.
    orders_pending = [v for v in plats["YellowLive"]["views_pending"] if "consumer2" in v["view"]]
    assert [v["view"] for v in orders_pending] == [_live_view("Consumer2", "OrdersDSG", "orders")]
    assert "does not exist yet" in orders_pending[0]["reason"]
    pack = _config_rows(stack, "YellowLive")["pack:pack0000"]["config"]
    # The pack row names its members; their datasets come from the model, and the DAG docs
    # rendered into the row list them, with the new model's hash.
    assert pack["members"] == ["Store1"] and pack["model_hash"] == second["model_hash"]
    assert all(f"`{d}`" in pack["doc_md"] or d in pack["doc_md"] for d in ("customers", "addresses", "orders"))
    consumer2 = _live_view("Consumer2", "OrdersDSG", "customers")
    assert rows(stack.merge, f"SELECT id FROM {consumer2} ORDER BY id") == [{"id": f"c{i:05d}"} for i in range(1, 4)]
    assert "cloning" in done.stderr and "published" in done.stderr

    # Commit 3 doesn't lint: refused, nothing changes.
    state_before = (
        [f.name for f in model_folders(models)],
        _config_rows(stack, "YellowLive"),
        _config_rows(stack, "YellowForensic"),
        consumer_views(stack.merge),
    )
    break_lint(repo)
    refused = _handler_cli(stack, repo, models)
    assert refused.returncode == 1
    assert "Dataset 'orders'" in refused.stderr and "ds_surf_oops" in refused.stderr
    assert "does not lint" in refused.stderr
    with pytest.raises(ModelRefused) as caught:
        run_merge_handler(str(repo), "main", models, clock=lambda: T0 + dt.timedelta(days=1))
    assert any("Dataset 'orders'" in p.path for p in caught.value.problems)
    state_after = (
        [f.name for f in model_folders(models)],
        _config_rows(stack, "YellowLive"),
        _config_rows(stack, "YellowForensic"),
        consumer_views(stack.merge),
    )
    assert state_after == state_before
    assert sorted(p.name for p in models.iterdir()) == state_before[0]  # no .incoming-* left behind

    refused_json = _handler_cli(stack, repo, models, "--json")
    assert refused_json.returncode == 1
    data = json.loads(refused_json.stdout)
    assert data["refused"] and any(
        "ds_surf_oops" in p["message"] or "ds_surf_oops" in p["path"] for p in data["problems"]
    )


def test_unreachable_merge_database_is_reported_per_platform(stack: Stack, tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "eco-repo")
    models = tmp_path / "models"
    result = run_merge_handler(str(repo), "main", models, env={"PATH": "/usr/bin:/bin"})  # no credentials
    assert not result.ok
    assert all("POSTGRES_USER" in p.error for p in result.platforms)
    assert model_folders(models) == [result.model_folder]  # the model itself is deployed; the next run retries
    with stack.merge.connect() as conn:
        assert conn.execute(text("SELECT to_regclass(:t)"), {"t": naming.config_table("YellowLive")}).scalar() is None


def test_the_compiled_model_is_deployed_with_its_hash_and_a_committed_one_is_overwritten(
    stack: Stack, tmp_path: Path
) -> None:
    """What was checked is what runs: jobs and DAGs load the handler's model.json, never eco.py."""
    from datasurface.model.loader import load_model
    from tests.orchestration.model_repo import commit

    repo = init_repo(tmp_path / "eco-repo")
    (repo / "model.json").write_text('{"format": "datasurface-model", "version": 1, "forged": true}')
    commit(repo, "a forged compiled model")
    models = tmp_path / "models"
    lines: list[str] = []
    result = run_merge_handler(str(repo), "main", models, env={"PATH": "/usr/bin:/bin"}, progress=lines.append)
    deployed = result.model_folder / "model.json"
    document = json.loads(deployed.read_text())
    assert "forged" not in document and document["sha256"] == result.model_hash
    assert result.to_json()["model_hash"] == result.model_hash
    assert any(f"sha256 {result.model_hash}" in line for line in lines)
    (result.model_folder / "eco.py").write_text("raise SystemExit('eco.py must not run in production')\n")
    loaded = load_model(result.model_folder)
    assert loaded.model_hash == result.model_hash and loaded.ecosystem.platform("YellowLive") is not None
