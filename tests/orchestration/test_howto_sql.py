"""Every SQL block of howto/HOWTO_Query_Forensic_History.md runs against the sandbox model's
real views, the names it prints are the ones `views list` reports, and the change query
counts what happened."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text

from simulator.ids import CUSTOMER_PREFIX, IdSequence
from tests.job.harness import Stack
from tests.orchestration.helpers import listed_views, reconcile, rows
from tests.orchestration.test_views import _snapshot_batches

HOWTO = Path(__file__).resolve().parents[2] / "howto" / "HOWTO_Query_Forensic_History.md"


def _blocks() -> dict[str, str]:
    found = re.findall(r"```sql\n-- query: (\w+)\n(.*?)```", HOWTO.read_text(), flags=re.S)
    return {name: sql for name, sql in found}


def test_howto_names_are_the_listed_views(stack: Stack) -> None:
    doc = HOWTO.read_text()
    # Every view of the sandbox model, MaskedConsumer's too: the table lists them all.
    for entry in listed_views(stack):
        for key in ("live_view", "history_view"):
            if entry[key] is not None:
                assert f"`{entry[key]['qualified']}`" in doc, entry[key]["qualified"]


def test_howto_queries_run_and_count_changes(stack: Stack) -> None:
    snapshots = _snapshot_batches(stack)
    reconcile(stack, "YellowForensic")
    blocks = _blocks()
    assert set(blocks) >= {"live", "as_of_batch", "as_of_timestamp", "life", "changes_per_batch", "batch_diff"}
    with stack.merge.connect() as conn:
        for sql in blocks.values():
            conn.execute(text(sql)).fetchall()  # every block runs as written
    assert rows(stack.merge, blocks["as_of_batch"]) == snapshots[2]
    # The timestamp example returns rows on any stack: batch 2's snapshot.
    assert rows(stack.merge, blocks["as_of_timestamp"]) == snapshots[2]
    changes = rows(stack.merge, blocks["changes_per_batch"])
    assert [(c["batch_id"], c["inserted"], c["updated"], c["deleted"]) for c in changes] == [
        (1, 10, 0, 0),
        (2, 1, 1, 1),  # c11 added, c2's email changed, c5 deleted
        (3, 1, 1, 0),  # c5 back (a new version), c2 reverted; batch 4 changed nothing
    ]
    diff = rows(stack.merge, blocks["batch_diff"])
    assert [(d["id"], d["change"]) for d in diff] == [("c00002", "update"), ("c00005", "delete"), ("c00011", "insert")]
    # The doc uses the simulator's id format (`make demo`); this harness numbers with five digits.
    assert "'c000002'" in blocks["life"] and IdSequence(CUSTOMER_PREFIX).parse("c000002") == 2
    assert IdSequence(CUSTOMER_PREFIX).next() == "c000001"
    life = rows(stack.merge, blocks["life"].replace("'c000002'", "'c00002'"))
    assert [(r["ds_surf_batch_in"], r["ds_surf_batch_out"], r["is_live"]) for r in life] == [
        (1, 1, False),
        (2, 2, False),
        (3, 2147483647, True),
    ]
