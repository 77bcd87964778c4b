"""Value fidelity: a value is staged only if it is exactly the source's value in the model's type.

A matrix of (source column type, model type, value) on a Postgres source (COPY path) and a
MariaDB source (fetch path). Each case either stages the value, compared with the expected
Python value written here by hand (the oracle), or fails with `ValueFidelityError` naming
the column, the source type, the model type and the key of the row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from datasurface.model.schema import (
    BigInt,
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
    SmallInt,
    Text,
    Timestamp,
    VarChar,
)
from datasurface.platforms.yellow import projection
from datasurface.platforms.yellow.fidelity import ValueFidelityError
from datasurface.platforms.yellow.staging import SourceTable, ingest_chunk

FAIL = object()  # expected: the batch fails


@dataclass(frozen=True)
class Case:
    source_type: str  # SQL type of the source column
    model: DataType
    value: str  # SQL literal inserted into the source
    expected: Any  # the staged Python value, or FAIL
    lossy: bool = False

    def __str__(self) -> str:
        return f"{self.source_type}->{self.model.sql()}:{self.value[:20]}{':lossy' if self.lossy else ''}"


PG_CASES = [
    Case("varchar(100)", VarChar(20), "repeat('x', 60)", FAIL),
    Case("varchar(100)", VarChar(20), "repeat('x', 20)", "x" * 20),
    Case("varchar(100)", VarChar(20), "repeat('x', 60)", "x" * 20, lossy=True),
    Case("varchar(20)", VarChar(20), "'same type'", "same type"),
    Case("text", VarChar(3), "'abcd'", FAIL),
    Case("text", Char(3), "'abcd'", FAIL),
    Case("text", Char(3), "'ab'", "ab "),
    Case("integer", VarChar(3), "12345", FAIL),
    Case("integer", VarChar(5), "12345", "12345"),
    Case("numeric(12,4)", Decimal(10, 2), "1.2345", FAIL),
    Case("numeric(12,4)", Decimal(10, 2), "1.2300", D("1.23")),
    Case("numeric(12,4)", Decimal(10, 2), "1.2345", D("1.23"), lossy=True),
    Case("numeric(20,2)", Decimal(5, 2), "12345.67", FAIL),
    Case("numeric(20,2)", Decimal(5, 2), "-123.45", D("-123.45")),
    Case("bigint", Decimal(5, 0), "123456", FAIL),
    Case("bigint", Integer(), "2147483648", FAIL),
    Case("bigint", Integer(), "-2147483648", -(2**31)),
    Case("integer", SmallInt(), "40000", FAIL),
    Case("double precision", Integer(), "1.5", FAIL),
    Case("double precision", Integer(), "2", 2),
    Case("double precision", BigInt(), "'NaN'", FAIL),
    Case("numeric(10,2)", BigInt(), "3.5", FAIL),
    Case("numeric(10,2)", BigInt(), "3.00", 3),
    Case("double precision", Float(), "0.1", pytest.approx(0.1, rel=1e-7)),
    Case("double precision", Float(), "0.123456789", FAIL),
    Case("numeric", Double(), "0.12345678901234567890123", FAIL),
    Case("numeric", Double(), "0.5", 0.5),
    Case("bigint", Double(), "9007199254740993", FAIL),
    Case("timestamp with time zone", Timestamp(), "'2024-01-01 10:00+05'", FAIL),
    Case("text", Timestamp(), "'2024-01-01 10:00+05'", FAIL),
    Case("text", Timestamp(), "'2024-01-01 10:00'", dt.datetime(2024, 1, 1, 10)),
    Case("timestamp", Timestamp(with_time_zone=True), "'2024-01-01 10:00'", dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)),
    Case("timestamp", Date(), "'2024-01-01 10:00'", FAIL),
    Case("timestamp", Date(), "'2024-01-01 00:00'", dt.date(2024, 1, 1)),
    Case("text", Text(), "''", ""),
    Case("smallint", BigInt(), "-32768", -32768),
]

MARIA_CASES = [
    Case("VARCHAR(100)", VarChar(20), "REPEAT('x', 60)", FAIL),
    Case("VARCHAR(100)", VarChar(20), "REPEAT('x', 60)", "x" * 20, lossy=True),
    Case("VARCHAR(100)", VarChar(20), "REPEAT('x', 20)", "x" * 20),
    Case("TEXT", Char(2), "'abc'", FAIL),
    Case("DECIMAL(12,4)", Decimal(10, 2), "1.2345", FAIL),
    Case("DECIMAL(12,4)", Decimal(10, 2), "1.2300", D("1.23")),
    Case("DECIMAL(20,2)", Decimal(5, 2), "12345.67", FAIL),
    Case("BIGINT", Integer(), "2147483648", FAIL),
    Case("BIGINT", BigInt(), "-9223372036854775808", -(2**63)),
    Case("BIGINT UNSIGNED", BigInt(), "18446744073709551615", FAIL),
    Case("DOUBLE", Integer(), "1.5", FAIL),
    Case("DOUBLE", Integer(), "7", 7),
    Case("INT", SmallInt(), "40000", FAIL),
    Case("DATETIME", Date(), "'2024-01-01 10:00:00'", FAIL),
    Case("DATETIME", Date(), "'2024-01-01 00:00:00'", dt.date(2024, 1, 1)),
    Case("DATETIME(6)", Timestamp(), "'2024-01-01 10:00:00.123456'", dt.datetime(2024, 1, 1, 10, 0, 0, 123456)),
    Case("FLOAT", Float(), "0.1", pytest.approx(0.1, rel=1e-7)),
    Case("DOUBLE", Float(), "0.123456789", FAIL),
    Case("DOUBLE", Double(), "0.1", 0.1),
    Case("TINYINT(1)", Boolean(), "1", True),
    Case("INT", VarChar(3), "12345", FAIL),
    Case("VARCHAR(10)", Text(), "''", ""),
]


def _table(case: Case) -> DDLTable:
    return DDLTable(
        [DDLColumn("id", Integer(), nullable=False), DDLColumn("v", case.model, allow_lossy=case.lossy)], ["id"]
    )


def _stage(source: Engine, target: Engine, table: DDLTable) -> list[Any]:
    with target.begin() as conn:
        projection.ensure_staging_table(conn, "stg", table)
    with source.connect() as src, target.begin() as tgt:
        ingest_chunk(src, tgt, source_table=SourceTable("src"), table=table, staging_table="stg", batch_id=1, limit=10)
    with target.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT v FROM stg ORDER BY id"))]


def _check(case: Case, source: Engine, target: Engine, source_type: str) -> None:
    table = _table(case)
    if case.expected is FAIL:
        with pytest.raises(ValueFidelityError) as info:
            _stage(source, target, table)
        err = info.value
        assert (err.column, err.model_type, err.key) == ("v", case.model, {"id": 2})
        assert source_type.lower() in err.source_type.lower()
        message = str(err)
        assert "'v'" in message and case.model.sql() in message and "id=2" in message and "allow_lossy" in message
        with target.connect() as conn:  # the failed chunk left nothing behind
            assert conn.execute(text("SELECT count(*) FROM stg")).scalar_one() == 0
    else:
        assert _stage(source, target, table) == [None, case.expected, None]


@pytest.mark.parametrize("case", PG_CASES, ids=str)
def test_postgres_source(pg_engine: Engine, case: Case) -> None:
    with pg_engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE src (id integer PRIMARY KEY, v {case.source_type})"))
        # NULLs around the value: a NULL always fits.
        conn.execute(text(f"INSERT INTO src VALUES (1, NULL), (2, {case.value}), (3, NULL)"))
        source_type = conn.execute(
            text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'src'::regclass AND attname = 'v'"
            )
        ).scalar_one()
    _check(case, pg_engine, pg_engine, source_type)


@pytest.mark.parametrize("case", MARIA_CASES, ids=str)
def test_mariadb_source(pg_engine: Engine, mariadb_url: str, case: Case) -> None:
    maria = create_engine(mariadb_url)
    try:
        with maria.begin() as conn:
            conn.execute(text(f"CREATE TABLE src (id INT PRIMARY KEY, v {case.source_type})"))
            conn.execute(text(f"INSERT INTO src VALUES (1, NULL), (2, {case.value}), (3, NULL)"))
            source_type = conn.execute(
                text(
                    "SELECT data_type FROM information_schema.columns WHERE table_schema = database() AND column_name = 'v'"
                )
            ).scalar_one()
        _check(case, maria, pg_engine, source_type)
    finally:
        maria.dispose()


def test_unchanged_types_are_copied_without_a_cast(pg_engine: Engine) -> None:
    """Same source and model type: the staged SELECT has no CASE and no CAST for it."""
    from datasurface.platforms.yellow.fidelity import conversion

    conv = conversion(0, DDLColumn("v", VarChar(20)), "character varying(20)")
    assert conv.value_sql('"v"') == '"v"'
    wider = conversion(0, DDLColumn("v", VarChar(20)), "character varying(100)")
    assert "CASE" in wider.value_sql('"v"')


def test_lint_explains_allow_lossy() -> None:
    from datasurface.model.lint import lint_ecosystem
    from tests.model.builders import valid_bundle

    bundle = valid_bundle()
    name_col = bundle.dataset.schema.column("name")
    assert name_col is not None
    name_col.allow_lossy = True
    problems = lint_ecosystem(bundle.eco, bundle.assignments)
    assert not problems.has_errors()
    (warning,) = problems.warnings
    assert warning.rule == "lossy-column" and warning.path.endswith("Column 'name'")
    assert "VARCHAR(50)" in warning.message and "truncated" in warning.message and "allow_lossy" in warning.hint

    key_col = bundle.dataset.schema.column("id")
    assert key_col is not None
    key_col.allow_lossy = True
    problems = lint_ecosystem(bundle.eco, bundle.assignments)
    assert [p.rule for p in problems.errors] == ["lossy-primary-key"]


def test_allow_lossy_changes_the_schema_fingerprint_only_when_set() -> None:
    plain = DDLTable([DDLColumn("id", Integer(), nullable=False), DDLColumn("v", VarChar(5))], ["id"])
    lossy = DDLTable([DDLColumn("id", Integer(), nullable=False), DDLColumn("v", VarChar(5), allow_lossy=True)], ["id"])
    # A fingerprint from before the option existed (names, types, nullability, key) is unchanged.
    import hashlib

    before = hashlib.sha256(b"id:INTEGER:NN|v:VARCHAR(5):N|PK:id").hexdigest()[:16]
    assert plain.fingerprint() == before
    assert lossy.fingerprint() != before
