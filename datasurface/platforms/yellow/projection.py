"""Schema projection: model types to Postgres types, staging and merge table DDL, evolution.

Physical tables are the dataset's columns plus synthetic ``ds_surf_*`` columns:

- staging: ``ds_surf_batch_id`` and ``ds_surf_all_hash`` (the 64-bit all-columns hash,
  `hashing`). Every column is nullable: staging accepts whatever the source sends; the merge
  validates keys. Staging is ``UNLOGGED``: it is scratch space written once per batch and
  read once by the merge, so it skips the WAL. A server crash empties an unlogged table
  while the batch's checkpoints still count its chunks as staged; the job detects that and
  ingests the batch again (`job`, `merge.StagingIncompleteError`).
- live merge table: the same columns; primary key columns NOT NULL; a unique index on the
  primary key columns (the merge joins on them).
- forensic merge table: adds ``ds_surf_batch_in`` and ``ds_surf_batch_out`` (live versions
  carry `LIVE_BATCH_OUT`); a partial unique index on the primary key columns of live
  versions, which is the only index the merge needs, plus one on ``(batch_in, batch_out)``
  for as-of reads.

Keys are matched on the primary-key columns themselves, never on a hash of them: a hash
collision between two keys would silently merge two different rows.

Dataset columns are nullable in physical tables even when the model says NOT NULL (except
merge-table key columns): a NOT NULL column added later could not be added to a table that
already has rows, and old versions must read NULL. The model's nullability is the
producer's promise, checked by lint, not a physical constraint.

Schema evolution (`schema_changes`) only adds columns and widens types; it never drops.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from datasurface.errors import DataSurfaceError
from datasurface.model.schema import (
    BigInt,
    Binary,
    Boolean,
    Char,
    DataType,
    Date,
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
from datasurface.model.type_widening import TypeChange, classify_type_change

from .hashing import SCHEME_MARKER, hashed_columns, pin_hash_settings, rehash_sql
from .naming import index_name, quote_ident
from .pgconn import AnyConnection, text

__all__ = [
    "ALL_HASH",
    "BATCH_ID",
    "BATCH_IN",
    "BATCH_OUT",
    "LIVE_BATCH_OUT",
    "ColumnChange",
    "PhysicalColumn",
    "SchemaEvolutionError",
    "TableHook",
    "create_merge_table_sql",
    "create_staging_table_sql",
    "ensure_merge_table",
    "ensure_staging_table",
    "merge_columns",
    "model_type",
    "pg_type",
    "read_table_columns",
    "schema_changes",
    "staging_columns",
]

BATCH_ID = "ds_surf_batch_id"
ALL_HASH = "ds_surf_all_hash"
BATCH_IN = "ds_surf_batch_in"
BATCH_OUT = "ds_surf_batch_out"
# Largest int4: the batch_out of a version that is still live (ARCHITECTURE.md, "Contracts").
LIVE_BATCH_OUT = 2147483647


class SchemaEvolutionError(DataSurfaceError):
    """An existing table cannot be evolved to the model's schema (e.g. a narrowed type)."""


@dataclass(frozen=True, slots=True)
class PhysicalColumn:
    """A column of a physical table: its name, Postgres type (``format_type`` spelling)."""

    name: str
    pg_type: str
    nullable: bool = True
    #: The column's comment in an existing table (the hash column's names its hash scheme).
    comment: str | None = field(default=None, compare=False)

    def ddl(self) -> str:
        return f"{quote_ident(self.name)} {self.pg_type}{'' if self.nullable else ' NOT NULL'}"


def pg_type(data_type: DataType) -> str:
    """The Postgres type for a model type, spelled as ``format_type()`` prints it."""
    match data_type:
        case SmallInt():
            return "smallint"
        case Integer():
            return "integer"
        case BigInt():
            return "bigint"
        case Decimal(precision=p, scale=s):
            return f"numeric({p},{s})"
        case Float():
            return "real"
        case Double():
            return "double precision"
        case VarChar(length=n):
            return f"character varying({n})"
        case Char(length=n):
            return f"character({n})"
        case Text():
            return "text"
        case Boolean():
            return "boolean"
        case Date():
            return "date"
        case Timestamp(with_time_zone=True):
            return "timestamp with time zone"
        case Timestamp():
            return "timestamp without time zone"
        case Interval():
            return "interval"
        case Binary():
            return "bytea"
        case Json():
            return "jsonb"
    raise TypeError(f"No Postgres type for model type {data_type!r}")


def _dataset_columns(table: DDLTable, *, key_not_null: bool) -> list[PhysicalColumn]:
    keys = set(table.primary_key)
    return [
        PhysicalColumn(c.name, pg_type(c.type), nullable=not (key_not_null and c.name in keys)) for c in table.columns
    ]


def staging_columns(table: DDLTable) -> list[PhysicalColumn]:
    """Columns of the staging table: all nullable, synthetic columns last."""
    return [
        *_dataset_columns(table, key_not_null=False),
        PhysicalColumn(BATCH_ID, "integer", nullable=False),
        PhysicalColumn(ALL_HASH, "bigint"),
    ]


def merge_columns(table: DDLTable, *, forensic: bool) -> list[PhysicalColumn]:
    """Columns of a live or forensic merge table; key columns NOT NULL."""
    cols = [
        *_dataset_columns(table, key_not_null=True),
        PhysicalColumn(BATCH_ID, "integer", nullable=False),
        PhysicalColumn(ALL_HASH, "bigint", nullable=False),
    ]
    if forensic:
        cols += [
            PhysicalColumn(BATCH_IN, "integer", nullable=False),
            PhysicalColumn(BATCH_OUT, "integer", nullable=False),
        ]
    return cols


def _require_key(table: DDLTable, what: str) -> None:
    if not table.primary_key:
        raise SchemaEvolutionError(f"{what}: the dataset has no primary key; the merge needs one")
    missing = [k for k in table.primary_key if table.column(k) is None]
    if missing:
        raise SchemaEvolutionError(f"{what}: primary key column(s) {missing} are not columns of the dataset")


def create_staging_table_sql(name: str, table: DDLTable) -> list[str]:
    """``CREATE UNLOGGED TABLE IF NOT EXISTS`` for a staging table (no indexes, no WAL:
    bulk-load speed)."""
    _require_key(table, f"Staging table {name!r}")
    cols = ",\n  ".join(c.ddl() for c in staging_columns(table))
    return [f"CREATE UNLOGGED TABLE IF NOT EXISTS {quote_ident(name)} (\n  {cols}\n)", _hash_scheme_comment(name)]


def create_merge_table_sql(name: str, table: DDLTable, *, forensic: bool) -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` plus its indexes for a live or forensic merge table."""
    _require_key(table, f"Merge table {name!r}")
    cols = ",\n  ".join(c.ddl() for c in merge_columns(table, forensic=forensic))
    stmts = [f"CREATE TABLE IF NOT EXISTS {quote_ident(name)} (\n  {cols}\n)", _hash_scheme_comment(name)]
    tbl = quote_ident(name)
    keys = ", ".join(quote_ident(k) for k in table.primary_key)
    if forensic:
        stmts.append(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {quote_ident(index_name(name, 'live_key'))} "
            f"ON {tbl} ({keys}) WHERE {quote_ident(BATCH_OUT)} = {LIVE_BATCH_OUT}"
        )
        stmts.append(
            f"CREATE INDEX IF NOT EXISTS {quote_ident(index_name(name, 'batch_range'))} "
            f"ON {tbl} ({quote_ident(BATCH_IN)}, {quote_ident(BATCH_OUT)})"
        )
    else:
        stmts.append(f"CREATE UNIQUE INDEX IF NOT EXISTS {quote_ident(index_name(name, 'key'))} ON {tbl} ({keys})")
    return stmts


def _hash_scheme_comment(name: str) -> str:
    return f"COMMENT ON COLUMN {quote_ident(name)}.{quote_ident(ALL_HASH)} IS '{SCHEME_MARKER}'"


def read_table_columns(conn: AnyConnection, name: str, schema: str | None = None) -> dict[str, PhysicalColumn]:
    """The columns of an existing table (empty if it does not exist), in ordinal order.

    Types come from ``format_type`` so they compare directly with `pg_type`.
    """
    rows = conn.execute(
        text(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,"
            " col_description(a.attrelid, a.attnum)"
            " FROM pg_catalog.pg_attribute a"
            " WHERE a.attrelid = to_regclass(:rel) AND a.attnum > 0 AND NOT a.attisdropped"
            " ORDER BY a.attnum"
        ),
        {"rel": quote_ident(name) if schema is None else f"{quote_ident(schema)}.{quote_ident(name)}"},
    )
    return {r[0]: PhysicalColumn(r[0], r[1], bool(r[2]), r[3]) for r in rows}


_SIZED = re.compile(r"(character varying|character|numeric)\((\d+)(?:,(\d+))?\)\Z")
# Read back through `pg_type` itself, so the two directions can't disagree.
_UNSIZED: dict[str, DataType] = {
    pg_type(t): t
    for t in (
        SmallInt(), Integer(), BigInt(), Float(), Double(), Text(), Boolean(), Date(), Timestamp(),
        Timestamp(with_time_zone=True), Interval(), Binary(), Json(),
    )
}  # fmt: skip


def model_type(pg_type_name: str) -> DataType | None:
    """The model type whose column type (`pg_type`) is `pg_type_name` (a ``format_type``
    spelling), or None for a type no model type maps to."""
    if pg_type_name in _UNSIZED:
        return _UNSIZED[pg_type_name]
    m = _SIZED.match(pg_type_name)
    if m is None:
        return None
    if m[1] == "numeric":
        return Decimal(int(m[2]), int(m[3] or 0))
    return VarChar(int(m[2])) if m[1] == "character varying" else Char(int(m[2]))


def _is_widening(old: str, new: str) -> bool:
    """True when the model's one widening table (`datasurface.model.type_widening`, which
    the change checker applies to pull requests) lets type `old` widen to `new`."""
    old_type, new_type = model_type(old), model_type(new)
    return (
        old_type is not None
        and new_type is not None
        and classify_type_change(old_type, new_type) is TypeChange.WIDENING
    )


@dataclass(frozen=True, slots=True)
class ColumnChange:
    """One step of a table's schema evolution: a column added, or its type widened."""

    table: str
    column: PhysicalColumn
    #: The column's type before a widening; None when the column is added.
    widened_from: str | None = None

    @property
    def widens(self) -> bool:
        return self.widened_from is not None

    def sql(self) -> str:
        tbl, col = quote_ident(self.table), quote_ident(self.column.name)
        if self.widened_from is None:
            return f"ALTER TABLE {tbl} ADD COLUMN {col} {self.column.pg_type}"
        return f"ALTER TABLE {tbl} ALTER COLUMN {col} TYPE {self.column.pg_type}"


def schema_changes(
    name: str, existing: Mapping[str, PhysicalColumn], wanted: Sequence[PhysicalColumn]
) -> list[ColumnChange]:
    """What brings table `name` from `existing` to `wanted` columns.

    New columns are added nullable (old rows and old versions read NULL). A type that
    changed is altered only when the change is a widening of the model's table (integers to
    wider integers or to decimals of scale 0, decimals with more digits at the same scale,
    real to double precision, longer strings, strings to text); anything else raises
    `SchemaEvolutionError` naming the table and column. Columns that the model no longer
    has are kept: nothing is ever dropped.
    """
    changes: list[ColumnChange] = []
    for col in wanted:
        old = existing.get(col.name)
        if old is None:
            changes.append(ColumnChange(name, col))
        elif old.pg_type != col.pg_type:
            if not _is_widening(old.pg_type, col.pg_type):
                raise SchemaEvolutionError(
                    f"Table {name!r} / column {col.name!r}: cannot change type {old.pg_type} to "
                    f"{col.pg_type}; only widening changes are applied. Revert the type change or "
                    "introduce a new column."
                )
            changes.append(ColumnChange(name, col, widened_from=old.pg_type))
    return changes


#: Called with a table's name: before its stored row hashes are recomputed (a one-off
#: ``UPDATE`` of every row), or before a column type of it is widened (views block that).
TableHook = Callable[[str], None]


def _ensure(
    conn: AnyConnection,
    name: str,
    create: list[str],
    wanted: list[PhysicalColumn],
    table: DDLTable,
    *,
    existing: Mapping[str, PhysicalColumn] | None = None,
    before_rehash: TableHook | None = None,
    before_widening: TableHook | None = None,
) -> list[str]:
    """Create table `name`, or evolve it to `wanted`; returns the statements executed.

    A table with a row hash column whose stored hashes predate the current scheme
    (`hashing`; the marker is that column's comment) has them recomputed, in the caller's
    transaction with the hash settings pinned for the rest of it: otherwise every row would
    look changed to the next merge (forensic history would record a new version of every
    row). That comes after evolution, so that the model's columns all exist."""
    if existing is None:
        existing = read_table_columns(conn, name)
    if not existing:
        stmts = create
    else:
        changes = schema_changes(name, existing, wanted)
        if before_widening is not None and any(change.widens for change in changes):
            before_widening(name)
        stmts = [change.sql() for change in changes]
    for stmt in stmts:
        conn.execute(text(stmt))
    hash_column = existing.get(ALL_HASH)
    if hash_column is not None and hash_column.comment != SCHEME_MARKER:
        if before_rehash is not None:
            before_rehash(name)
        pin_hash_settings(conn)
        rehash = rehash_sql(name, hashed_columns(table), ALL_HASH)
        for stmt in rehash:
            conn.execute(text(stmt))
        stmts = [*stmts, *rehash]
    return stmts


def ensure_staging_table(
    conn: AnyConnection, name: str, table: DDLTable, *, before_rehash: TableHook | None = None
) -> list[str]:
    """Create the staging table, or evolve it to `table` (see `_ensure`)."""
    return _ensure(
        conn, name, create_staging_table_sql(name, table), staging_columns(table), table, before_rehash=before_rehash
    )


def _key_index_columns(conn: AnyConnection, index: str) -> list[str] | None:
    """The columns of index `index`, in order (None if it does not exist)."""
    row = conn.execute(
        text(
            "SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_catalog.pg_index i"
            " CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)"
            " JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE i.indexrelid = to_regclass(:idx)"
        ),
        {"idx": quote_ident(index)},
    ).scalar_one()
    return None if row is None else list(row)


def ensure_merge_table(
    conn: AnyConnection,
    name: str,
    table: DDLTable,
    *,
    forensic: bool,
    before_rehash: TableHook | None = None,
    before_widening: TableHook | None = None,
) -> list[str]:
    """Create the merge table with its indexes, or evolve it (see `_ensure`); returns the
    statements executed.

    An existing table must have its unique key index on the model's primary-key columns
    (the merge matches rows on them): a changed primary key, or a table of an earlier
    layout, raises `SchemaEvolutionError` rather than merging on the wrong key.
    """
    existing = read_table_columns(conn, name)
    if existing:
        index = index_name(name, "live_key" if forensic else "key")
        found = _key_index_columns(conn, index)
        if found != list(table.primary_key):
            raise SchemaEvolutionError(
                f"Table {name!r}: its key index {index!r} is on {found or 'nothing'}, but the dataset's primary "
                f"key is {list(table.primary_key)}; a primary key can't be changed in place. Keep the key or "
                "publish the data as a new dataset."
            )
    return _ensure(
        conn,
        name,
        create_merge_table_sql(name, table, forensic=forensic),
        merge_columns(table, forensic=forensic),
        table,
        existing=existing,
        before_rehash=before_rehash,
        before_widening=before_widening,
    )


def ensure_plain_table(conn: AnyConnection, name: str, table: DDLTable) -> list[str]:
    """A table with just the dataset's columns (a transformer's output table), created or
    evolved like the others; key columns NOT NULL so a transformer can't write NULL keys."""
    cols = _dataset_columns(table, key_not_null=True)
    create = [f"CREATE TABLE IF NOT EXISTS {quote_ident(name)} ({', '.join(c.ddl() for c in cols)})"]
    return _ensure(conn, name, create, cols, table)
