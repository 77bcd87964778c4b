"""Consumer views over real batches: live views equal the source, history views rebuild
every committed batch's snapshot (as of a batch id and as of a timestamp)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import text

from datasurface.platforms.yellow import naming
from tests.job.harness import STORE, Stack, address, customer, load_source
from tests.orchestration.helpers import cli_json, columns, listed_views, reconcile, rows, view_of

CUSTOMER_COLS = ["id", "first_name", "last_name", "email", "phone", "dob", "created_at", "updated_at"]
HISTORY_EXTRAS = ["ds_surf_batch_in", "ds_surf_batch_out", "ds_surf_valid_from", "ds_surf_valid_to"]


def _commit_times(stack: Stack, platform: str) -> dict[int, dt.datetime]:
    got = rows(
        stack.merge,
        f'SELECT batch_id, ended_at FROM "{naming.batch_metrics_table(platform)}"'
        " WHERE stream = :s AND state = 'COMMITTED'",
        s=STORE,
    )
    return {r["batch_id"]: r["ended_at"] for r in got}


def _snapshot_batches(stack: Stack) -> dict[int, list[dict[str, Any]]]:
    """Run four forensic batches (insert, update+delete+insert, re-insert, no change) and
    return the source's customers snapshot of each."""
    changes = [
        ([customer(i) for i in range(1, 11)], [address(i, i) for i in range(1, 11)]),
        (
            [customer(i, email="new@example.com") if i == 2 else customer(i) for i in range(1, 12) if i != 5],
            [address(i, i) for i in range(1, 12) if i != 5],
        ),
        ([customer(i) for i in range(1, 12)], [address(i, i) for i in range(1, 12)]),  # c5 is back, c2 reverted
        ([customer(i) for i in range(1, 12)], [address(i, i) for i in range(1, 12)]),  # nothing changed
    ]
    snapshots = {}
    for batch, (custs, addrs) in enumerate(changes, start=1):
        load_source(stack, custs, addrs)
        result = stack.run("YellowForensic")
        assert result.batch_id == batch
        snapshots[batch] = stack.source_rows("customers")
    return snapshots


def test_reconcile_before_the_first_batch_names_the_pending_views(stack: Stack) -> None:
    out = reconcile(stack, "YellowForensic", expect=1)
    views = listed_views(stack)
    expected = sorted(
        view_of(views, "YellowForensic", ds, kind)
        for ds in ("customers", "addresses")
        for kind in ("live_view", "history_view")
    )
    assert sorted(out["pending"]) == expected
    assert all("does not exist yet" in v["reason"] and "job run" in v["reason"] for v in out["views"])
    text_out = stack.cli("views", "reconcile", "--model", str(stack.model_dir), "--platform", "YellowForensic")
    assert text_out.returncode == 1
    for name in expected:
        assert name in text_out.stdout


def test_live_and_history_views_follow_the_batches(stack: Stack) -> None:
    snapshots = _snapshot_batches(stack)
    load_source(stack, [customer(i) for i in range(1, 12)], [address(i, i) for i in range(1, 12)])
    stack.run("YellowLive")
    first = reconcile(stack, "YellowForensic")
    assert {v["status"] for v in first["views"]} == {"created"} and first["pending"] == []
    # YellowLive: Consumer1's views are created; MaskedConsumer's waits for the transformer's
    # output stream (tests/job/test_transformer.py runs it), so the reconcile reports it pending.
    live = reconcile(stack, "YellowLive", expect=1)
    assert {v["status"] for v in live["views"] if "consumer1" in v["view"]} == {"created"}
    assert live["pending"] == [v["view"] for v in live["views"] if "maskedconsumer" in v["view"]] != []

    views = [v for v in listed_views(stack) if v["workspace"] == "Consumer1"]
    live_f = view_of(views, "YellowForensic", "customers")
    live_l = view_of(views, "YellowLive", "customers")
    hist = view_of(views, "YellowForensic", "customers", "history_view")
    assert all(v["live_view"]["exists"] for v in views)
    assert [v["history_view"] is None for v in views] == [v["platform"] == "YellowLive" for v in views]

    # Live views: the dataset's columns only, equal to the source.
    assert columns(stack.merge, live_f) == CUSTOMER_COLS == columns(stack.merge, live_l)
    assert columns(stack.merge, hist) == CUSTOMER_COLS + HISTORY_EXTRAS
    source = stack.source_rows("customers")
    assert rows(stack.merge, f"SELECT * FROM {live_f} ORDER BY id") == source
    assert rows(stack.merge, f"SELECT * FROM {live_l} ORDER BY id") == source
    addresses_live = view_of(views, "YellowForensic", "addresses")
    assert rows(stack.merge, f"SELECT * FROM {addresses_live} ORDER BY id") == stack.source_rows("addresses")

    # History: as of every committed batch id, and as of every commit time.
    cols = ", ".join(CUSTOMER_COLS)
    times = _commit_times(stack, "YellowForensic")
    for batch, snapshot in snapshots.items():
        as_of_batch = rows(
            stack.merge,
            f"SELECT {cols} FROM {hist} WHERE ds_surf_batch_in <= :b AND :b <= ds_surf_batch_out ORDER BY id",
            b=batch,
        )
        assert as_of_batch == snapshot, f"batch {batch}"
        for t in (times[batch], times[batch] + dt.timedelta(microseconds=1)):
            as_of_time = rows(
                stack.merge,
                f"SELECT {cols} FROM {hist} WHERE ds_surf_valid_from <= :t"
                " AND (ds_surf_valid_to IS NULL OR :t < ds_surf_valid_to) ORDER BY id",
                t=t,
            )
            assert as_of_time == snapshot, f"as of {t} (batch {batch})"
    before_first = times[1] - dt.timedelta(microseconds=1)
    assert rows(stack.merge, f"SELECT id FROM {hist} WHERE ds_surf_valid_from <= :t", t=before_first) == []

    # One customer's life: c5 deleted in batch 2, back in batch 3; c2 changed in 2, back in 3.
    life = rows(
        stack.merge,
        f"SELECT id, email, ds_surf_batch_in, ds_surf_batch_out, ds_surf_valid_from, ds_surf_valid_to"
        f" FROM {hist} WHERE id IN ('c00002', 'c00005') ORDER BY id, ds_surf_batch_in",
    )
    assert [(r["id"], r["ds_surf_batch_in"], r["ds_surf_batch_out"]) for r in life] == [
        ("c00002", 1, 1),
        ("c00002", 2, 2),
        ("c00002", 3, 2147483647),
        ("c00005", 1, 1),
        ("c00005", 3, 2147483647),
    ]
    assert [r["ds_surf_valid_to"] for r in life] == [times[2], times[3], None, times[2], None]
    assert [r["ds_surf_valid_from"] for r in life] == [times[1], times[2], times[3], times[1], times[3]]

    # Rerun: idempotent, nothing touched.
    again = reconcile(stack, "YellowForensic")
    assert {v["status"] for v in again["views"]} == {"unchanged"}


def test_schema_evolution_reaches_the_views_and_keeps_grants(stack: Stack) -> None:
    load_source(stack, [customer(i) for i in range(1, 6)], [address(i, i) for i in range(1, 6)])
    stack.run("YellowForensic")
    reconcile(stack, "YellowForensic")
    hist = view_of(listed_views(stack), "YellowForensic", "customers", "history_view")
    live = view_of(listed_views(stack), "YellowForensic", "customers")
    role = f"ds_reader_{uuid.uuid4().hex[:8]}"
    schema = hist.split(".")[0]
    with stack.merge.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role}"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {role}"))
        conn.execute(text(f"GRANT SELECT ON {hist}, {live} TO {role}"))
    try:
        # The producer adds a nullable column: to the model and to the source.
        eco = stack.model_dir / "eco.py"
        eco.write_text(
            eco.read_text().replace(
                'DDLColumn("updated_at", Timestamp(), nullable=False),\n            ],\n            primary_key=["id"],\n        ),\n        classification=DataClassification.PII,\n    )\n\n\ndef _addresses',
                'DDLColumn("updated_at", Timestamp(), nullable=False),\n                DDLColumn("loyalty_tier", VarChar(20)),\n            ],\n            primary_key=["id"],\n        ),\n        classification=DataClassification.PII,\n    )\n\n\ndef _addresses',
            )
        )
        with stack.source.begin() as conn:
            conn.execute(text("ALTER TABLE customers ADD COLUMN loyalty_tier varchar(20)"))
            conn.execute(text("UPDATE customers SET loyalty_tier = 'gold' WHERE id = 'c00001'"))

        # Before the next batch the merge table lacks the column: pending, old views kept.
        out = reconcile(stack, "YellowForensic", expect=1)
        assert sorted(out["pending"]) == sorted([hist, live])
        assert all("loyalty_tier" in v["reason"] for v in out["views"] if v["status"] == "pending")
        assert "loyalty_tier" not in columns(stack.merge, live)

        stack.run("YellowForensic")
        statuses = {v["view"]: v["status"] for v in reconcile(stack, "YellowForensic")["views"]}
        assert statuses[live] == "updated"  # column appended: CREATE OR REPLACE
        assert statuses[hist] == "recreated"  # new column before the ds_surf_* ones: drop + create
        assert columns(stack.merge, live) == [*CUSTOMER_COLS, "loyalty_tier"]
        assert columns(stack.merge, hist) == [*CUSTOMER_COLS, "loyalty_tier", *HISTORY_EXTRAS]
        gold = rows(stack.merge, f"SELECT id, loyalty_tier FROM {live} WHERE loyalty_tier IS NOT NULL")
        assert gold == [{"id": "c00001", "loyalty_tier": "gold"}]
        # Old versions read NULL for the new column; the history still has batch 1.
        assert rows(stack.merge, f"SELECT count(*) AS n FROM {hist} WHERE ds_surf_batch_in = 1")[0]["n"] == 5
        with stack.merge.connect() as conn:
            for view in (hist, live):
                granted = conn.execute(text("SELECT has_table_privilege(:r, :v, 'SELECT')"), {"r": role, "v": view})
                assert granted.scalar_one(), f"{role} lost SELECT on {view}"
    finally:
        with stack.merge.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


def test_views_list_json(stack: Stack) -> None:
    offline = cli_json(stack, "views", "list", "--model", str(stack.model_dir), "--no-db")
    entries = offline["views"]
    assert [(e["platform"], e["workspace"], e["dsg"], e["store"], e["dataset"]) for e in entries] == [
        ("YellowLive", "Consumer1", "LiveDSG", "Store1", "addresses"),
        ("YellowLive", "Consumer1", "LiveDSG", "Store1", "customers"),
        ("YellowLive", "MaskedConsumer", "MaskedDSG", "MaskedCustomers", "customers"),
        ("YellowForensic", "Consumer1", "ForensicDSG", "Store1", "addresses"),
        ("YellowForensic", "Consumer1", "ForensicDSG", "Store1", "customers"),
    ]
    for e in entries:
        live = e["live_view"]
        assert live["qualified"] == f"{live['schema']}.{live['name']}" and live["exists"] is None
        assert naming.is_legal_identifier(live["schema"]) and naming.is_legal_identifier(live["name"])
        assert (e["history_view"] is not None) == (e["dsg"] == "ForensicDSG")
    assert offline["databases"]["YellowLive"] == {"checked": False, "reason": "--no-db"}

    online = cli_json(stack, "views", "list", "--model", str(stack.model_dir), "--platform", "YellowLive")
    assert online["databases"] == {"YellowLive": {"checked": True, "reason": ""}}
    assert [e["live_view"]["exists"] for e in online["views"]] == [False, False, False]

    unreachable = cli_json(
        stack, "views", "list", "--model", str(stack.model_dir), extra_env={"DATASURFACE_MERGE_PORT": "1"}
    )
    assert all(not d["checked"] and d["reason"] for d in unreachable["databases"].values())
    assert all(e["live_view"]["exists"] is None for e in unreachable["views"])
