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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Connection, text

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

from .hashing import HASH_SETTINGS, all_hash_sql
from .naming import physical_name, qualified, quote_ident
from .projection import ALL_HASH, BATCH_ID, pg_type

__all__ = [
    "ChunkResult",
    "KeyValues",
    "SourceTable",
    "clear_staging",
    "ingest_chunk",
    "key_from_json",
    "key_to_json",
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


def clear_staging(target: Connection, staging_table: str, batch_id: int | None = None) -> int:
    """Delete the staging rows of `batch_id` (all rows when None); returns the rows deleted.

    All rows: ``TRUNCATE`` (transactional in Postgres, so a rollback restores them).
    """
    if batch_id is None:
        target.execute(text(f"TRUNCATE {quote_ident(staging_table)}"))
        return -1
    return target.execute(
        text(f"DELETE FROM {quote_ident(staging_table)} WHERE {quote_ident(BATCH_ID)} = :b"), {"b": batch_id}
    ).rowcount


def _set_hash_settings(conn: Connection) -> None:
    for name, value in HASH_SETTINGS.items():
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})


def _driver(conn: Connection) -> Any:
    """The psycopg 3 connection under a SQLAlchemy connection (same transaction)."""
    driver = conn.connection.driver_connection
    if driver is None or not hasattr(driver, "cursor"):
        raise TypeError("COPY needs a psycopg 3 connection (postgresql+psycopg://...)")
    return driver


def _staging_insert_columns(table: DDLTable) -> str:
    return ", ".join(quote_ident(c) for c in [*table.column_names(), BATCH_ID, ALL_HASH])


def ingest_chunk(
    source: Connection,
    target: Connection,
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
) -> ChunkResult:
    """Copy the next chunk of `source_table` into `staging_table` for `batch_id`.

    Rows with key > `after_key` (all rows when None), at most `limit` (all when None), in
    primary-key order. Writes through `target` in the caller's transaction and does not
    commit: commit together with the checkpoint. Source column names are the dataset's
    column names; values are cast to the model types. `fresh`: truncate staging first (it
    holds nothing needed any more) and load the chunk frozen.
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
        return _ingest_copy(source, target, source_table, table, staging_table, batch_id, after_key, limit, fresh)
    return _ingest_fetch(source, target, source_table, table, staging_table, batch_id, after_key, limit, fetch_size)


# --- the Postgres COPY path --------------------------------------------------------------------


def _pg_after(table: DDLTable, after_key: KeyValues | None, upper: KeyValues | None) -> tuple[str, list[Any]]:
    """WHERE clause (psycopg %s placeholders) for the key range (after_key, upper]."""
    keys = table.primary_key
    row = "(" + ", ".join(quote_ident(k) for k in keys) + ")"
    casts = "(" + ", ".join(f"%s::{pg_type(_key_column(table, k).type)}" for k in keys) + ")"
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
    source: Connection,
    target: Connection,
    source_table: SourceTable,
    table: DDLTable,
    staging_table: str,
    batch_id: int,
    after_key: KeyValues | None,
    limit: int | None,
    freeze: bool,
) -> ChunkResult:
    _set_hash_settings(source)  # the hash is computed by the source session
    target.execute(text("SELECT 1"))  # make sure the target transaction has begun
    src_conn, tgt_conn = _driver(source), _driver(target)
    src = qualified(source_table.name, source_table.schema)
    keys = table.primary_key
    key_list = ", ".join(quote_ident(k) for k in keys)

    upper: KeyValues | None = None
    if limit is not None:
        where, params = _pg_after(table, after_key, None)
        with src_conn.cursor() as cur:
            cur.execute(
                f"SELECT {key_list} FROM {src}{where} ORDER BY {key_list} LIMIT 1 OFFSET %s", [*params, limit - 1]
            )
            found = cur.fetchone()
        upper = tuple(found) if found is not None else None

    where, params = _pg_after(table, after_key, upper)
    cast_cols = ", ".join(
        f"CAST({quote_ident(c.name)} AS {pg_type(c.type)}) AS {quote_ident(c.name)}" for c in table.columns
    )
    cols = table.column_names()
    select = (
        f"SELECT {', '.join('x.' + quote_ident(c) for c in cols)}, {int(batch_id)}, {all_hash_sql(cols, 'x')}"
        f" FROM (SELECT {cast_cols} FROM {src}{where}) x"
    )
    # FREEZE needs the table truncated in this transaction (`fresh`), which it was.
    options = " (FREEZE)" if freeze else ""
    copy_in = f"COPY {quote_ident(staging_table)} ({_staging_insert_columns(table)}) FROM STDIN{options}"
    with src_conn.cursor() as scur, tgt_conn.cursor() as tcur:
        with tcur.copy(copy_in) as cin, scur.copy(f"COPY ({select}) TO STDOUT", params) as cout:
            for block in cout:
                cin.write(block)
        rows = int(tcur.rowcount)
    return ChunkResult(rows=rows, last_key=upper, done=upper is None)


# --- the generic fetch path --------------------------------------------------------------------


def _ingest_fetch(
    source: Connection,
    target: Connection,
    source_table: SourceTable,
    table: DDLTable,
    staging_table: str,
    batch_id: int,
    after_key: KeyValues | None,
    limit: int | None,
    fetch_size: int,
) -> ChunkResult:
    cols = table.column_names()
    keys = table.primary_key
    src_cols: dict[str, sa.ColumnClause[Any]] = {c: sa.column(c) for c in cols}
    stmt = sa.select(*src_cols.values()).select_from(sa.table(source_table.name, schema=source_table.schema))
    if after_key is not None:
        stmt = stmt.where(_generic_after([src_cols[k] for k in keys], after_key))
    stmt = stmt.order_by(*[src_cols[k] for k in keys])
    if limit is not None:
        stmt = stmt.limit(limit)

    _set_hash_settings(target)  # the hash is computed by the target session
    load = physical_name("ds_surf_load", staging_table)
    col_list = ", ".join(quote_ident(c) for c in cols)
    target.execute(
        text(
            f"CREATE TEMP TABLE IF NOT EXISTS {quote_ident(load)} ON COMMIT DROP AS"
            f" SELECT {col_list} FROM {quote_ident(staging_table)} WITH NO DATA"
        )
    )
    key_idx = [cols.index(k) for k in keys]
    # Drivers hand JSON back as dicts and lists (psycopg) or text (PyMySQL): COPY wants text.
    json_idx = [i for i, c in enumerate(table.columns) if isinstance(c.type, Json)]
    tgt_conn = _driver(target)
    total = 0
    last: KeyValues | None = None
    result = source.execution_options(stream_results=True, max_row_buffer=fetch_size).execute(stmt)
    try:
        for part in result.partitions(fetch_size):
            target.execute(text(f"TRUNCATE {quote_ident(load)}"))
            with tgt_conn.cursor() as tcur, tcur.copy(f"COPY {quote_ident(load)} ({col_list}) FROM STDIN") as cin:
                for row in part:
                    cin.write_row(_json_to_text(row, json_idx) if json_idx else row)
            last = tuple(part[-1][i] for i in key_idx)
            total += target.execute(
                text(
                    f"INSERT INTO {quote_ident(staging_table)} ({_staging_insert_columns(table)})"
                    f" SELECT {', '.join('x.' + quote_ident(c) for c in cols)}, :batch_id,"
                    f" {all_hash_sql(cols, 'x')} FROM {quote_ident(load)} x"
                ),
                {"batch_id": batch_id},
            ).rowcount
    finally:
        result.close()
    target.execute(text(f"DROP TABLE IF EXISTS {quote_ident(load)}"))
    done = limit is None or total < limit
    return ChunkResult(rows=total, last_key=None if done else last, done=done)


def _json_to_text(row: Sequence[Any], json_idx: list[int]) -> list[Any]:
    out = list(row)
    for i in json_idx:
        if out[i] is not None and not isinstance(out[i], str):
            out[i] = json.dumps(out[i])
    return out


def _generic_after(columns: list[sa.ColumnClause[Any]], after: KeyValues) -> sa.ColumnElement[bool]:
    """``key > after`` spelled with AND/OR so that every dialect can use the key index."""
    if len(columns) != len(after):
        raise ValueError(f"after_key {after!r} does not match the {len(columns)} key columns")
    ors: list[sa.ColumnElement[bool]] = []
    for i, col in enumerate(columns):
        eqs = [columns[j] == after[j] for j in range(i)]
        ors.append(sa.and_(*eqs, col > after[i]))
    return sa.or_(*ors)
