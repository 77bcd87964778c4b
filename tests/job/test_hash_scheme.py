"""Upgrading over tables whose stored row hashes an earlier hash scheme wrote: the first run
rehashes them once, so the next merge sees exactly the source's changes (no spurious update
of every row, no new forensic version of every row), including a batch staged half under
the earlier scheme."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from datasurface.platforms.yellow import naming
from datasurface.platforms.yellow.hashing import SCHEME_MARKER
from datasurface.platforms.yellow.job import JobOutcome
from datasurface.platforms.yellow.projection import ALL_HASH
from tests.job.harness import PLATFORMS, STORE, Stack, address, customer, load_source

DATASETS = ("customers", "addresses")


def _merge_table(platform: str, dataset: str) -> str:
    return naming.merge_table(platform, STORE, dataset, forensic=platform == "YellowForensic")


def _tables(platform: str) -> list[str]:
    tables = []
    for dataset in DATASETS:
        tables += [naming.staging_table(platform, STORE, dataset), _merge_table(platform, dataset)]
    return tables


def _as_if_written_by_the_earlier_scheme(stack: Stack, platform: str) -> None:
    """Other hash values and no scheme marker, in every staging and merge table."""
    q, h = naming.quote_ident, naming.quote_ident(ALL_HASH)
    with stack.merge.begin() as conn:
        for table in _tables(platform):
            conn.execute(text(f"UPDATE {q(table)} SET {h} = {h} # 12345"))
            conn.execute(text(f"COMMENT ON COLUMN {q(table)}.{h} IS NULL"))


def _markers(stack: Stack, platform: str) -> set[str | None]:
    with stack.merge.connect() as conn:
        return {
            conn.execute(
                text(
                    "SELECT col_description(to_regclass(:t), (SELECT attnum FROM pg_attribute WHERE attrelid = to_regclass(:t) AND attname = :c))"
                ),
                {"t": naming.quote_ident(table), "c": ALL_HASH},
            ).scalar_one()
            for table in _tables(platform)
        }


def _versions(stack: Stack, platform: str) -> int:
    with stack.merge.connect() as conn:
        table = naming.quote_ident(_merge_table(platform, "customers"))
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.mark.parametrize("platform", PLATFORMS)
def test_unchanged_source_after_the_upgrade_changes_nothing(
    stack: Stack, platform: str, caplog: pytest.LogCaptureFixture
) -> None:
    load_source(stack, [customer(i) for i in range(1, 21)], [address(i, i) for i in range(1, 21)])
    assert stack.run(platform).outcome is JobOutcome.DONE
    versions = _versions(stack, platform)
    _as_if_written_by_the_earlier_scheme(stack, platform)
    caplog.set_level(logging.INFO, logger="datasurface.job")
    second = stack.run(platform)
    said = [r.getMessage() for r in caplog.records if "recomputing its stored row hashes" in r.getMessage()]
    assert sorted(m.split("table ")[1].split(":")[0] for m in said) == sorted(_tables(platform))
    caplog.clear()
    assert stack.run(platform).outcome is JobOutcome.DONE  # once only
    assert not [r for r in caplog.records if "recomputing" in r.getMessage()]
    assert second.outcome is JobOutcome.DONE and second.batch_id == 2
    assert (second.counts.inserted, second.counts.updated, second.counts.deleted) == (0, 0, 0)
    assert _versions(stack, platform) == versions
    assert _markers(stack, platform) == {SCHEME_MARKER}
    assert stack.live_rows(platform, "customers") == stack.source_rows("customers")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_batch_staged_half_under_the_earlier_scheme_merges_exactly_its_changes(stack: Stack, platform: str) -> None:
    load_source(stack, [customer(i) for i in range(1, 21)], [address(i, i) for i in range(1, 21)])
    assert stack.run(platform).outcome is JobOutcome.DONE
    # Batch 2: c1 deleted, c21..c25 new, every 4th of c2..c20 changed.
    rows = [customer(i, email=f"new{i}@example.com") if i % 4 == 0 else customer(i) for i in range(2, 26)]
    load_source(stack, rows, [address(i, i) for i in range(2, 26)])
    first = stack.run(platform, max_rows=10, chunk_rows=10)  # stages one chunk, then stops
    assert first.outcome is JobOutcome.KEEP_WORKING and first.batch_id == 2
    _as_if_written_by_the_earlier_scheme(stack, platform)
    while (result := stack.run(platform, max_rows=10, chunk_rows=10)).outcome is JobOutcome.KEEP_WORKING:
        pass
    assert result.outcome is JobOutcome.DONE and result.batch_id == 2
    batch = stack.batches(platform)[1]
    assert (batch["rows_inserted"], batch["rows_updated"], batch["rows_deleted"]) == (10, 5, 2)
    assert stack.live_rows(platform, "customers") == stack.source_rows("customers")
    assert stack.live_rows(platform, "addresses") == stack.source_rows("addresses")
