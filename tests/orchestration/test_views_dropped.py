"""The reconciler drops the views of sinks that are gone, says so, and touches nothing else:
not the views still wanted, not another platform's views in the same database, not views a
person made, and not a gone sink's view that something else still reads (reported instead)."""

from __future__ import annotations

from sqlalchemy import text

from tests.job.harness import Stack, address, customer, load_source
from tests.orchestration.helpers import consumer_views, listed_views, reconcile, view_of


def _forensic_reads_customers_only(stack: Stack) -> None:
    eco = stack.model_dir / "eco.py"
    before = eco.read_text()
    old = '"ForensicDSG", sinks=list(sinks)'
    assert old in before
    eco.write_text(before.replace(old, '"ForensicDSG", sinks=[DatasetSink("Store1", "customers")]'))


def test_views_of_a_removed_sink_are_dropped_and_reported(stack: Stack) -> None:
    load_source(stack, [customer(i) for i in range(1, 4)], [address(i, i) for i in range(1, 4)])
    stack.run("YellowForensic")
    stack.run("YellowLive")
    reconcile(stack, "YellowForensic")
    reconcile(stack, "YellowLive", expect=1)  # MaskedConsumer's view waits for the transformer
    views = listed_views(stack)
    gone = sorted(
        view_of([v for v in views if v["workspace"] == "Consumer1"], "YellowForensic", "addresses", kind)
        for kind in ("live_view", "history_view")
    )
    kept = view_of([v for v in views if v["workspace"] == "Consumer1"], "YellowForensic", "customers")
    live_addresses = view_of([v for v in views if v["workspace"] == "Consumer1"], "YellowLive", "addresses")
    schema = kept.split(".")[0]
    with stack.merge.begin() as conn:  # a person's own view next to ours, without our marker
        conn.execute(text(f"CREATE VIEW {schema}.my_report AS SELECT 1 AS one"))
    before = {(s, v) for s, v, _ in consumer_views(stack.merge)}

    _forensic_reads_customers_only(stack)
    out = reconcile(stack, "YellowForensic")  # exit 0: dropping is not a problem
    assert sorted(out["dropped"]) == gone
    statuses = {v["view"]: v["status"] for v in out["views"]}
    assert all(statuses[g] == "dropped" for g in gone) and statuses[kept] == "unchanged"
    for v in out["views"]:
        if v["status"] == "dropped":
            assert "Consumer1" in v["reason"] and "addresses" in v["reason"]
            assert "no sink of the model reads it on this platform any more" in v["reason"]
    after = {(s, v) for s, v, _ in consumer_views(stack.merge)}
    assert before - after == {tuple(g.split(".")) for g in gone}
    assert (schema, "my_report") in after and tuple(live_addresses.split(".")) in after

    text_out = stack.cli("views", "reconcile", "--model", str(stack.model_dir), "--platform", "YellowForensic")
    assert text_out.returncode == 0
    assert "0 dropped" in text_out.stdout  # already gone: said once, not every run


def test_a_gone_sinks_view_that_others_read_is_reported_not_dropped(stack: Stack) -> None:
    load_source(stack, [customer(1)], [address(1, 1)])
    stack.run("YellowForensic")
    reconcile(stack, "YellowForensic")
    addresses = view_of(
        [v for v in listed_views(stack) if v["workspace"] == "Consumer1"], "YellowForensic", "addresses"
    )
    schema = addresses.split(".")[0]
    with stack.merge.begin() as conn:
        conn.execute(text(f"CREATE VIEW {schema}.on_top AS SELECT * FROM {addresses}"))
    _forensic_reads_customers_only(stack)
    out = reconcile(stack, "YellowForensic", expect=1)
    (failed,) = [v for v in out["views"] if v["view"] == addresses]
    assert failed["status"] == "failed"
    assert "was not dropped" in failed["reason"] and "depend" in failed["reason"]
    assert (schema, addresses.split(".")[1]) in {(s, v) for s, v, _ in consumer_views(stack.merge)}
