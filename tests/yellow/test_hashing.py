"""Row hashes in real Postgres: every change of a value of every model type is seen (the
cases Postgres's own type hashes equate, too), NULL contributes nothing and differs from '',
column order doesn't matter, swapped values do, widenings keep hashes, renderings are pinned,
and tables of the earlier scheme are rehashed once."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import NotSupportedError

from datasurface.model import type_widening
from datasurface.model.schema import (
    BigInt,
    Binary,
    Boolean,
    Char,
    DataType,
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
from datasurface.platforms.yellow.hashing import SCHEME_MARKER, all_hash_sql, pin_hash_settings
from datasurface.platforms.yellow.projection import (
    ALL_HASH,
    ensure_staging_table,
    pg_type,
)

TEXT3: list[tuple[str, DataType]] = [("a", Text()), ("b", Text()), ("c", Text())]


def _hashes(conn: Connection, rows: list[tuple[Any, ...]], cols: list[tuple[str, DataType]] = TEXT3) -> list[Any]:
    conn.execute(text("DROP TABLE IF EXISTS h; CREATE TEMP TABLE h (n int, a text, b text, c text)"))
    if rows:
        conn.execute(
            text("INSERT INTO h VALUES (:n, :a, :b, :c)"),
            [{"n": i, "a": r[0], "b": r[1], "c": r[2]} for i, r in enumerate(rows)],
        )
    return list(conn.execute(text(f"SELECT {all_hash_sql(cols)} FROM h ORDER BY n")).scalars())


def _hash_values(conn: Connection, data_type: DataType, literals: list[str]) -> list[int]:
    """The hash of a one-column row holding each SQL literal (cast to the model type)."""
    pin_hash_settings(conn)
    rows = " UNION ALL ".join(
        f"SELECT {i} AS n, CAST({lit} AS {pg_type(data_type)}) AS v" for i, lit in enumerate(literals)
    )
    return list(conn.execute(text(f"SELECT {all_hash_sql([('v', data_type)])} FROM ({rows}) x ORDER BY n")).scalars())


def test_known_collisions_are_distinct(pg_engine: Engine) -> None:
    rows = [
        ("ab", "c", None),
        ("a", "bc", None),
        (None, None, None),
        ("", None, None),
        (None, "", None),
        ("", "", ""),
        ("a'", "b", None),
        ("a", "'b", None),
        ("a\\", "b", None),
        ("a", "\\b", None),
        ("x", "y", None),
        ("y", "x", None),  # swapped between columns
        ("x", "x", None),
        (None, "x", None),
        ("N", None, None),
        ("NULL", None, None),
    ]
    with pg_engine.begin() as conn:
        hashes = _hashes(conn, rows)
    assert len(set(hashes)) == len(rows)
    assert all(h is not None for h in hashes)


# Pairs of distinct values of one model type, including those Postgres's own equality (and so
# its type hash) treats as equal: a change between them is a change of the published value.
DISTINCT_VALUES: list[tuple[DataType, list[str]]] = [
    (SmallInt(), ["-32768", "0", "1", "32767"]),
    (Integer(), ["-2147483648", "0", "1", "2147483647"]),
    (BigInt(), ["-9223372036854775808", "0", "1", "9223372036854775807"]),
    (Decimal(10, 2), ["1.5", "-1.5", "0", "99999999.99"]),
    (Decimal(20, 0), ["1", "10", "-1"]),
    (Float(), ["'0'", "'-0'", "'0.1'", "'NaN'", "'Infinity'", "'-Infinity'"]),
    (Double(), ["'0'", "'-0'", "'0.1'", "'0.30000000000000004'", "'0.3'", "'NaN'"]),
    (VarChar(10), ["''", "'a'", "'A'", "'a '", "' a'", "'é'", "'e'"]),
    (Char(3), ["'a'", "'A'", "'ab'", "'abc'"]),
    (Text(), ["''", "'a'", "repeat('x', 100000)", "repeat('x', 99999) || 'y'"]),
    (Boolean(), ["true", "false"]),
    (Date(), ["'2024-05-06'", "'2024-05-07'", "'infinity'", "'-infinity'", "'0001-01-01 BC'"]),
    (Timestamp(), ["'2024-05-06 07:08:09'", "'2024-05-06 07:08:09.000001'", "'2024-05-06'", "'infinity'"]),
    (
        Timestamp(with_time_zone=True),
        ["'2024-05-06 07:08:09+00'", "'2024-05-06 07:08:09+02'", "'2024-05-06 07:08:09.5+00'"],
    ),
    (Interval(), ["'1 day'", "'24 hours'", "'1 mon'", "'30 days'", "'0'"]),
    (Binary(), ["'\\x'::bytea", "'\\x00'::bytea", "'\\x0000'::bytea", "'\\x01'::bytea"]),
    (Json(), ["'{}'", "'[]'", "'{\"a\": 1}'", "'{\"a\": 1.0}'", "'\"1\"'", "'1'"]),
]


@pytest.mark.parametrize(
    ("data_type", "literals"), DISTINCT_VALUES, ids=lambda v: v.sql() if isinstance(v, DataType) else ""
)
def test_distinct_values_of_every_type_hash_distinct(
    pg_engine: Engine, data_type: DataType, literals: list[str]
) -> None:
    with pg_engine.begin() as conn:
        hashes = _hash_values(conn, data_type, literals)
    assert len(set(hashes)) == len(literals), dict(zip(literals, hashes, strict=True))
    assert 0 not in hashes  # 0 is what a NULL contributes


def test_case_insensitive_source_collation_still_sees_case_changes(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        try:
            with conn.begin_nested():
                conn.execute(
                    text(
                        "CREATE COLLATION IF NOT EXISTS ds_test_ci"
                        " (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
                    )
                )
        except NotSupportedError:  # a server built without ICU (the embedded one)
            pytest.skip("this Postgres is built without ICU: no case-insensitive collation to test with")
        conn.execute(text("CREATE TEMP TABLE ci (n int, v varchar(10) COLLATE ds_test_ci)"))
        conn.execute(text("INSERT INTO ci VALUES (0, 'abc'), (1, 'ABC')"))
        assert conn.execute(text("SELECT count(DISTINCT v) FROM ci")).scalar_one() == 1  # equal to the collation
        hashes = list(conn.execute(text(f"SELECT {all_hash_sql([('v', VarChar(10))])} FROM ci ORDER BY n")).scalars())
    assert hashes[0] != hashes[1]


def test_hash_is_a_bigint(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        hashes = _hashes(conn, [("a", None, None)])
        kind = conn.execute(text(f"SELECT pg_typeof({all_hash_sql(TEXT3)})::text FROM h")).scalar_one()
    assert kind == "bigint" and isinstance(hashes[0], int)


def test_a_null_column_contributes_nothing(pg_engine: Engine) -> None:
    # Schema evolution: a row read with a new, NULL column hashes as it did without it.
    cols: list[tuple[str, DataType]] = [("a", Text()), ("n", Integer()), ("t", Timestamp())]
    with pg_engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE e (a text, n integer, t timestamp, b text)"))
        conn.execute(text("INSERT INTO e VALUES ('x', 7, '2024-01-01', NULL)"))
        without_b = conn.execute(text(f"SELECT {all_hash_sql(cols)} FROM e")).scalar_one()
        with_b = conn.execute(text(f"SELECT {all_hash_sql([*cols, ('b', Text())])} FROM e")).scalar_one()
        all_null = conn.execute(text(f"SELECT {all_hash_sql([('b', Text())])} FROM e")).scalar_one()
    assert without_b == with_b
    assert all_null == 0


def test_column_order_does_not_matter(pg_engine: Engine) -> None:
    assert all_hash_sql(TEXT3) == all_hash_sql(list(reversed(TEXT3)))


# Instances of each model type and values to store in them, from which one example of every
# rule of the model's widening table is picked: a rule added there is covered here.
_INSTANCES: list[DataType] = [
    SmallInt(), Integer(), BigInt(), Decimal(5, 2), Decimal(9, 2), Decimal(5, 0), Decimal(10, 0),
    Decimal(19, 0), Float(), Double(), VarChar(3), VarChar(8), Char(3), Char(8), Text(),
]  # fmt: skip
_VALUES: dict[type[DataType], list[str]] = {
    SmallInt: ["-32768", "7"],
    Integer: ["-2147483648", "7"],
    BigInt: ["9223372036854775807", "-7"],
    Decimal: ["123.40", "-0.5", "7"],
    Float: ["0.1", "'-0'", "'NaN'", "3.4e38"],
    VarChar: ["'ab'", "''", "'a '"],
    Char: ["'ab'", "''", "'a '"],
}
WIDENINGS: list[tuple[DataType, DataType, str]] = []
for _rule in type_widening.WIDENINGS:
    _old, _new = next(
        (o, n)
        for o in _INSTANCES
        for n in _INSTANCES
        if type(o) is _rule.old and type(n) is _rule.new and o != n and _rule.applies(o, n)
    )
    WIDENINGS += [
        (_old, _new, value)
        for value in _VALUES[_rule.old]
        if not (isinstance(_old, Decimal) and "." in value and _old.scale == 0)
    ]


def test_every_widening_rule_has_examples() -> None:
    assert {(type(o), type(n)) for o, n, _ in WIDENINGS} == {(r.old, r.new) for r in type_widening.WIDENINGS}


@pytest.mark.parametrize(("old", "new", "literal"), WIDENINGS, ids=lambda v: v.sql() if isinstance(v, DataType) else "")
def test_widening_a_column_keeps_the_hash(pg_engine: Engine, old: DataType, new: DataType, literal: str) -> None:
    # ALTER TABLE converts the stored value as evolution does; the new hash must match the old.
    with pg_engine.begin() as conn:
        conn.execute(text(f"CREATE TEMP TABLE w (v {pg_type(old)})"))
        conn.execute(text(f"INSERT INTO w VALUES (CAST({literal} AS {pg_type(old)}))"))
        before = conn.execute(text(f"SELECT {all_hash_sql([('v', old)])} FROM w")).scalar_one()
        conn.execute(text(f"ALTER TABLE w ALTER COLUMN v TYPE {pg_type(new)}"))
        after = conn.execute(text(f"SELECT {all_hash_sql([('v', new)])} FROM w")).scalar_one()
    assert before == after


def test_rendering_is_pinned_by_session_settings(pg_engine: Engine) -> None:
    cols: list[tuple[str, DataType]] = [
        ("t", Timestamp(with_time_zone=True)),
        ("d", Date()),
        ("f", Double()),
        ("i", Interval()),
        ("b", Binary()),
    ]
    out = []
    for tz, style, interval in [("UTC", "ISO, YMD", "postgres"), ("America/New_York", "SQL, DMY", "sql_standard")]:
        with pg_engine.begin() as conn:
            conn.execute(
                text(
                    f"SET LOCAL TimeZone = '{tz}'; SET LOCAL DateStyle = '{style}'; SET LOCAL extra_float_digits = 0;"
                    f" SET LOCAL IntervalStyle = '{interval}'; SET LOCAL bytea_output = 'escape'"
                )
            )
            pin_hash_settings(conn)
            out.append(
                conn.execute(
                    text(
                        f"SELECT {all_hash_sql(cols)} FROM (SELECT timestamptz '2024-05-06 07:08:09+02' AS t,"
                        " date '2024-05-06' AS d, float8 '0.1' AS f, interval '1 day 2 hours' AS i, '\\x00ff'::bytea AS b) x"
                    )
                ).scalar_one()
            )
    assert out[0] == out[1]


text_values = st.one_of(st.none(), st.text(alphabet="ab'\\,|:=N1 \"", max_size=5))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(text_values, text_values, text_values), min_size=2, max_size=60, unique=True))
def test_distinct_rows_hash_distinct(pg_engine: Engine, rows: list[tuple[Any, ...]]) -> None:
    with pg_engine.begin() as conn:
        hashes = _hashes(conn, rows)
    assert len(set(hashes)) == len(rows)


def test_builders_validate() -> None:
    with pytest.raises(ValueError):
        all_hash_sql([])


def test_a_table_of_the_earlier_scheme_is_rehashed_once(pg_engine: Engine) -> None:
    table = DDLTable([DDLColumn("id", Integer(), nullable=False), DDLColumn("name", VarChar(20))], ["id"])
    rehashed: list[str] = []
    with pg_engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS ds_test_rehash"))
        ensure_staging_table(conn, "ds_test_rehash", table, before_rehash=rehashed.append)
        # A fresh table carries the marker: nothing to rehash.
        assert ensure_staging_table(conn, "ds_test_rehash", table, before_rehash=rehashed.append) == []
        assert rehashed == []
        # What an earlier scheme left: other hash values, no marker.
        conn.execute(text("INSERT INTO ds_test_rehash VALUES (1, 'a', 1, 11), (2, NULL, 1, 22)"))
        conn.execute(text(f"COMMENT ON COLUMN ds_test_rehash.{ALL_HASH} IS NULL"))
        ensure_staging_table(conn, "ds_test_rehash", table, before_rehash=rehashed.append)
        assert rehashed == ["ds_test_rehash"]
        cols = [("id", Integer()), ("name", VarChar(20))]
        fresh: dict[int, int] = dict(conn.execute(text(f"SELECT id, {all_hash_sql(cols)} FROM ds_test_rehash")).all())
        stored: dict[int, int] = dict(conn.execute(text(f"SELECT id, {ALL_HASH} FROM ds_test_rehash")).all())
        marker = conn.execute(text("SELECT col_description('ds_test_rehash'::regclass, 4)")).scalar_one()
        assert ensure_staging_table(conn, "ds_test_rehash", table, before_rehash=rehashed.append) == []
        assert rehashed == ["ds_test_rehash"]  # once
        conn.execute(text("DROP TABLE ds_test_rehash"))
    assert stored == fresh and set(stored) == {1, 2} and 11 not in stored.values()
    assert marker == SCHEME_MARKER
