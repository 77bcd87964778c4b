"""Keyset chunking works for every key value.

Property: for random tables whose composite keys mix integer types at their extremes, empty
strings, and strings that differ only by case or trailing spaces, copying the source in
chunks of several sizes (so extremes land on chunk boundaries) stages exactly the source's
rows, each once, in exactly ceil(rows / chunk) chunks: no empty chunk at the end, and a
chunk whose last key is a type's minimum does not wedge the stream.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text

from datasurface.model.schema import BigInt, DDLColumn, DDLTable, Integer, SmallInt, Text, VarChar
from datasurface.platforms.yellow import projection
from datasurface.platforms.yellow.staging import (
    ChunkError,
    SourceTable,
    describe_range,
    ingest_chunk,
    key_from_json,
    key_to_json,
)

from .harness import create_source, q

TABLE = DDLTable(
    columns=[
        DDLColumn("b", BigInt(), nullable=False),
        DDLColumn("i", Integer(), nullable=False),
        DDLColumn("s", SmallInt(), nullable=False),
        DDLColumn("t", VarChar(10), nullable=False),
        DDLColumn("v", Text()),
    ],
    primary_key=["b", "i", "s", "t"],
)

BIG = [-(2**63), -(2**63) + 1, -1, 0, 1, 2**63 - 1]
INT = [-(2**31), -(2**31) + 1, 0, 2**31 - 1]
SMALL = [-(2**15), 0, 2**15 - 1]
# Differ only by case or trailing spaces (distinct keys in Postgres' default collation).
STRINGS = ["", " ", "a", "A", "a ", "b", "B  "]

keys = st.tuples(st.sampled_from(BIG), st.sampled_from(INT), st.sampled_from(SMALL), st.sampled_from(STRINGS))
tables = st.lists(keys, min_size=1, max_size=30, unique=True)


def _copy_in_chunks(source: Engine, target: Engine, limit: int, method: str) -> tuple[list[tuple[Any, ...]], int]:
    """Copy `src` into `stg` chunk by chunk (checkpointed keys through JSON); returns the
    staged keys and the number of chunks."""
    with target.begin() as conn:
        conn.execute(text("TRUNCATE stg"))
    after = None
    chunks = 0
    while True:
        with source.connect() as src, target.begin() as tgt:
            result = ingest_chunk(
                src,
                tgt,
                source_table=SourceTable("src"),
                table=TABLE,
                staging_table="stg",
                batch_id=1,
                after_key=after,
                limit=limit,
                method=method,  # type: ignore[arg-type]
                fetch_size=3,
            )
        chunks += 1
        if result.done:
            break
        assert result.last_key is not None and result.rows == limit
        after = key_from_json(key_to_json(result.last_key), TABLE)
    with target.connect() as conn:
        staged = [tuple(r) for r in conn.execute(text("SELECT b, i, s, t FROM stg"))]
    return staged, chunks


def _fill(engine: Engine, rows: list[tuple[Any, ...]]) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM src"))
        conn.execute(
            text("INSERT INTO src (b, i, s, t, v) VALUES (:b, :i, :s, :t, 'x')"),
            [dict(zip("bist", r, strict=True)) for r in rows],
        )


@pytest.fixture
def pg_tables(pg_engine: Engine) -> Engine:
    with pg_engine.begin() as conn:
        create_source(conn, "src", TABLE)
        projection.ensure_staging_table(conn, "stg", TABLE)
    return pg_engine


@pytest.mark.parametrize("method", ["copy", "fetch"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=tables, limit=st.sampled_from([1, 2, 3, 7]))
def test_every_row_staged_once_in_the_fewest_chunks(
    pg_tables: Engine, method: str, rows: list[tuple[Any, ...]], limit: int
) -> None:
    _fill(pg_tables, rows)
    staged, chunks = _copy_in_chunks(pg_tables, pg_tables, limit, method)
    assert sorted(staged) == sorted(rows)
    assert chunks == math.ceil(len(rows) / limit)


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_minimum_keys_at_every_chunk_boundary(pg_tables: Engine, limit: int) -> None:
    """The issue's wedge: the chunk's last row holds -2^63 / -2^31 / -2^15 in a key column."""
    rows = [(b, i, s, t) for b in BIG[:2] for i in INT[:2] for s in SMALL[:1] for t in STRINGS[:2]]
    _fill(pg_tables, rows)
    for method in ("copy", "fetch"):
        staged, chunks = _copy_in_chunks(pg_tables, pg_tables, limit, method)
        assert sorted(staged) == sorted(rows)
        assert chunks == math.ceil(len(rows) / limit)


def test_empty_source_is_one_empty_chunk(pg_tables: Engine) -> None:
    staged, chunks = _copy_in_chunks(pg_tables, pg_tables, 5, "copy")
    assert (staged, chunks) == ([], 1)


def test_a_failing_chunk_names_its_key_range(pg_tables: Engine) -> None:
    _fill(pg_tables, [(1, 1, 1, "a"), (2, 2, 2, "b"), (3, 3, 3, "c")])
    with pg_tables.begin() as conn:  # staging loses a column: the COPY into it fails
        conn.execute(text("ALTER TABLE stg ALTER COLUMN v TYPE integer USING NULL"))
    with pg_tables.connect() as src, pg_tables.begin() as tgt, pytest.raises(ChunkError) as info:
        ingest_chunk(
            src,
            tgt,
            source_table=SourceTable("src"),
            table=TABLE,
            staging_table="stg",
            batch_id=1,
            after_key=(1, 1, 1, "a"),
            limit=1,
        )
    message = str(info.value)
    assert "key (b, i, s, t) range after (1, 1, 1, 'a') up to (2, 2, 2, 'b')" in message
    assert describe_range(TABLE, None, None) == "key (b, i, s, t) range from the first key to the end"


def test_mariadb_case_and_trailing_space_collation(pg_engine: Engine, mariadb_url: str) -> None:
    """MariaDB's default collation is case-insensitive and pads spaces: keys unique there are
    read in its own order, and every one is staged exactly once at every chunk size."""
    table = DDLTable(
        [DDLColumn("k", VarChar(10), nullable=False), DDLColumn("n", BigInt(), nullable=False)], ["k", "n"]
    )
    # ('a', 1) and ('A', 2) differ by case; ('b', ...) and ('b ', ...) by a trailing space.
    rows = [("", -(2**63)), ("a", 1), ("A", 2), ("b", -(2**63)), ("b ", 5), ("B", 2**63 - 1), ("c", 0)]
    maria = create_engine(mariadb_url)
    try:
        with maria.begin() as conn:
            conn.execute(text("CREATE TABLE src (k VARCHAR(10) NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (k, n))"))
            conn.execute(text("INSERT INTO src VALUES (:k, :n)"), [{"k": k, "n": n} for k, n in rows])
        with pg_engine.begin() as conn:
            projection.ensure_staging_table(conn, "stg", table)
        for limit in (1, 2, 3, 7):
            with pg_engine.begin() as conn:
                conn.execute(text("TRUNCATE stg"))
            after = None
            chunks = 0
            while True:
                with maria.connect() as src, pg_engine.begin() as tgt:
                    result = ingest_chunk(
                        src,
                        tgt,
                        source_table=SourceTable("src"),
                        table=table,
                        staging_table="stg",
                        batch_id=1,
                        after_key=after,
                        limit=limit,
                        fetch_size=2,
                    )
                chunks += 1
                if result.done:
                    break
                after = key_from_json(key_to_json(result.last_key or ()), table)
            with pg_engine.connect() as conn:
                staged = sorted(tuple(r) for r in conn.execute(text(f"SELECT k, n FROM {q('stg')}")))
            assert staged == sorted(rows), limit
            assert chunks == math.ceil(len(rows) / limit), limit
    finally:
        maria.dispose()
