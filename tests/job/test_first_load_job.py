"""The job's first load goes straight from the source into the empty merge tables: the
result equals the source (live) and opens one version per row (forensic); a value that
doesn't fit fails the batch with nothing loaded."""

from __future__ import annotations

from sqlalchemy import text

from datasurface.platforms.yellow.job import JobOutcome
from datasurface.platforms.yellow.projection import LIVE_BATCH_OUT
from tests.job.harness import Stack, address, customer, load_source


def test_first_load_equals_the_source_on_both_platforms(stack: Stack) -> None:
    load_source(stack, [customer(i) for i in range(1, 31)], [address(i, i) for i in range(1, 21)])
    for platform in ("YellowLive", "YellowForensic"):
        result = stack.run(platform, chunk_rows=7)
        assert (result.outcome, result.batch_id, result.counts.inserted) == (JobOutcome.DONE, 1, 50)
        assert stack.live_rows(platform, "customers") == stack.source_rows("customers")
        assert stack.live_rows(platform, "addresses") == stack.source_rows("addresses")
        assert [(b["state"], b["rows_inserted"], b["rows_total"]) for b in stack.batches(platform)] == [
            ("COMMITTED", 50, 50)
        ]
    versions = stack.merge_rows("YellowForensic", "customers", synthetic=True)
    assert {(r["ds_surf_batch_in"], r["ds_surf_batch_out"], r["ds_surf_batch_id"]) for r in versions} == {
        (1, LIVE_BATCH_OUT, 1)
    }
    # The second batch diffs against the first load: only the change is applied.
    load_source(
        stack,
        [customer(i, last_name="New") if i == 3 else customer(i) for i in range(1, 31)],
        [address(i, i) for i in range(1, 21)],
    )
    second = stack.run("YellowForensic")
    assert (second.counts.inserted, second.counts.updated, second.counts.deleted) == (0, 1, 0)
    assert stack.live_rows("YellowForensic", "customers") == stack.source_rows("customers")


def test_a_misfit_value_in_a_first_load_fails_the_batch_and_loads_nothing(stack: Stack) -> None:
    load_source(stack, [customer(i) for i in range(1, 4)], [address(i, i) for i in range(1, 4)])
    with stack.source.begin() as conn:
        conn.execute(text("ALTER TABLE addresses ALTER COLUMN city TYPE varchar(300)"))
        conn.execute(text("UPDATE addresses SET city = repeat('y', 250) WHERE id = 'a00002'"))
    result = stack.job("run", "YellowLive")
    assert result.returncode == 1
    assert "Dataset 'addresses'" in result.stderr and "column 'city'" in result.stderr
    assert "id='a00002'" in result.stderr and "Traceback" not in result.stderr
    assert [b["state"] for b in stack.batches("YellowLive")] == ["FAILED"]
    assert stack.live_rows("YellowLive", "customers") == [] and stack.live_rows("YellowLive", "addresses") == []
