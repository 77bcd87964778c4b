"""SQL for the merge benchmark: the generated source, the change set, the hand-written baseline
and the checksums that prove the job and the baseline reached the same tables.

Everything here is set-based SQL. The baseline is what a careful engineer would write by hand
for one known table, with none of the engine's generality (composite keys, any source engine,
restart safety, schema evolution, batch metadata):

- staging is an UNLOGGED table, truncated and filled with ``COPY ... FREEZE`` in the same
  transaction: no WAL, and the rows are written frozen so reading them sets no hint bits;
- the all-columns hash is computed by the *source* backend inside ``COPY (SELECT ...) TO
  STDOUT``, so the source and merge backends work in parallel on this 2-core machine. It is
  ``hash_record_extended(ROW(...), 0)``: each column hashed by its type's own 64-bit hash
  function (no text rendering at all) and the column hashes combined in order, NULL
  included. For this table's types (varchar, date, timestamp) equal hashes mean equal values
  but for a 2**-64 coincidence, ample for change detection, where only the old and the new
  version of the *same* key are ever compared. It is the cheapest hash in SQL: about 0.4 s
  per million rows less than ``hashtextextended(ROW(...)::text, 0)``, which in turn is
  cheaper than ``md5``. (The engine can't use it: its hash must not change when a nullable
  column is added, and type hashes equate values whose text differs, e.g. ``interval`` 1 day
  and 24 hours; see `datasurface.platforms.yellow.hashing`.);
- merge tables join on the natural key ``id`` (no key hash); ``ANALYZE`` staging first, with
  a small sample (the plans need the row count and the key's distinctness; the default
  sample reads every page of a 1M-row table), and a ``work_mem`` big enough for the 1M-row
  hash joins not to spill (the engine does the same);
- live: one ``MERGE`` (update changed rows, insert new keys) plus one ``NOT EXISTS`` anti-join
  ``DELETE``; on PostgreSQL 17 and later one ``MERGE`` with ``WHEN NOT MATCHED BY SOURCE
  THEN DELETE`` does all three in one join. (A single statement with writable CTEs over one
  materialised FULL JOIN, the engine's plan, measured within noise of MERGE + DELETE on
  PostgreSQL 15: 1.50-1.59 s against 1.60-1.64 s.) Forensic: one ``UPDATE`` closing every
  open version without an identical staged row (changed or vanished) plus one ``INSERT`` of
  every staged row without an open version.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg

SCHEMA = "baseline"
LIVE_BATCH_OUT = 2147483647
WORK_MEM = "256MB"

# The sandbox model's `customers` dataset (sandbox/model/eco.py), in the model's column order.
COLUMNS: list[tuple[str, str]] = [
    ("id", "character varying(20)"),
    ("first_name", "character varying(100)"),
    ("last_name", "character varying(100)"),
    ("email", "character varying(200)"),
    ("phone", "character varying(50)"),
    ("dob", "date"),
    ("created_at", "timestamp without time zone"),
    ("updated_at", "timestamp without time zone"),
]
COLUMN_NAMES = [name for name, _ in COLUMNS]
COLS = ", ".join(COLUMN_NAMES)

_FIRST = "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra".split()
_LAST = "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson O'Brien".split()
_DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "example.co.uk"]


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def customer_rows_sql(lo: int, hi: int) -> str:
    """A SELECT of customers lo..hi (ids ``c000000001``...), deterministic and varied: about
    one phone in seven is NULL, names repeat, emails and timestamps are unique."""
    first = f"({_array(_FIRST)})[1 + g % {len(_FIRST)}]"
    last = f"({_array(_LAST)})[1 + (g / {len(_FIRST)}) % {len(_LAST)}]"
    domain = f"({_array(_DOMAINS)})[1 + g % {len(_DOMAINS)}]"
    return (
        f"SELECT 'c' || lpad(g::text, 9, '0'), {first}, {last},"
        f" lower(replace({first} || '.' || {last}, '''', '')) || g || '@' || {domain},"
        " CASE WHEN g % 7 = 0 THEN NULL"
        "  ELSE '+1-' || lpad((200 + g % 800)::text, 3, '0') || '-555-' || lpad((g % 10000)::text, 4, '0') END,"
        " date '1940-01-01' + (g * 7919 % 25000)::int,"
        " timestamp '2015-01-01' + g * interval '97 seconds',"
        " timestamp '2015-01-01' + g * interval '97 seconds' + (g % 5000) * interval '1 hour'"
        f" FROM generate_series({int(lo)}::bigint, {int(hi)}::bigint) g"
    )


def fill_source(conn: psycopg.Connection[Any], rows: int) -> None:
    """Replace the source's customers with `rows` generated ones (addresses stay empty)."""
    conn.execute("TRUNCATE addresses, customers")
    conn.execute(f"INSERT INTO customers ({COLS}) {customer_rows_sql(1, rows)}")
    conn.commit()


def apply_change_set(conn: psycopg.Connection[Any], rows: int, round_no: int = 0) -> dict[str, int]:
    """5% updates, 1% deletes and 1% inserts of `rows` at the source; returns the statements'
    row counts. Each round (0 to 9) touches other keys: updates ``n % 100`` in
    ``[5 * round, 5 * round + 5)`` (a NULL phone gets a value: NULL to value is a change too),
    deletes ``n % 100 = 50 + round``, inserts the next ``rows / 100`` new keys."""
    if not 0 <= round_no < 10:
        raise ValueError("round_no must be 0..9")
    n = "substr(id, 2)::int"
    band = 5 * round_no
    updated = conn.execute(
        "UPDATE customers SET email = 'r' || %s || '.' || email, updated_at = updated_at + interval '1 day',"
        " phone = CASE WHEN phone IS NULL THEN '+1-800-555-0000' ELSE phone END"
        f" WHERE {n} %% 100 >= %s AND {n} %% 100 < %s",
        [round_no, band, band + 5],
    ).rowcount
    deleted = conn.execute(f"DELETE FROM customers WHERE {n} %% 100 = %s", [50 + round_no]).rowcount
    lo = rows + round_no * (rows // 100) + 1
    inserted = conn.execute(f"INSERT INTO customers ({COLS}) {customer_rows_sql(lo, lo + rows // 100 - 1)}").rowcount
    conn.commit()
    return {"updated": updated, "deleted": deleted, "inserted": inserted}


# --- the hand-written baseline -----------------------------------------------------------------

_DATA_DDL = ", ".join(f"{name} {pg_type}" for name, pg_type in COLUMNS)
_ALL_HASH = f"hash_record_extended(ROW({COLS}), 0)"
ANALYZE_STATISTICS_TARGET = 10


def create_baseline_tables(conn: psycopg.Connection[Any]) -> None:
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    conn.execute(f"CREATE UNLOGGED TABLE {SCHEMA}.stg ({_DATA_DDL}, ah bigint NOT NULL)")
    conn.execute(f"CREATE TABLE {SCHEMA}.live ({_DATA_DDL}, ah bigint NOT NULL, PRIMARY KEY (id))")
    conn.execute(
        f"CREATE TABLE {SCHEMA}.forensic ({_DATA_DDL}, ah bigint NOT NULL,"
        " batch_in integer NOT NULL, batch_out integer NOT NULL)"
    )
    conn.execute(f"CREATE UNIQUE INDEX forensic_live_id ON {SCHEMA}.forensic (id) WHERE batch_out = {LIVE_BATCH_OUT}")
    conn.commit()


def stage(source: psycopg.Connection[Any], merge: psycopg.Connection[Any]) -> int:
    """Truncate and refill baseline staging from the source in the merge connection's open
    transaction: COPY out (hash computed by the source backend), COPY FREEZE in, ANALYZE."""
    merge.execute(f"TRUNCATE {SCHEMA}.stg")
    select = f"SELECT {COLS}, {_ALL_HASH} FROM customers"
    with source.cursor() as scur, merge.cursor() as mcur:
        with (
            mcur.copy(f"COPY {SCHEMA}.stg ({COLS}, ah) FROM STDIN (FREEZE)") as cin,
            scur.copy(f"COPY ({select}) TO STDOUT") as cout,
        ):
            for block in cout:
                cin.write(block)
        staged = int(mcur.rowcount)
    source.commit()
    merge.execute("SELECT set_config('default_statistics_target', %s, true)", [str(ANALYZE_STATISTICS_TARGET)])
    merge.execute(f"ANALYZE {SCHEMA}.stg")
    return staged


def _begin(merge: psycopg.Connection[Any]) -> None:
    merge.execute("SELECT set_config('work_mem', %s, true)", [WORK_MEM])


class _Steps(dict[str, float]):
    """Seconds per step, for the progress report."""

    def __init__(self) -> None:
        super().__init__()
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self[name + "_s"] = round(now - self._last, 2)
        self._last = now


def first_load(source: psycopg.Connection[Any], merge: psycopg.Connection[Any]) -> None:
    """Load both baseline tables from the current source as batch 1 (not timed)."""
    _begin(merge)
    stage(source, merge)
    merge.execute(f"INSERT INTO {SCHEMA}.live ({COLS}, ah) SELECT {COLS}, ah FROM {SCHEMA}.stg")
    merge.execute(
        f"INSERT INTO {SCHEMA}.forensic ({COLS}, ah, batch_in, batch_out)"
        f" SELECT {COLS}, ah, 1, {LIVE_BATCH_OUT} FROM {SCHEMA}.stg"
    )
    merge.execute(f"TRUNCATE {SCHEMA}.stg")
    merge.commit()


def merge_live(source: psycopg.Connection[Any], merge: psycopg.Connection[Any]) -> dict[str, float]:
    """Stage, then MERGE changed and new rows plus an anti-join DELETE of vanished keys.
    Returns the statements' row counts and each step's seconds."""
    steps = _Steps()
    _begin(merge)
    staged = stage(source, merge)
    steps.lap("stage")
    sets = ", ".join(f"{c} = s.{c}" for c in [*COLUMN_NAMES[1:], "ah"])
    s_cols = ", ".join(f"s.{c}" for c in [*COLUMN_NAMES, "ah"])
    merge_sql = (
        f"MERGE INTO {SCHEMA}.live t USING {SCHEMA}.stg s ON t.id = s.id"
        f" WHEN MATCHED AND t.ah <> s.ah THEN UPDATE SET {sets}"
        f" WHEN NOT MATCHED THEN INSERT ({COLS}, ah) VALUES ({s_cols})"
    )
    if merge.info.server_version >= 170000:
        # One join for all three; the rowcount counts updates, inserts and deletes together.
        upserted = merge.execute(f"{merge_sql} WHEN NOT MATCHED BY SOURCE THEN DELETE").rowcount
        deleted = -1  # included above
        steps.lap("merge")
    else:
        upserted = merge.execute(merge_sql).rowcount
        steps.lap("merge")
        deleted = merge.execute(
            f"DELETE FROM {SCHEMA}.live t WHERE NOT EXISTS (SELECT FROM {SCHEMA}.stg s WHERE s.id = t.id)"
        ).rowcount
        steps.lap("delete")
    merge.commit()
    steps.lap("commit")
    return {"staged": staged, "upserted": upserted, "deleted": deleted, **steps}


def merge_forensic(
    source: psycopg.Connection[Any], merge: psycopg.Connection[Any], batch_id: int, closed_batch_out: int
) -> dict[str, float]:
    """Stage, then close every open version without an identical staged row (changed or
    vanished key) and insert a new open version for every staged row left without one.
    Returns the statements' row counts and each step's seconds."""
    steps = _Steps()
    _begin(merge)
    staged = stage(source, merge)
    steps.lap("stage")
    closed = merge.execute(
        f"UPDATE {SCHEMA}.forensic t SET batch_out = %s WHERE t.batch_out = {LIVE_BATCH_OUT}"
        f" AND NOT EXISTS (SELECT FROM {SCHEMA}.stg s WHERE s.id = t.id AND s.ah = t.ah)",
        [closed_batch_out],
    ).rowcount
    steps.lap("close")
    opened = merge.execute(
        f"INSERT INTO {SCHEMA}.forensic ({COLS}, ah, batch_in, batch_out)"
        f" SELECT {', '.join('s.' + c for c in COLUMN_NAMES)}, s.ah, %s, {LIVE_BATCH_OUT} FROM {SCHEMA}.stg s"
        f" WHERE NOT EXISTS (SELECT FROM {SCHEMA}.forensic t WHERE t.id = s.id AND t.batch_out = {LIVE_BATCH_OUT})",
        [batch_id],
    ).rowcount
    steps.lap("insert")
    merge.commit()
    steps.lap("commit")
    return {"staged": staged, "closed": closed, "opened": opened, **steps}


# --- checksums -----------------------------------------------------------------------------------


def table_checksum(
    conn: psycopg.Connection[Any], table: str, *, forensic: bool, batch_in: str = "", batch_out: str = ""
) -> tuple[Any, ...]:
    """Counts plus an order-independent checksum of the dataset columns (forensic: also of
    each version's batch range, and separately over open versions), computed in SQL."""
    row = f"hashtextextended(ROW({COLS})::text, 0)"
    if not forensic:
        sql = f"SELECT count(*), sum({row}) FROM {table}"
    else:
        versioned = f"hashtextextended(ROW({COLS}, {batch_in}, {batch_out})::text, 0)"
        sql = (
            f"SELECT count(*), count(*) FILTER (WHERE {batch_out} = {LIVE_BATCH_OUT}),"
            f" sum({versioned}), sum({row}) FILTER (WHERE {batch_out} = {LIVE_BATCH_OUT}) FROM {table}"
        )
    found = conn.execute(sql).fetchone()
    conn.commit()
    assert found is not None
    return tuple(found)
