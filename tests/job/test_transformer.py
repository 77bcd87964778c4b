"""DataTransformers end to end on the sandbox model as shipped (Consumer1's transformer masks
Store1.customers into MaskedCustomers, which MaskedConsumer reads on YellowLive): source change
-> ingestion -> transformer -> output ingestion -> the second workspace's view shows the
masked, changed row. And a failing transformer changes nothing."""

from __future__ import annotations

import json

from sqlalchemy import text

from datasurface.model.loader import load_model
from datasurface.platforms.yellow.transformer_job import TransformerJob
from datasurface.platforms.yellow.view_reconcile import reconcile_views
from datasurface.platforms.yellow.views import plan_sink_views
from tests.job.harness import Stack, address, customer, load_source


def _reconcile(stack: Stack) -> None:
    model = load_model(stack.model_dir)
    platform = model.ecosystem.platform("YellowLive")
    specs = [s for sv in plan_sink_views(model.ecosystem, model.assignments, platform) for s in sv.specs()]  # type: ignore[arg-type]
    reconcile_views(stack.merge, "YellowLive", specs)


def _masked_view_rows(stack: Stack) -> dict[str, dict[str, object]]:
    model = load_model(stack.model_dir)
    platform = model.ecosystem.platform("YellowLive")
    (view,) = [
        sv.live.sql_name
        for sv in plan_sink_views(model.ecosystem, model.assignments, platform)  # type: ignore[arg-type]
        if sv.workspace == "MaskedConsumer"
    ]
    with stack.merge.connect() as conn:
        return {r.id: dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {view}"))}


def test_source_change_flows_through_the_transformer_to_the_second_workspace(stack: Stack) -> None:
    load_source(stack, [customer(i) for i in range(1, 11)], [address(i, i) for i in range(1, 11)])
    assert stack.job("run", "YellowLive").returncode == 0
    _reconcile(stack)
    first = stack.cli("transformer", "run", "--model", str(stack.model_dir), "--platform", "YellowLive",
                      "--workspace", "Consumer1", "--ingest", "--json")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["rows_written"] == {"customers": 10}
    _reconcile(stack)
    rows = _masked_view_rows(stack)
    assert rows["c00004"]["email"] == "***@example.com" and rows["c00004"]["phone"] == "***04"
    assert rows["c00004"]["last_name"] == "L."

    # The producer changes a customer; the change reaches the masked view, masked.
    load_source(
        stack,
        [
            customer(i, email="vip@corp.example", phone="+44-20-7946-0958") if i == 4 else customer(i)
            for i in range(1, 11)
        ],
        [address(i, i) for i in range(1, 11)],
    )
    assert stack.job("run", "YellowLive").returncode == 0
    second = stack.cli("transformer", "run", "--model", str(stack.model_dir), "--platform", "YellowLive",
                       "--workspace", "Consumer1", "--ingest")  # fmt: skip
    assert second.returncode == 0, second.stderr
    rows = _masked_view_rows(stack)
    assert rows["c00004"]["email"] == "***@corp.example" and rows["c00004"]["phone"] == "***58"
    assert all(r["dob"] is None for r in rows.values())


def test_a_failing_transformer_changes_nothing(stack: Stack) -> None:
    load_source(stack, [customer(i) for i in range(1, 6)], [address(i, i) for i in range(1, 6)])
    assert stack.job("run", "YellowLive").returncode == 0
    _reconcile(stack)
    ok = stack.cli("transformer", "run", "--model", str(stack.model_dir), "--platform", "YellowLive",
                   "--workspace", "Consumer1", "--ingest")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    _reconcile(stack)
    before = _masked_view_rows(stack)
    batches_before = stack.batches("YellowLive")

    # New source data, then a broken version of the transformer code.
    load_source(stack, [customer(i, first_name="Changed") for i in range(1, 6)], [address(i, i) for i in range(1, 6)])
    assert stack.job("run", "YellowLive").returncode == 0
    code = stack.model_dir / "transformers" / "masking.py"
    code.write_text(code.read_text().replace("left(last_name, 1)", "left(no_such_column, 1)"))
    failed = stack.cli("transformer", "run", "--model", str(stack.model_dir), "--platform", "YellowLive",
                       "--workspace", "Consumer1", "--ingest")  # fmt: skip
    assert failed.returncode == 1
    assert "Workspace 'Consumer1' / DataTransformer: code masking:mask_customers (version 1.0) failed" in failed.stderr
    assert "the previous output is unchanged" in failed.stderr
    assert _masked_view_rows(stack) == before
    # Only the Store1 batch was added: the output store was not ingested.
    assert len(stack.batches("YellowLive")) == len(batches_before) + 1


def test_transformer_job_reads_only_its_workspace_views(stack: Stack) -> None:
    load_source(stack, [customer(1)], [address(1, 1)])
    stack.run("YellowLive")
    _reconcile(stack)
    model = load_model(stack.model_dir)
    platform = model.ecosystem.platform("YellowLive")
    job = TransformerJob(model, platform, "Consumer1", stack.merge)  # type: ignore[arg-type]
    assert set(job._inputs()) == {("Store1", "customers"), ("Store1", "addresses")}
