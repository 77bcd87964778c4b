"""Row hashes in real Postgres: injective encoding (delimiters, quotes, NULL vs ''), 64-bit,
and a NULL column contributes nothing (adding a nullable column keeps every old hash)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text

from datasurface.platforms.yellow.hashing import all_hash_sql, hash_settings_sql

COLS = ["a", "b", "c"]


def _hashes(conn: Connection, rows: list[tuple[Any, ...]], cols: list[str] = COLS) -> list[Any]:
    conn.execute(text("DROP TABLE IF EXISTS h; CREATE TEMP TABLE h (n int, a text, b text, c text)"))
    if rows:
        conn.execute(
            text("INSERT INTO h VALUES (:n, :a, :b, :c)"),
            [{"n": i, "a": r[0], "b": r[1], "c": r[2]} for i, r in enumerate(rows)],
        )
    return list(conn.execute(text(f"SELECT {all_hash_sql(cols)} FROM h ORDER BY n")).scalars())


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
        ("1:b='x'", None, None),
        (None, "x", None),
        ("N", None, None),
        ("NULL", None, None),
        ("a|b", None, None),
        ("a", "|b", None),
    ]
    with pg_engine.begin() as conn:
        hashes = _hashes(conn, rows)
    assert len(set(hashes)) == len(rows)
    assert all(h is not None for h in hashes)


def test_value_shaped_like_next_field_does_not_collide(pg_engine: Engine) -> None:
    # a = "x'1:b='y" would read as a='x' then b='y' if quoting were naive.
    with pg_engine.begin() as conn:
        hashes = _hashes(conn, [("x'1:b='y", None, None), ("x", "y", None)])
    assert hashes[0] != hashes[1]


def test_hash_is_a_bigint(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        hashes = _hashes(conn, [("a", None, None)])
        kind = conn.execute(text(f"SELECT pg_typeof({all_hash_sql(COLS)})::text FROM h")).scalar_one()
    assert kind == "bigint" and isinstance(hashes[0], int)


def test_a_null_column_contributes_nothing(pg_engine: Engine) -> None:
    # Schema evolution: a row read with a new, NULL column hashes as it did without it.
    with pg_engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE e (a text, b text, c text)"))
        conn.execute(text("INSERT INTO e VALUES ('x', NULL, 'z')"))
        without_b = conn.execute(text(f"SELECT {all_hash_sql(['a', 'c'])} FROM e")).scalar_one()
        with_b = conn.execute(text(f"SELECT {all_hash_sql(['a', 'b', 'c'])} FROM e")).scalar_one()
    assert without_b == with_b


def test_column_order_does_not_matter() -> None:
    assert all_hash_sql(["a", "b"]) == all_hash_sql(["b", "a"])


def test_rendering_is_pinned_by_session_settings(pg_engine: Engine) -> None:
    expr = all_hash_sql(["t", "d", "f"])
    out = []
    for tz, style in [("UTC", "ISO, YMD"), ("America/New_York", "SQL, DMY")]:
        with pg_engine.begin() as conn:
            conn.execute(text(f"SET TimeZone = '{tz}'; SET DateStyle = '{style}'; SET extra_float_digits = 0"))
            for stmt in hash_settings_sql():
                conn.execute(text(stmt))
            out.append(
                conn.execute(
                    text(
                        f"SELECT {expr} FROM (SELECT timestamptz '2024-05-06 07:08:09+02' AS t,"
                        " date '2024-05-06' AS d, float8 '0.1' AS f) x"
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


@pytest.mark.parametrize("cols", [[], ["a"]])
def test_builders_validate(cols: list[str]) -> None:
    if not cols:
        with pytest.raises(ValueError):
            all_hash_sql(cols)
    else:
        assert "hashtextextended(" in all_hash_sql(cols)
