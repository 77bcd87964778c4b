"""Data-driven merge scenarios, each run against both the live and the forensic merge.

A scenario is a list of successive source snapshots (the batches before and the change set)
and what the last batch must report. After every batch the harness checks that the live
table equals the source and that history reproduces every committed batch's snapshot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import Engine

from datasurface.model.schema import Date, DDLColumn, DDLTable, Decimal, Integer, Text, VarChar
from datasurface.platforms.yellow.merge import InvalidKeyError, MergeCounts

from .harness import Harness, Row

CUSTOMERS = DDLTable(
    columns=[
        DDLColumn("id", Integer(), nullable=False),
        DDLColumn("name", VarChar(50)),
        DDLColumn("city", Text()),
        DDLColumn("balance", Decimal(10, 2)),
    ],
    primary_key=["id"],
)
CUSTOMERS_V2 = DDLTable(columns=[*CUSTOMERS.columns, DDLColumn("joined", Date())], primary_key=["id"])
ORDER_LINES = DDLTable(
    columns=[
        DDLColumn("order_id", Integer(), nullable=False),
        DDLColumn("line", Integer(), nullable=False),
        DDLColumn("sku", Text()),
    ],
    primary_key=["order_id", "line"],
)


def c(id_: int, name: str | None = "n", city: str | None = "c", balance: Any = D("1.00")) -> Row:
    return {"id": id_, "name": name, "city": city, "balance": balance}


@dataclass
class Scenario:
    id: str
    batches: list[list[Row]]
    counts: MergeCounts  # of the last batch
    versions: int  # forensic version rows after the last batch
    table: DDLTable = field(default_factory=lambda: CUSTOMERS)
    # schema per batch index, when the model changes between batches
    evolve_at: dict[int, DDLTable] = field(default_factory=dict)
    unchanged_last: bool = False  # the last batch must rewrite no row


SCENARIOS = [
    Scenario("first_load", [[c(1), c(2)]], MergeCounts(inserted=2), versions=2),
    Scenario("insert", [[c(1)], [c(1), c(2)]], MergeCounts(inserted=1), versions=2),
    Scenario("update", [[c(1), c(2)], [c(1, name="x"), c(2)]], MergeCounts(updated=1), versions=3),
    Scenario("delete", [[c(1), c(2)], [c(1)]], MergeCounts(deleted=1), versions=2),
    Scenario("delete_then_reinsert", [[c(1), c(2)], [c(1)], [c(1), c(2)]], MergeCounts(inserted=1), versions=3),
    Scenario("value_to_null", [[c(1)], [c(1, city=None)]], MergeCounts(updated=1), versions=2),
    Scenario("null_to_value", [[c(1, city=None)], [c(1)]], MergeCounts(updated=1), versions=2),
    Scenario("null_to_empty_string", [[c(1, city=None)], [c(1, city="")]], MergeCounts(updated=1), versions=2),
    Scenario(
        "shifted_text", [[c(1, name="ab", city="c")], [c(1, name="a", city="bc")]], MergeCounts(updated=1), versions=2
    ),
    Scenario(
        "no_change",
        [[c(1), c(2, city=None)], [c(1), c(2, city=None)]],
        MergeCounts(),
        versions=2,
        unchanged_last=True,
    ),
    Scenario(
        "decimal_scale_is_no_change",
        [[c(1, balance=D("1.5"))], [c(1, balance=D("1.50"))]],
        MergeCounts(),
        versions=1,
        unchanged_last=True,
    ),
    Scenario("empty_source", [[c(1), c(2)], []], MergeCounts(deleted=2), versions=2),
    Scenario("mixed", [[c(1), c(2), c(3)], [c(1, name="y"), c(3), c(4)]], MergeCounts(1, 1, 1), versions=5),
    Scenario(
        "new_nullable_column_null",
        [[c(1), c(2)], [c(1), c(2)]],
        MergeCounts(),
        versions=2,
        evolve_at={1: CUSTOMERS_V2},
        unchanged_last=True,
    ),
    Scenario(
        "new_nullable_column_filled",
        [[c(1), c(2)], [{**c(1), "joined": dt.date(2024, 1, 2)}, c(2)]],
        MergeCounts(updated=1),
        versions=3,
        evolve_at={1: CUSTOMERS_V2},
    ),
    Scenario(
        "composite_key",
        [
            [{"order_id": 1, "line": 1, "sku": "a"}, {"order_id": 1, "line": 2, "sku": "b"}],
            [
                {"order_id": 1, "line": 1, "sku": "a"},
                {"order_id": 1, "line": 2, "sku": "c"},
                {"order_id": 2, "line": 1, "sku": "b"},
            ],
        ],
        MergeCounts(inserted=1, updated=1),
        versions=4,
        table=ORDER_LINES,
    ),
    Scenario(
        "composite_key_shifted_parts",
        [[{"order_id": 1, "line": 12, "sku": "a"}], [{"order_id": 11, "line": 2, "sku": "a"}]],
        MergeCounts(inserted=1, deleted=1),
        versions=2,
        table=ORDER_LINES,
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_scenario(pg_engine: Engine, scenario: Scenario) -> None:
    h = Harness(pg_engine, scenario.table)
    for i, rows in enumerate(scenario.batches):
        if i in scenario.evolve_at:
            h.evolve(scenario.evolve_at[i])
        last = i == len(scenario.batches) - 1
        if last and scenario.unchanged_last:
            before_live, before_hist = h.xmins(h.live), h.xmins(h.hist)
        h.run_batch(rows)
        h.check_all()
    assert h.last_counts == scenario.counts
    assert h.hist_version_count() == scenario.versions
    if scenario.unchanged_last:
        # Same physical tuples, same creating transaction: nothing was rewritten.
        assert h.xmins(h.live) == before_live
        assert h.xmins(h.hist) == before_hist


def test_new_column_old_versions_read_null(pg_engine: Engine) -> None:
    h = Harness(pg_engine, CUSTOMERS)
    h.run_batch([c(1)])
    h.evolve(CUSTOMERS_V2)
    k = h.run_batch([{**c(1), "joined": dt.date(2024, 1, 2)}])
    assert h.hist_as_of(k - 1) == [(1, "n", "c", D("1.00"), None)]
    assert h.live_rows() == [(1, "n", "c", D("1.00"), dt.date(2024, 1, 2))]


def test_duplicate_keys_fail_batch_naming_keys_and_merge_nothing(pg_engine: Engine) -> None:
    h = Harness(pg_engine, CUSTOMERS)
    h.run_batch([c(1), c(2)])
    live_before, hist_before = h.xmins(h.live), h.xmins(h.hist)
    with pytest.raises(InvalidKeyError) as err:
        h.run_batch([c(1, name="x"), c(3), c(3, name="other"), c(7), c(7), c(2, name="changed")])
    assert err.value.keys == [{"id": 3}, {"id": 7}]
    assert "id=3" in str(err.value) and "id=7" in str(err.value)
    assert not err.value.null_keys
    assert h.xmins(h.live) == live_before and h.xmins(h.hist) == hist_before
    h.check_all()  # still the committed batch 1
    # The next clean batch merges normally against batch 1 (the failed id is skipped).
    k = h.run_batch([c(1, name="x")])
    assert k == 3
    h.check_all()


def test_duplicate_composite_keys_named(pg_engine: Engine) -> None:
    h = Harness(pg_engine, ORDER_LINES)
    with pytest.raises(InvalidKeyError) as err:
        h.run_batch([{"order_id": 1, "line": 2, "sku": "a"}, {"order_id": 1, "line": 2, "sku": "b"}])
    assert err.value.keys == [{"order_id": 1, "line": 2}]
    assert "order_id=1, line=2" in str(err.value)


def test_null_key_fails_batch(pg_engine: Engine) -> None:
    h = Harness(pg_engine, CUSTOMERS)
    with pytest.raises(InvalidKeyError) as err:
        h.run_batch([c(1), {**c(2), "id": None}])
    assert err.value.null_keys
    assert h.live_rows() == []


def test_forensic_close_uses_last_committed_batch(pg_engine: Engine) -> None:
    """Batch 2 fails: the version closed by batch 3 must end at 1, never claim batch 2."""
    h = Harness(pg_engine, CUSTOMERS)
    h.run_batch([c(1)])
    with pytest.raises(InvalidKeyError):
        h.run_batch([c(1), c(1)])
    k = h.run_batch([c(1, name="z")])
    assert k == 3
    with pg_engine.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(
            text(f'SELECT name, ds_surf_batch_in, ds_surf_batch_out FROM "{h.hist}" ORDER BY ds_surf_batch_in')
        ).all()
    assert [tuple(r) for r in rows] == [("n", 1, 1), ("z", 3, 2147483647)]
