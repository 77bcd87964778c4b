"""Staging ingestion: Postgres COPY path, generic fetch path, MariaDB, keyset chunk resume."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from datasurface.model.schema import (
    BigInt,
    Binary,
    Boolean,
    Char,
    Date,
    DDLColumn,
    DDLTable,
    Decimal,
    Double,
    Float,
    Integer,
    Interval,
    Json,
    SmallInt,
    Text,
    Timestamp,
    VarChar,
)
from datasurface.platforms.yellow import projection
from datasurface.platforms.yellow.staging import (
    ChunkResult,
    SourceTable,
    clear_staging,
    ingest_chunk,
    key_from_json,
    key_to_json,
)

from .harness import create_source, q

ALL_TYPES = DDLTable(
    columns=[
        DDLColumn("id", Integer(), nullable=False),
        DDLColumn("s", SmallInt()),
        DDLColumn("b", BigInt()),
        DDLColumn("num", Decimal(12, 3)),
        DDLColumn("f", Float()),
        DDLColumn("d", Double()),
        DDLColumn("vc", VarChar(20)),
        DDLColumn("ch", Char(3)),
        DDLColumn("t", Text()),
        DDLColumn("flag", Boolean()),
        DDLColumn("day", Date()),
        DDLColumn("ts", Timestamp()),
        DDLColumn("tstz", Timestamp(with_time_zone=True)),
        DDLColumn("iv", Interval()),
        DDLColumn("bin", Binary()),
        DDLColumn("js", Json()),
    ],
    primary_key=["id"],
)


def _all_types_rows(n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(1, n + 1):
        nulls = i % 4 == 0
        rows.append(
            {
                "id": i,
                "s": None if nulls else i % 100,
                "b": None if nulls else i * 10_000_000_000,
                "num": None if nulls else D(i) / 7,
                "f": None if nulls else i / 3,
                "d": None if nulls else i / 3,
                "vc": None if nulls else f"v{i}\t'q\\",
                "ch": None if nulls else "ab",
                "t": "" if nulls else f"line\nbreak {i}",
                "flag": None if nulls else i % 2 == 0,
                "day": None if nulls else dt.date(2024, 1, 1) + dt.timedelta(days=i),
                "ts": None if nulls else dt.datetime(2024, 1, 1, 12, 0, 0, 123456) + dt.timedelta(hours=i),
                "tstz": None if nulls else dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))),
                "iv": None if nulls else dt.timedelta(days=i, seconds=5),
                "bin": None if nulls else bytes([i % 256, 0, 255]),
                "js": None if nulls else '{"b": 1, "a": [1, 2]}',
            }
        )
    return rows


def _fill_pg_source(engine: Engine, table: DDLTable, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        create_source(conn, "src", table)
        cols = table.column_names()
        casts = ", ".join(
            f"CAST(:{c} AS {projection.pg_type(t.type)})" for c, t in zip(cols, table.columns, strict=True)
        )
        conn.execute(text(f"INSERT INTO src ({', '.join(q(c) for c in cols)}) VALUES ({casts})"), rows)
        projection.ensure_staging_table(conn, "stg", table)


def _staging(engine: Engine, table: DDLTable, batch_id: int | None = None) -> list[tuple[Any, ...]]:
    cols = ", ".join(q(c) for c in [*table.column_names(), "ds_surf_batch_id", "ds_surf_all_hash"])
    where = "" if batch_id is None else f" WHERE ds_surf_batch_id = {batch_id}"
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT {cols} FROM stg{where} ORDER BY id"))]


def _ingest_all(
    engine: Engine, table: DDLTable, batch_id: int, limit: int | None, method: str, source: Engine | None = None
) -> int:
    src_engine = source or engine
    after = None
    total = 0
    while True:
        with src_engine.connect() as src, engine.begin() as tgt:
            res: ChunkResult = ingest_chunk(
                src,
                tgt,
                source_table=SourceTable("src"),
                table=table,
                staging_table="stg",
                batch_id=batch_id,
                after_key=after,
                limit=limit,
                method=method,  # type: ignore[arg-type]
                fetch_size=4,
            )
            total += res.rows
        if res.done:
            assert res.last_key is None
            return total
        assert res.last_key is not None
        after = key_from_json(key_to_json(res.last_key), table)  # through a JSON checkpoint


@pytest.mark.parametrize("method", ["copy", "fetch"])
@pytest.mark.parametrize("limit", [None, 5, 1000])
def test_pg_source_all_types(pg_engine: Engine, method: str, limit: int | None) -> None:
    rows = _all_types_rows(23)
    _fill_pg_source(pg_engine, ALL_TYPES, rows)
    assert _ingest_all(pg_engine, ALL_TYPES, 7, limit, method) == 23
    got = _staging(pg_engine, ALL_TYPES)
    assert [r[0] for r in got] == list(range(1, 24))
    assert all(r[-2] == 7 and isinstance(r[-1], int) for r in got)
    assert len({r[-1] for r in got}) == 23


def test_copy_and_fetch_paths_hash_identically(pg_engine: Engine) -> None:
    _fill_pg_source(pg_engine, ALL_TYPES, _all_types_rows(12))
    _ingest_all(pg_engine, ALL_TYPES, 1, None, "copy")
    _ingest_all(pg_engine, ALL_TYPES, 2, 5, "fetch")
    a, b = _staging(pg_engine, ALL_TYPES, 1), _staging(pg_engine, ALL_TYPES, 2)
    assert [r[:-2] + r[-1:] for r in a] == [r[:-2] + r[-1:] for r in b]


def test_killed_chunk_is_redone_exactly_once(pg_engine: Engine) -> None:
    table = DDLTable([DDLColumn("id", Integer()), DDLColumn("v", Text())], ["id"])
    _fill_pg_source(pg_engine, table, [{"id": i, "v": str(i)} for i in range(1, 11)])
    with pg_engine.connect() as src, pg_engine.begin() as tgt:
        first = ingest_chunk(
            src, tgt, source_table=SourceTable("src"), table=table, staging_table="stg", batch_id=1, limit=4
        )
    assert (first.rows, first.last_key, first.done) == (4, (4,), False)
    # The second chunk is "killed" before its commit: rolled back with its checkpoint.
    with pg_engine.connect() as src, pg_engine.connect() as tgt:
        ingest_chunk(
            src,
            tgt,
            source_table=SourceTable("src"),
            table=table,
            staging_table="stg",
            batch_id=1,
            after_key=(4,),
            limit=4,
        )
        tgt.rollback()
    # Rerun from the committed checkpoint.
    after: Any = first.last_key
    while after is not None:
        with pg_engine.connect() as src, pg_engine.begin() as tgt:
            res = ingest_chunk(
                src,
                tgt,
                source_table=SourceTable("src"),
                table=table,
                staging_table="stg",
                batch_id=1,
                after_key=after,
                limit=4,
            )
        after = res.last_key
    assert [r[0] for r in _staging(pg_engine, table)] == list(range(1, 11))


def test_clear_staging(pg_engine: Engine) -> None:
    table = DDLTable([DDLColumn("id", Integer())], ["id"])
    _fill_pg_source(pg_engine, table, [{"id": 1}, {"id": 2}])
    _ingest_all(pg_engine, table, 1, None, "copy")
    _ingest_all(pg_engine, table, 2, None, "copy")
    with pg_engine.begin() as conn:
        assert clear_staging(conn, "stg", 1) == 2
    assert [r[-2] for r in _staging(pg_engine, table)] == [2, 2]


@pytest.mark.parametrize("method", ["copy", "fetch"])
def test_fresh_chunk_replaces_staging_and_rolls_back_with_the_chunk(pg_engine: Engine, method: str) -> None:
    table = DDLTable([DDLColumn("id", Integer()), DDLColumn("v", Text())], ["id"])
    _fill_pg_source(pg_engine, table, [{"id": 1, "v": "a"}, {"id": 2, "v": None}])
    _ingest_all(pg_engine, table, 1, None, "copy")
    args: dict[str, Any] = {"source_table": SourceTable("src"), "table": table, "staging_table": "stg"}
    with pg_engine.connect() as src, pg_engine.connect() as tgt:  # killed before its commit
        ingest_chunk(src, tgt, batch_id=2, fresh=True, method=method, **args)  # type: ignore[arg-type]
        tgt.rollback()
    assert [r[-2] for r in _staging(pg_engine, table)] == [1, 1]
    with pg_engine.connect() as src, pg_engine.begin() as tgt:
        ingest_chunk(src, tgt, batch_id=3, fresh=True, method=method, **args)  # type: ignore[arg-type]
    got = _staging(pg_engine, table)
    assert [(r[0], r[-2]) for r in got] == [(1, 3), (2, 3)]
    with pg_engine.connect() as conn:  # loaded through COPY FREEZE or not, the rows read the same
        assert [tuple(r) for r in conn.execute(text("SELECT id, v FROM stg ORDER BY id"))] == [(1, "a"), (2, None)]


MARIA_TABLE = DDLTable(
    columns=[
        DDLColumn("id", Integer(), nullable=False),
        DDLColumn("region", VarChar(10), nullable=False),
        DDLColumn("name", VarChar(40)),
        DDLColumn("amount", Decimal(10, 2)),
        DDLColumn("day", Date()),
        DDLColumn("ts", Timestamp()),
        DDLColumn("active", Boolean()),
        DDLColumn("notes", Text()),
    ],
    primary_key=["region", "id"],
)


def _maria_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "region": ["eu", "us", "apac"][i % 3],
            "name": None if i % 5 == 0 else f"name '{i}'",
            "amount": None if i % 7 == 0 else D(i) / 4,
            "day": dt.date(2024, 2, 1) + dt.timedelta(days=i),
            "ts": dt.datetime(2024, 2, 1, 8, 30) + dt.timedelta(minutes=i),
            "active": i % 2 == 0,
            "notes": "" if i % 6 == 0 else "x\\y",
        }
        for i in range(1, n + 1)
    ]


@pytest.mark.parametrize("limit", [None, 7])
def test_mariadb_source_matches_postgres_source(pg_engine: Engine, mariadb_url: str, limit: int | None) -> None:
    rows = _maria_rows(30)
    maria = create_engine(mariadb_url)
    try:
        with maria.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE src (id INT NOT NULL, region VARCHAR(10) NOT NULL, name VARCHAR(40),"
                    " amount DECIMAL(10,2), day DATE, ts DATETIME(6), active BOOLEAN, notes TEXT,"
                    " PRIMARY KEY (region, id))"
                )
            )
            conn.execute(
                text("INSERT INTO src VALUES (:id, :region, :name, :amount, :day, :ts, :active, :notes)"), rows
            )
        _fill_pg_source(pg_engine, MARIA_TABLE, rows)
        assert _ingest_all(pg_engine, MARIA_TABLE, 1, limit, "auto", source=maria) == 30
    finally:
        maria.dispose()
    _ingest_all(pg_engine, MARIA_TABLE, 2, None, "copy")
    from_maria, from_pg = _staging(pg_engine, MARIA_TABLE, 1), _staging(pg_engine, MARIA_TABLE, 2)
    assert len(from_maria) == 30
    key = lambda r: (r[1], r[0])  # noqa: E731
    assert [r[:-2] + r[-1:] for r in sorted(from_maria, key=key)] == [r[:-2] + r[-1:] for r in sorted(from_pg, key=key)]
