# ruff: noqa: S608  # SQL text is built from quote_ident()ed names and constants; values are bound
"""Stream a source table into a staging table for one batch, in restartable keyset chunks.

`ingest_chunk` copies the source rows whose primary key is after `after_key` (at most
`limit` of them, in key order) into staging, tagged with the batch id and with their
all-columns hash already computed (`hashing`): staging rows are written once.

Two paths, chosen from the source's dialect (or forced with `method`):

- ``"copy"`` (Postgres sources): ``COPY (SELECT ...) TO STDOUT`` on the source piped block
  by block into ``COPY staging FROM STDIN`` on the target, through psycopg 3. The source
  SELECT casts every column to its model type and computes the hash, so no row is parsed
  in Python and the hash renders exactly as it would in the merge database. The source and
  the merge backends work in parallel: one renders and hashes, the other parses and stores.
- ``"fetch"`` (any SQLAlchemy source, e.g. MariaDB): a server-side cursor fetches
  `fetch_size` rows at a time; each batch of rows is COPYed into a transaction-local temp
  table, then one ``INSERT ... SELECT`` computes the hash into staging. Memory is flat:
  at most `fetch_size` rows are held in Python.

`fresh=True` (the caller's promise that staging holds nothing it still needs: the first
chunk of a dataset in a batch) truncates staging in the chunk's transaction first, which
lets the COPY path load it with ``COPY ... FREEZE``: rows written already frozen, so the
merge's first read of them sets no hint bits (and dirties no page). A rollback of the chunk
rolls back the truncation too.

Restart safety is at the SQL level: `ingest_chunk` writes staging only through the caller's
`target` connection and never commits. The caller records the chunk's checkpoint
(`batch_metadata.record_checkpoint`) in the same transaction and commits; a kill before the
commit rolls back both the rows and the checkpoint, and the rerun copies the same key range
again. A chunk is the key range ``(after_key, last_key]``: its upper bound is read from the
source first, so a rerun re-reads exactly that range.

Keys are resumable across processes as JSON (`key_to_json`, `key_from_json`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import sqlalchemy as sa

from datasurface.errors import DataSurfaceError
from datasurface.model.schema import (
    BigInt,
    Binary,
    DataType,
    Date,
    DDLTable,
    Decimal,
    Integer,
    Json,
    SmallInt,
    Timestamp,
)

from .copy_relay import relay
from .fidelity import ColumnConversion, ValueFidelityError, conversion, unfit_column, wide_type
from .hashing import all_hash_sql, hashed_columns, pin_hash_settings
from .naming import physical_name, qualified, quote_ident
from .pgconn import AnyConnection, database_errors, text
from .projection import ALL_HASH, BATCH_ID, BATCH_IN, BATCH_OUT, LIVE_BATCH_OUT

__all__ = [
    "ChunkError",
    "ChunkResult",
    "KeyValues",
    "SourceTable",
    "SourceTableError",
    "ValueFidelityError",
    "check_source_columns",
    "clear_staging",
    "copy_source_into",
    "describe_range",
    "ingest_chunk",
    "key_from_json",
    "key_to_json",
    "source_column_types",
]

KeyValues = tuple[Any, ...]
DEFAULT_FETCH_SIZE = 20_000


@dataclass(frozen=True, slots=True)
class SourceTable:
    """A table (or view) in the source database."""

    name: str
    schema: str | None = None


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """What one `ingest_chunk` call copied.

    `rows`: rows written to staging. `last_key`: the key to pass as `after_key` for the next
    chunk (None when `done`). `done`: the source has no rows after this chunk.
    """

    rows: int
    last_key: KeyValues | None
    done: bool


def key_to_json(key: KeyValues) -> list[Any]:
    """A key as JSON-safe values (for checkpoints); inverse of `key_from_json`."""
    out: list[Any] = []
    for v in key:
        if isinstance(v, dt.date | dt.datetime | dt.time):
            out.append(v.isoformat())
        elif isinstance(v, decimal.Decimal):
            out.append(str(v))
        elif isinstance(v, bytes | bytearray | memoryview):
            out.append(bytes(v).hex())
        else:
            out.append(v)
    return out


def _from_json(value: Any, data_type: DataType) -> Any:
    if value is None:
        return None
    match data_type:
        case SmallInt() | Integer() | BigInt():
            return int(value)
        case Decimal():
            return decimal.Decimal(value)
        case Timestamp():
            return dt.datetime.fromisoformat(value)
        case Date():
            return dt.date.fromisoformat(value)
        case Binary():
            return bytes.fromhex(value)
    return value


def key_from_json(values: Sequence[Any], table: DDLTable) -> KeyValues:
    """A checkpointed key back as Python values of the key columns' model types."""
    if len(values) != len(table.primary_key):
        raise ValueError(f"Checkpoint key {list(values)} does not match primary key {table.primary_key}")
    types = [_key_column(table, k).type for k in table.primary_key]
    return tuple(_from_json(v, t) for v, t in zip(values, types, strict=True))


def _key_column(table: DDLTable, name: str) -> Any:
    col = table.column(name)
    if col is None:
        raise ValueError(f"Primary key column {name!r} is not a column of the dataset")
    return col


def clear_staging(target: AnyConnection, staging_table: str, batch_id: int | None = None) -> int:
    """Delete the staging rows of `batch_id` (all rows when None); returns the rows deleted.

    All rows: ``TRUNCATE`` (transactional in Postgres, so a rollback restores them).
    """
    if batch_id is None:
        target.execute(text(f"TRUNCATE {quote_ident(staging_table)}"))
        return -1
    deleted = target.execute(
        text(f"DELETE FROM {quote_ident(staging_table)} WHERE {quote_ident(BATCH_ID)} = :b"), {"b": batch_id}
    ).rowcount
    return int(deleted)


def _driver(conn: AnyConnection) -> Any:
    """The psycopg 3 connection under a SQLAlchemy connection (same transaction)."""
    driver = conn.connection.driver_connection
    if driver is None or not hasattr(driver, "cursor"):
        raise TypeError("COPY needs a psycopg 3 connection (postgresql+psycopg://...)")
    return driver


def _staging_columns(table: DDLTable) -> list[str]:
    return [*table.column_names(), BATCH_ID, ALL_HASH]


def _staging_insert_columns(table: DDLTable) -> str:
    return ", ".join(quote_ident(c) for c in _staging_columns(table))


class ChunkError(DataSurfaceError):
    """Copying one chunk failed; the message names the key range the chunk was reading."""


def describe_range(table: DDLTable, after_key: KeyValues | None, upper: KeyValues | None) -> str:
    """``key (id) range after (5) up to (9)``: the chunk's key range, for messages."""
    cols = ", ".join(table.primary_key)
    low = "from the first key" if after_key is None else f"after ({', '.join(repr(v) for v in after_key)})"
    high = "to the end" if upper is None else f"up to ({', '.join(repr(v) for v in upper)})"
    return f"key ({cols}) range {low} {high}"


class SourceTableError(ChunkError):
    """The source table does not exist or lacks a column of the dataset."""


def check_source_columns(
    table: DDLTable, source_table: SourceTable, types: Mapping[str, str], *, case_sensitive: bool = True
) -> None:
    """Raise `SourceTableError` unless `types` (from `source_column_types`) has every column
    (compared ignoring case for databases whose column names are, like MariaDB's)."""
    name = source_table.name if source_table.schema is None else f"{source_table.schema}.{source_table.name}"
    if not types:
        raise SourceTableError(f"source table '{name}' does not exist")
    have = set(types) if case_sensitive else {c.lower() for c in types}
    missing = [c for c in table.column_names() if (c if case_sensitive else c.lower()) not in have]
    if missing:
        raise SourceTableError(f"source table '{name}' has no column(s) {', '.join(missing)}")


def source_column_types(source: AnyConnection, source_table: SourceTable) -> dict[str, str]:
    """The source table's columns and their types (empty when the table does not exist).

    Postgres: ``format_type`` spelling, which `fidelity` compares with the model's types.
    Other databases: the type as SQLAlchemy reflects it (used in messages only: their
    values are loaded through wide types and always checked).
    """
    if source.dialect.name == "postgresql":
        rel = qualified(source_table.name, source_table.schema)
        rows = source.execute(
            text(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a"
                " WHERE a.attrelid = to_regclass(:rel) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
            ),
            {"rel": rel},
        )
        return {r[0]: r[1] for r in rows}
    import sqlalchemy as sa  # a non-Postgres source is always a SQLAlchemy connection

    inspector = sa.inspect(source)
    if not inspector.has_table(source_table.name, schema=source_table.schema):
        return {}
    return {c["name"]: str(c["type"]) for c in inspector.get_columns(source_table.name, schema=source_table.schema)}


def ingest_chunk(
    source: AnyConnection,
    target: AnyConnection,
    *,
    source_table: SourceTable,
    table: DDLTable,
    staging_table: str,
    batch_id: int,
    after_key: KeyValues | None = None,
    limit: int | None = None,
    method: Literal["auto", "copy", "fetch"] = "auto",
    fetch_size: int = DEFAULT_FETCH_SIZE,
    fresh: bool = False,
    source_types: Mapping[str, str] | None = None,
) -> ChunkResult:
    """Copy the next chunk of `source_table` into `staging_table` for `batch_id`.

    Rows with key > `after_key` (all rows when None), at most `limit` (all when None), in
    primary-key order. Writes through `target` in the caller's transaction and does not
    commit: commit together with the checkpoint. Source column names are the dataset's
    column names; values are converted to the model types exactly (`fidelity`): a value
    that doesn't fit raises `ValueFidelityError`; any other failure raises `ChunkError`
    naming the key range. `fresh`: truncate staging first (it holds nothing needed any
    more) and load the chunk frozen. `source_types`: the source's column types (from
    `source_column_types`, read once per run by the job); looked up when None.

    A chunk that reaches the end of the source says so (`done`), even when it is exactly
    `limit` rows long: no empty chunk follows.
    """
    if not table.primary_key:
        raise ValueError(f"Staging table {staging_table!r}: the dataset has no primary key")
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    if method == "auto":
        method = "copy" if source.dialect.name == "postgresql" else "fetch"
    if fresh:
        target.execute(text(f"TRUNCATE {quote_ident(staging_table)}"))
    if method == "copy":
        types = source_types if source_types is not None else source_column_types(source, source_table)
        check_source_columns(table, source_table, types)
        convs = [conversion(i, c, types[c.name]) for i, c in enumerate(table.columns)]
        return _ingest_copy(
            source, target, source_table, table, convs, staging_table, batch_id, after_key, limit, fresh
        )
    convs = [conversion(i, c, wide_type(c.type)) for i, c in enumerate(table.columns)]
    try:
        return _ingest_fetch(
            source, target, source_table, table, convs, staging_table, batch_id, after_key, limit, fetch_size
        )
    except _Unfit as unfit:
        types = source_types if source_types is not None else _safe_types(source, source_table)
        conv = unfit.conversion
        raise ValueFidelityError(
            conv.column.name, types.get(conv.column.name, "unknown"), conv.column.type, conv.reason, unfit.key
        ) from None


def _safe_types(source: AnyConnection, source_table: SourceTable) -> dict[str, str]:
    try:
        return source_column_types(source, source_table)
    except Exception:
        return {}


# --- the Postgres COPY path --------------------------------------------------------------------


def _pg_range(
    table: DDLTable, convs: Sequence[ColumnConversion], after_key: KeyValues | None, upper: KeyValues | None
) -> tuple[str, list[Any]]:
    """WHERE clause (psycopg %s placeholders) for the key range (after_key, upper].

    Key values are cast to the *source* column types (the comparison the source's index
    serves), and each placeholder is wrapped in ``CAST(... AS ...)``: psycopg binds COPY
    parameters client-side, and ``-9223372036854775808::bigint`` would parse as
    ``-(9223372036854775808::bigint)``, out of range.
    """
    keys = table.primary_key
    by_name = {c.column.name: c for c in convs}
    row = "(" + ", ".join(quote_ident(k) for k in keys) + ")"
    casts = "(" + ", ".join(f"CAST(%s AS {by_name[k].source_type})" for k in keys) + ")"
    clauses: list[str] = []
    params: list[Any] = []
    if after_key is not None:
        clauses.append(f"{row} > {casts}")
        params += list(after_key)
    if upper is not None:
        clauses.append(f"{row} <= {casts}")
        params += list(upper)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _ingest_copy(
    source: AnyConnection,
    target: AnyConnection,
    source_table: SourceTable,
    table: DDLTable,
    convs: Sequence[ColumnConversion],
    staging_table: str,
    batch_id: int,
    after_key: KeyValues | None,
    limit: int | None,
    freeze: bool,
    *,
    into_columns: Sequence[str] | None = None,
    extra_values: Sequence[str] = (),
) -> ChunkResult:
    """COPY one chunk from the source straight into `staging_table` (or, for a first load,
    the merge table: `into_columns` with `extra_values` after the hash).

    Binary COPY: 25 % faster than text over 1M customers (2.0-2.15 s -> 1.55 s, COPY between
    two databases on Postgres 15), since neither server formats or parses text. Binary
    wants each value in exactly the target column's type, so every value is CAST to the
    target column's type without its modifier (a CAST to `varchar(n)` could truncate, one to
    `varchar` never does; values were already converted exactly to the model's type, whose
    base type the column has, so these casts change no value)."""
    pin_hash_settings(source)  # the hash is computed by the source session
    target.execute(text("SELECT 1"))  # make sure the target transaction has begun
    src_conn, tgt_conn = _driver(source), _driver(target)
    src = qualified(source_table.name, source_table.schema)
    keys = table.primary_key
    key_list = ", ".join(quote_ident(k) for k in keys)

    upper: KeyValues | None = None
    more = False
    if limit is not None:
        # The chunk's last key and whether any row follows it: no empty chunk at the end.
        where, params = _pg_range(table, convs, after_key, None)
        with src_conn.cursor() as cur:
            cur.execute(
                f"SELECT {key_list} FROM {src}{where} ORDER BY {key_list} LIMIT 2 OFFSET %s", [*params, limit - 1]
            )
            found = cur.fetchall()
        more = len(found) == 2
        upper = tuple(found[0]) if more else None

    where, params = _pg_range(table, convs, after_key, upper)
    cols = table.column_names()
    values = ", ".join(
        f"{conv.value_sql(quote_ident(conv.column.name))} AS {quote_ident(conv.column.name)}" for conv in convs
    )
    names = list(into_columns or _staging_columns(table))
    outputs = [
        *("x." + quote_ident(c) for c in cols),
        str(int(batch_id)),
        all_hash_sql(hashed_columns(table), "x"),
        *extra_values,
    ]
    base_types = _base_types(target, staging_table)
    typed = ", ".join(f"CAST({value} AS {base_types[name]})" for value, name in zip(outputs, names, strict=True))
    select = f"SELECT {typed} FROM (SELECT {values} FROM {src}{where}) x"
    # FREEZE needs the table truncated in this transaction (`fresh`), which it was.
    options = "(FORMAT binary, FREEZE)" if freeze else "(FORMAT binary)"
    columns = ", ".join(quote_ident(name) for name in names)
    copy_in = f"COPY {quote_ident(staging_table)} ({columns}) FROM STDIN {options}"
    try:
        with src_conn.cursor() as scur, tgt_conn.cursor() as tcur:
            with tcur.copy(copy_in) as cin, scur.copy(f"COPY ({select}) TO STDOUT (FORMAT binary)", params) as cout:
                relay(cout, cin)
            rows = int(tcur.rowcount)
    except Exception as exc:
        index = unfit_column(str(exc))
        if index is None:
            raise ChunkError(f"reading {describe_range(table, after_key, upper)}: {_first_line(exc)}") from exc
        conv = convs[index]
        source.rollback()  # the failed COPY aborted the source transaction
        key = _example_key(
            source, f"SELECT {key_list} FROM {src}", table, conv, *_pg_range(table, convs, after_key, upper)
        )
        source.rollback()
        raise ValueFidelityError(conv.column.name, conv.source_type, conv.column.type, conv.reason, key) from None
    return ChunkResult(rows=rows, last_key=upper, done=not more)


def _base_types(conn: AnyConnection, table: str) -> dict[str, str]:
    """Column name -> its type by internal name, schema-qualified (`pg_catalog.bpchar`), for
    casts that carry no modifier. Not ``format_type(oid, NULL)``: that spells bpchar
    "character", which in a CAST means char(1) and truncates."""
    rows = conn.execute(
        text(
            "SELECT a.attname, quote_ident(n.nspname) || '.' || quote_ident(t.typname)"
            " FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
            " JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
            " WHERE a.attrelid = to_regclass(:rel) AND a.attnum > 0 AND NOT a.attisdropped"
        ),
        {"rel": quote_ident(table)},
    )
    return {r[0]: r[1] for r in rows}


def _example_key(
    conn: AnyConnection, select: str, table: DDLTable, conv: ColumnConversion, where: str, params: list[Any]
) -> dict[str, Any] | None:
    """The first key (in key order) whose `conv` column does not fit, or None."""
    cur_sql = f"{select}{where or ' WHERE true'} AND {conv.unfit_sql(quote_ident(conv.column.name))}"
    key_list = ", ".join(quote_ident(k) for k in table.primary_key)
    pin_hash_settings(conn)
    with _driver(conn).cursor() as cur:
        cur.execute(f"{cur_sql} ORDER BY {key_list} LIMIT 1", params)
        found = cur.fetchone()
    return None if found is None else dict(zip(table.primary_key, found, strict=True))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def copy_source_into(
    source: AnyConnection,
    target: AnyConnection,
    *,
    source_table: SourceTable,
    table: DDLTable,
    target_table: str,
    batch_id: int,
    forensic: bool,
    source_types: Mapping[str, str],
) -> int:
    """A first load: COPY the whole Postgres source table straight into the empty merge
    table `target_table` (no staging), values converted exactly and hashed by the source as
    in `ingest_chunk`, tagged with `batch_id` (forensic: as versions opened by it). In the
    caller's transactions; returns the rows copied."""
    check_source_columns(table, source_table, source_types)
    convs = [conversion(i, c, source_types[c.name]) for i, c in enumerate(table.columns)]
    synthetic = [BATCH_ID, ALL_HASH, *([BATCH_IN, BATCH_OUT] if forensic else [])]
    into = [*table.column_names(), *synthetic]
    extra = [str(int(batch_id)), str(LIVE_BATCH_OUT)] if forensic else []
    result = _ingest_copy(
        source, target, source_table, table, convs, target_table, batch_id, None, None, False,
        into_columns=into, extra_values=extra,
    )  # fmt: skip
    return result.rows


# --- the generic fetch path --------------------------------------------------------------------


class _Unfit(Exception):
    def __init__(self, conversion: ColumnConversion, key: dict[str, Any] | None) -> None:
        self.conversion = conversion
        self.key = key


def _ingest_fetch(
    source: AnyConnection,
    target: AnyConnection,
    source_table: SourceTable,
    table: DDLTable,
    convs: Sequence[ColumnConversion],
    staging_table: str,
    batch_id: int,
    after_key: KeyValues | None,
    limit: int | None,
    fetch_size: int,
) -> ChunkResult:
    """Values are loaded into a temp table of wide types (`fidelity.wide_type`), then
    converted exactly into staging by one ``INSERT ... SELECT``. One row past `limit` is
    read (and not staged) to tell whether the chunk ends the source."""
    import sqlalchemy as sa  # a non-Postgres source is always a SQLAlchemy connection

    cols = table.column_names()
    keys = table.primary_key
    src_cols: dict[str, sa.ColumnClause[Any]] = {c: sa.column(c) for c in cols}
    stmt = sa.select(*src_cols.values()).select_from(sa.table(source_table.name, schema=source_table.schema))
    if after_key is not None:
        stmt = stmt.where(_generic_after([src_cols[k] for k in keys], after_key))
    stmt = stmt.order_by(*[src_cols[k] for k in keys])
    if limit is not None:
        stmt = stmt.limit(limit + 1)

    pin_hash_settings(target)  # the hash is computed by the target session
    load = physical_name("ds_surf_load", staging_table)
    col_list = ", ".join(quote_ident(c) for c in cols)
    wide = ", ".join(f"{quote_ident(c.column.name)} {c.source_type}" for c in convs)
    target.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {quote_ident(load)} ({wide}) ON COMMIT DROP"))
    key_idx = [cols.index(k) for k in keys]
    # Drivers hand JSON back as dicts and lists (psycopg) or text (PyMySQL): COPY wants text.
    json_idx = [i for i, c in enumerate(table.columns) if isinstance(c.type, Json)]
    values = ", ".join(conv.value_sql("x." + quote_ident(conv.column.name)) for conv in convs)
    insert = (
        f"INSERT INTO {quote_ident(staging_table)} ({_staging_insert_columns(table)})"
        f" SELECT y.*, :batch_id, {all_hash_sql(hashed_columns(table), 'y')}"
        f" FROM (SELECT {values} FROM {quote_ident(load)} x) y ({col_list})"
    )
    tgt_conn = _driver(target)
    total = 0
    more = False
    last: KeyValues | None = None
    result = source.execution_options(stream_results=True, max_row_buffer=fetch_size).execute(stmt)
    try:
        for part in result.partitions(fetch_size):
            if limit is not None and total + len(part) > limit:
                part = part[: limit - total]
                more = True
            if not part:
                break
            target.execute(text(f"TRUNCATE {quote_ident(load)}"))
            with tgt_conn.cursor() as tcur, tcur.copy(f"COPY {quote_ident(load)} ({col_list}) FROM STDIN") as cin:
                for row in part:
                    cin.write_row(_json_to_text(row, json_idx) if json_idx else row)
            last = tuple(part[-1][i] for i in key_idx)
            total += _insert_checked(target, insert, batch_id, table, convs, load)
            if more:
                break
    except (_Unfit, ValueFidelityError):
        raise
    except Exception as exc:
        raise ChunkError(f"reading {describe_range(table, after_key, None)}: {_first_line(exc)}") from exc
    finally:
        result.close()
    target.execute(text(f"DROP TABLE IF EXISTS {quote_ident(load)}"))
    return ChunkResult(rows=total, last_key=last if more else None, done=not more)


def _insert_checked(
    target: AnyConnection, insert: str, batch_id: int, table: DDLTable, convs: Sequence[ColumnConversion], load: str
) -> int:
    """Run the converting INSERT under a savepoint; a value that doesn't fit rolls back to
    it and the load table (still there) names an example key."""
    savepoint = target.begin_nested()
    try:
        rows = target.execute(text(insert), {"batch_id": batch_id}).rowcount
    except database_errors() as exc:
        savepoint.rollback()
        index = unfit_column(str(exc))
        if index is None:
            raise
        conv = convs[index]
        key_list = ", ".join(quote_ident(k) for k in table.primary_key)
        by_name = {c.column.name: c for c in convs}
        typed = ", ".join(f"CAST({quote_ident(k)} AS {by_name[k].target})" for k in table.primary_key)
        found = target.execute(
            text(
                f"SELECT {typed} FROM {quote_ident(load)} WHERE {conv.unfit_sql(quote_ident(conv.column.name))}"
                f" ORDER BY {key_list} LIMIT 1"
            )
        ).first()
        raise _Unfit(conv, None if found is None else dict(zip(table.primary_key, found, strict=True))) from None
    savepoint.commit()
    return int(rows)


def _json_to_text(row: Sequence[Any], json_idx: list[int]) -> list[Any]:
    out = list(row)
    for i in json_idx:
        if out[i] is not None and not isinstance(out[i], str):
            out[i] = json.dumps(out[i])
    return out


def _generic_after(columns: list[sa.ColumnClause[Any]], after: KeyValues) -> sa.ColumnElement[bool]:
    """``key > after`` spelled with AND/OR so that every dialect can use the key index."""
    import sqlalchemy as sa

    if len(columns) != len(after):
        raise ValueError(f"after_key {after!r} does not match the {len(columns)} key columns")
    ors: list[sa.ColumnElement[bool]] = []
    for i, col in enumerate(columns):
        eqs = [columns[j] == after[j] for j in range(i)]
        ors.append(sa.and_(*eqs, col > after[i]))
    return sa.or_(*ors)
