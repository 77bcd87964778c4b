"""Schema projection and evolution against real Postgres."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

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
from datasurface.platforms.yellow import projection as pj

TYPES = [
    (SmallInt(), "smallint"),
    (Integer(), "integer"),
    (BigInt(), "bigint"),
    (Decimal(12, 3), "numeric(12,3)"),
    (Float(), "real"),
    (Double(), "double precision"),
    (VarChar(7), "character varying(7)"),
    (Char(2), "character(2)"),
    (Text(), "text"),
    (Boolean(), "boolean"),
    (Date(), "date"),
    (Timestamp(), "timestamp without time zone"),
    (Timestamp(with_time_zone=True), "timestamp with time zone"),
    (Interval(), "interval"),
    (Binary(), "bytea"),
    (Json(), "jsonb"),
]


def test_every_type_round_trips_through_format_type(pg_engine: Engine) -> None:
    table = DDLTable(
        [DDLColumn("id", Integer(), nullable=False)] + [DDLColumn(f"c{i}", t) for i, (t, _) in enumerate(TYPES)], ["id"]
    )
    with pg_engine.begin() as conn:
        pj.ensure_merge_table(conn, "m", table, forensic=True)
        cols = pj.read_table_columns(conn, "m")
    for i, (model_type, expected) in enumerate(TYPES):
        assert pj.pg_type(model_type) == expected
        assert cols[f"c{i}"].pg_type == expected
        assert pj.model_type(expected) == model_type  # how an existing table's types are read back
    assert not cols["id"].nullable and cols["c0"].nullable
    assert [c for c in cols if c.startswith("ds_surf")] == [
        pj.BATCH_ID,
        pj.ALL_HASH,
        pj.BATCH_IN,
        pj.BATCH_OUT,
    ]
    with pg_engine.begin() as conn:  # idempotent: nothing to evolve
        assert pj.ensure_merge_table(conn, "m", table, forensic=True) == []


def test_staging_columns_all_nullable(pg_engine: Engine) -> None:
    table = DDLTable([DDLColumn("id", Integer(), nullable=False), DDLColumn("v", Text(), nullable=False)], ["id"])
    with pg_engine.begin() as conn:
        pj.ensure_staging_table(conn, "s", table)
        cols = pj.read_table_columns(conn, "s")
    assert cols["id"].nullable and cols["v"].nullable


def test_staging_is_unlogged_and_merge_tables_are_not(pg_engine: Engine) -> None:
    table = DDLTable([DDLColumn("id", Integer(), nullable=False)], ["id"])
    with pg_engine.begin() as conn:
        pj.ensure_staging_table(conn, "s", table)
        pj.ensure_merge_table(conn, "m", table, forensic=False)
        rows = conn.execute(text("SELECT relname, relpersistence FROM pg_class WHERE relname IN ('s', 'm')"))
        kinds = {str(r[0]): str(r[1]) for r in rows}
    assert kinds == {"s": "u", "m": "p"}


@pytest.mark.parametrize("forensic", [False, True])
def test_merge_tables_index_the_key_columns_themselves(pg_engine: Engine, forensic: bool) -> None:
    table = DDLTable(
        [
            DDLColumn("region", Text(), nullable=False),
            DDLColumn("id", Integer(), nullable=False),
            DDLColumn("v", Text()),
        ],
        ["region", "id"],
    )
    with pg_engine.begin() as conn:
        pj.ensure_merge_table(conn, "m", table, forensic=forensic)
        cols = pj.read_table_columns(conn, "m")
        unique = conn.execute(
            text("SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = to_regclass('m') AND indisunique")
        ).scalar_one()
    assert "ds_surf_key_hash" not in cols and cols[pj.ALL_HASH].pg_type == "bigint"
    assert "(region, id)" in unique
    assert ("WHERE (ds_surf_batch_out = 2147483647)" in unique) is forensic


def test_evolution_adds_and_widens_never_drops(pg_engine: Engine) -> None:
    v1 = DDLTable(
        [
            DDLColumn("id", Integer(), nullable=False),
            DDLColumn("n", Integer()),
            DDLColumn("s", VarChar(5)),
            DDLColumn("d", Decimal(8, 2)),
            DDLColumn("gone", Text()),
        ],
        ["id"],
    )
    v2 = DDLTable(
        [
            DDLColumn("id", Integer(), nullable=False),
            DDLColumn("n", BigInt()),
            DDLColumn("s", VarChar(50)),
            DDLColumn("d", Decimal(12, 2)),
            DDLColumn("new", Text(), nullable=False),
        ],
        ["id"],
    )
    with pg_engine.begin() as conn:
        pj.ensure_merge_table(conn, "m", v1, forensic=False)
        conn.execute(
            text(
                "INSERT INTO m (id, n, s, d, gone, ds_surf_batch_id, ds_surf_all_hash) VALUES (1, 2, 'abc', 1.5, 'g', 1, 42)"
            )
        )
    with pg_engine.begin() as conn:
        stmts = pj.ensure_merge_table(conn, "m", v2, forensic=False)
        cols = pj.read_table_columns(conn, "m")
        row = conn.execute(text("SELECT n, s, d, gone, new FROM m")).one()
    assert len(stmts) == 4
    assert cols["n"].pg_type == "bigint" and cols["s"].pg_type == "character varying(50)"
    assert cols["d"].pg_type == "numeric(12,2)" and cols["new"].nullable and "gone" in cols
    assert tuple(row)[3:] == ("g", None)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (BigInt(), Integer()),
        (VarChar(10), VarChar(5)),
        (Decimal(10, 2), Decimal(12, 3)),
        (Text(), Integer()),
        (Double(), Float()),
        (Integer(), Decimal(12, 2)),  # not in the model's widening table: 7 would read 7.00
        (Timestamp(), Timestamp(with_time_zone=True)),
    ],
)
def test_narrowing_refused(old: object, new: object) -> None:
    existing = {"c": pj.PhysicalColumn("c", pj.pg_type(old))}  # type: ignore[arg-type]
    with pytest.raises(pj.SchemaEvolutionError, match="'t' / column 'c'"):
        pj.schema_changes("t", existing, [pj.PhysicalColumn("c", pj.pg_type(new))])  # type: ignore[arg-type]


def test_char_widens_to_longer_char_and_varchar_as_the_model_allows(pg_engine: Engine) -> None:
    # The change checker accepts CHAR(n) -> CHAR(m >= n) and -> VARCHAR(m >= n); the engine
    # must apply them too, or an accepted model change would stop the stream.
    old = DDLTable(
        [DDLColumn("id", Integer(), nullable=False), DDLColumn("a", Char(3)), DDLColumn("b", Char(3))], ["id"]
    )
    new = DDLTable(
        [DDLColumn("id", Integer(), nullable=False), DDLColumn("a", Char(8)), DDLColumn("b", VarChar(8))], ["id"]
    )
    with pg_engine.begin() as conn:
        pj.ensure_merge_table(conn, "w", old, forensic=False)
        conn.execute(text("INSERT INTO w (id, a, b, ds_surf_batch_id, ds_surf_all_hash) VALUES (1, 'ab', 'ab', 1, 0)"))
    with pg_engine.begin() as conn:
        changes = pj.schema_changes("w", pj.read_table_columns(conn, "w"), pj.merge_columns(new, forensic=False))
        pj.ensure_merge_table(conn, "w", new, forensic=False)
        row = conn.execute(text("SELECT a, b, length(b) FROM w")).one()
    assert [(c.column.name, c.widened_from, c.column.pg_type) for c in changes] == [
        ("a", "character(3)", "character(8)"),
        ("b", "character(3)", "character varying(8)"),
    ]
    assert tuple(row) == ("ab      ", "ab", 2)


def test_merge_needs_a_key() -> None:
    with pytest.raises(pj.SchemaEvolutionError, match="no primary key"):
        pj.create_merge_table_sql("m", DDLTable([DDLColumn("a", Text())]), forensic=False)


@pytest.mark.parametrize("forensic", [False, True])
def test_a_changed_primary_key_is_refused(pg_engine: Engine, forensic: bool) -> None:
    v1 = DDLTable([DDLColumn("id", Integer(), nullable=False), DDLColumn("line", Integer(), nullable=False)], ["id"])
    v2 = DDLTable(v1.columns, ["id", "line"])
    with pg_engine.begin() as conn:
        pj.ensure_merge_table(conn, "m", v1, forensic=forensic)
        assert pj.ensure_merge_table(conn, "m", v1, forensic=forensic) == []
        with pytest.raises(pj.SchemaEvolutionError, match=r"'m'.*primary key is \['id', 'line'\]"):
            pj.ensure_merge_table(conn, "m", v2, forensic=forensic)
