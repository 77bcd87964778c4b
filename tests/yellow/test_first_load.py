"""First loads go straight into the empty merge table (no diff), and leave the table exactly
as the diff path would: same rows, same versions, same indexes; bad keys still fail the
batch naming them, with the table and its indexes untouched."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from datasurface.model.schema import DDLColumn, DDLTable, Integer, Text
from datasurface.platforms.yellow.merge import InvalidKeyError, StagingIncompleteError, merge_live
from datasurface.platforms.yellow.projection import ALL_HASH, BATCH_ID, BATCH_IN, BATCH_OUT, LIVE_BATCH_OUT

from .harness import Harness, q

TABLE = DDLTable(
    [DDLColumn("id", Integer(), nullable=False), DDLColumn("k2", Text(), nullable=False), DDLColumn("v", Text())],
    ["id", "k2"],
)


def row(i: int, v: str | None = "x", k2: str = "a") -> dict[str, Any]:
    return {"id": i, "k2": k2, "v": v}


def _indexes(engine: Engine, table: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(
            r[0]
            for r in conn.execute(
                text("SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = to_regclass(:t)"),
                {"t": q(table)},
            )
        )


def _synthetic(engine: Engine, table: str, forensic: bool) -> set[tuple[Any, ...]]:
    cols = [BATCH_ID, *([BATCH_IN, BATCH_OUT] if forensic else [])]
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(text(f"SELECT {', '.join(q(c) for c in cols)} FROM {q(table)}"))}


def test_first_load_equals_source_with_indexes_and_versions(pg_engine: Engine) -> None:
    h = Harness(pg_engine, TABLE, chunk=3)
    live_indexes, hist_indexes = _indexes(pg_engine, h.live), _indexes(pg_engine, h.hist)
    h.run_batch([row(i, None if i % 3 == 0 else str(i), k2="" if i % 2 else "b") for i in range(1, 11)])
    h.check_all()
    assert h.last_counts is not None and (h.last_counts.inserted, h.last_counts.updated) == (10, 0)
    assert _indexes(pg_engine, h.live) == live_indexes and _indexes(pg_engine, h.hist) == hist_indexes
    assert _synthetic(pg_engine, h.live, False) == {(1,)}
    assert _synthetic(pg_engine, h.hist, True) == {(1, 1, LIVE_BATCH_OUT)}
    # The all-columns hash is the same as the diff path stores: an unchanged second batch
    # changes nothing.
    with pg_engine.connect() as conn:
        hashes: dict[Any, Any] = dict(conn.execute(text(f"SELECT id, {q(ALL_HASH)} FROM {q(h.live)}")).all())
    h.run_batch([row(i, None if i % 3 == 0 else str(i), k2="" if i % 2 else "b") for i in range(1, 11)])
    assert h.last_counts is not None and h.last_counts.updated == 0 and h.last_counts.inserted == 0
    with pg_engine.connect() as conn:
        assert dict(conn.execute(text(f"SELECT id, {q(ALL_HASH)} FROM {q(h.live)}")).all()) == hashes
    h.check_all()


def test_duplicate_keys_in_a_first_load_fail_and_leave_table_and_indexes(pg_engine: Engine) -> None:
    h = Harness(pg_engine, TABLE)
    live_indexes = _indexes(pg_engine, h.live)
    with pytest.raises(InvalidKeyError) as err:
        h.run_batch([row(1), row(2), row(2, "y"), row(3)])
    assert err.value.keys == [{"id": 2, "k2": "a"}]
    assert _indexes(pg_engine, h.live) == live_indexes
    assert h.live_rows() == [] and h.hist_version_count() == 0
    h.run_batch([row(1), row(2)])
    h.check_all()


def test_a_live_table_emptied_by_deletes_is_loaded_again(pg_engine: Engine) -> None:
    h = Harness(pg_engine, TABLE)
    h.run_batch([row(1), row(2)])
    h.run_batch([])  # every key deleted: the live table is empty, history is not
    h.run_batch([row(2, "back"), row(5)])
    h.check_all()
    assert h.hist_version_count() == 4


def test_first_load_checks_the_staged_row_count(pg_engine: Engine) -> None:
    h = Harness(pg_engine, TABLE)
    with pg_engine.begin() as conn:
        conn.execute(
            text(f"INSERT INTO {q(h.staging)} (id, k2, v, {q(BATCH_ID)}, {q(ALL_HASH)}) VALUES (1, 'a', 'x', 9, 0)")
        )
    with pytest.raises(StagingIncompleteError), pg_engine.begin() as conn:
        merge_live(conn, table=TABLE, staging_table=h.staging, target_table=h.live, batch_id=9, expected_rows=2)
    assert h.live_rows() == []


def _fill_with(engine_conn: Any, table: str, values: str) -> Any:
    def fill() -> int:
        return int(
            engine_conn.execute(
                text(
                    f"INSERT INTO {q(table)} (id, k2, v, {q(BATCH_ID)}, {q(ALL_HASH)}, {q(BATCH_IN)}, {q(BATCH_OUT)})"
                    f" VALUES {values}"
                )
            ).rowcount
        )

    return fill


def test_load_empty_table_rebuilds_indexes_and_names_bad_keys(pg_engine: Engine) -> None:
    from datasurface.platforms.yellow.merge import load_empty_table

    h = Harness(pg_engine, TABLE)
    indexes = _indexes(pg_engine, h.hist)
    live = f"1, 'a', 'x', 1, 0, 1, {LIVE_BATCH_OUT}"
    with pg_engine.begin() as conn:
        counts = load_empty_table(
            conn, table=TABLE, target_table=h.hist, batch_id=1, fill=_fill_with(conn, h.hist, f"({live})")
        )
    assert counts.inserted == 1 and _indexes(pg_engine, h.hist) == indexes
    with pg_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {q(h.hist)}"))
    dup = f"(2, 'b', 'x', 1, 0, 1, {LIVE_BATCH_OUT}), (2, 'b', 'y', 1, 0, 1, {LIVE_BATCH_OUT}), ({live})"
    with pytest.raises(InvalidKeyError) as err, pg_engine.begin() as conn:
        load_empty_table(conn, table=TABLE, target_table=h.hist, batch_id=1, fill=_fill_with(conn, h.hist, dup))
    assert err.value.keys == [{"id": 2, "k2": "b"}] and "id=2, k2='b'" in str(err.value)
    assert _indexes(pg_engine, h.hist) == indexes and h.hist_version_count() == 0
