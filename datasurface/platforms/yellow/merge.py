# ruff: noqa: S608  # SQL text is built from quote_ident()ed names and constants; values are bound
"""Set-based live (SCD1) and forensic (SCD2) merges of one batch from staging.

Everything runs in the caller's transaction on the connection it passes (`pgconn`'s or SQLAlchemy's): the
job merges every dataset of a stream and commits the batch in ONE transaction, so a failure
anywhere (a duplicate key in the second dataset, a kill) merges nothing. The batch id and
the forensic close id are bound parameters; nothing here reads the clock.

Plan (both kinds), chosen so the big tables are joined exactly once:

1. ``ANALYZE`` staging (with a small sample: the plan needs row counts and that the key is
   unique, not histograms). Freshly loaded tables have no statistics and the planner then
   guesses badly (the issue's dbt run went from 8 s to 35 s on an unanalyzed temp table).
2. Count the batch's staged rows; when the caller passes `expected_rows` (the rows its
   ingestion checkpoints recorded) and the count differs, raise `StagingIncompleteError`:
   staging is ``UNLOGGED`` and a server crash empties it (nothing has been written yet).
3. Diff: one hash FULL JOIN of staging with the narrow ``(primary key, all_hash)``
   projection of the current rows, on the primary-key columns themselves, gives the changed
   keys only, each tagged I(nsert), U(pdate) or D(elete), into a small temp table.
   Unchanged rows are not touched at all, so a no-change batch rewrites nothing.
4. Validate keys (see `_build_diff`); on duplicate or NULL keys raise `InvalidKeyError`
   naming them. Nothing has been written yet.
5. Apply the diff with index probes (the primary-key unique index) and one statement per
   kind of change (forensic: one statement closes vanished and changed keys' versions).
   Counts are the rowcounts of these statements.

First load: when the merge table is empty (its first batch, or after a reset) there is
nothing to diff against, so the diff is skipped: the table's indexes are dropped, the batch's
staged rows are inserted straight into it and the indexes are built again, in the batch's
transaction (`_first_load`). Building an index once over sorted keys is several times cheaper
than maintaining it row by row, and the diff would write every row a second time. The unique
index build is the duplicate-key check; a failure rolls back to a savepoint and
`check_staging_keys` names the keys.

Works on PostgreSQL 15 and later: no ``MERGE ... WHEN NOT MATCHED BY SOURCE``.

Forensic versions: a version created by batch k has ``batch_in = k``; a version whose key
vanished or whose row changed in batch k is closed with ``batch_out = closed_batch_out``,
the id of the last *committed* batch of the stream before k (not k - 1: a failed batch
leaves a gap in the ids and must not appear to have seen that version). So
``batch_in <= b <= batch_out`` is exactly "live in committed batch b", and the snapshot of
committed batch b is ``WHERE batch_in <= b AND b <= batch_out``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from datasurface.errors import DataSurfaceError
from datasurface.model.schema import DDLTable

from .naming import physical_name, quote_ident
from .pgconn import AnyConnection, database_errors, integrity_violation, text
from .projection import ALL_HASH, BATCH_ID, BATCH_IN, BATCH_OUT, LIVE_BATCH_OUT

__all__ = [
    "DEFAULT_WORK_MEM",
    "InvalidKeyError",
    "MergeCounts",
    "StagingIncompleteError",
    "analyze_staging",
    "check_staging_keys",
    "is_empty",
    "load_empty_table",
    "merge_forensic",
    "merge_live",
]

# Enough for the FULL JOIN's hash table of 1,000,000 current (key, hash) rows without spilling.
DEFAULT_WORK_MEM = "256MB"
# ANALYZE sample for staging (300 rows per unit): the merge's plans need row
# counts, the batch id's frequency and the key's distinctness, which a small sample gives;
# the default (100, i.e. 30,000 rows) reads every page of a 1,000,000-row staging table.
ANALYZE_STATISTICS_TARGET = 10
# The diff's action column (a dataset column can't start with ds_surf_ without clashing
# with the synthetic columns anyway).
ACTION = "ds_surf_action"


@dataclass(frozen=True, slots=True)
class MergeCounts:
    """Rows inserted, updated and deleted by one merge (forensic: versions opened/closed
    for new, changed and vanished keys)."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0

    def __add__(self, other: MergeCounts) -> MergeCounts:
        return MergeCounts(self.inserted + other.inserted, self.updated + other.updated, self.deleted + other.deleted)


class InvalidKeyError(DataSurfaceError):
    """The batch's staging rows have duplicate or NULL primary keys; nothing was merged.

    `keys` lists up to `max_reported_keys` offending keys as ``{column: value}``;
    `null_keys` is True when some row has a NULL key column.
    """

    def __init__(
        self, staging_table: str, keys: list[dict[str, Any]], null_keys: bool, batch_id: int, *, kind: str = "Staging"
    ) -> None:
        self.staging_table = staging_table
        self.keys = keys
        self.null_keys = null_keys
        self.batch_id = batch_id
        parts = []
        if keys:
            rendered = "; ".join(", ".join(f"{c}={v!r}" for c, v in k.items()) for k in keys)
            parts.append(f"duplicate primary keys: {rendered}")
        if null_keys:
            parts.append("rows with a NULL primary key column")
        super().__init__(
            f"{kind} table {staging_table!r} batch {batch_id}: {' and '.join(parts)}. "
            "Nothing was merged; fix the source data and run the job again."
        )


class StagingIncompleteError(DataSurfaceError):
    """Staging does not hold the rows that the batch's ingestion checkpoints recorded.

    Staging tables are ``UNLOGGED``: a server crash (or a failover) empties them while the
    checkpoints still count their chunks as done. The batch must be ingested again; nothing
    was merged.
    """

    def __init__(self, staging_table: str, batch_id: int, expected: int, found: int) -> None:
        self.staging_table = staging_table
        self.batch_id = batch_id
        self.expected = expected
        self.found = found
        super().__init__(
            f"Staging table {staging_table!r} batch {batch_id}: holds {found} rows but ingestion recorded "
            f"{expected} (staging is unlogged and is emptied by a server crash); the batch must be ingested again"
        )


def _q(name: str) -> str:
    return quote_ident(name)


def _analyze(conn: AnyConnection, table: str) -> None:
    """``ANALYZE`` with a small sample (`ANALYZE_STATISTICS_TARGET`), setting restored after."""
    previous = conn.execute(text("SELECT current_setting('default_statistics_target')")).scalar_one()
    conn.execute(
        text("SELECT set_config('default_statistics_target', :v, true)"), {"v": str(ANALYZE_STATISTICS_TARGET)}
    )
    conn.execute(text(f"ANALYZE {_q(table)}"))
    conn.execute(text("SELECT set_config('default_statistics_target', :v, true)"), {"v": previous})


def analyze_staging(conn: AnyConnection, staging_table: str) -> None:
    """``ANALYZE`` the staging table so the merge plans on real statistics."""
    _analyze(conn, staging_table)


def _keys_on(table: DDLTable, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{_q(k)} = {right}.{_q(k)}" for k in table.primary_key)


def _any_key_null(table: DDLTable, alias: str | None = None) -> str:
    prefix = "" if alias is None else f"{alias}."
    return "(" + " OR ".join(f"{prefix}{_q(k)} IS NULL" for k in table.primary_key) + ")"


def check_staging_keys(
    conn: AnyConnection, *, table: DDLTable, staging_table: str, batch_id: int, max_reported_keys: int = 10
) -> None:
    """Raise `InvalidKeyError` if the batch has duplicate or NULL keys (aggregate scans of
    staging: the slow path, run only when the merge's cheap checks failed)."""
    stg = _q(staging_table)
    key_cols = ", ".join(_q(k) for k in table.primary_key)
    params = {"batch_id": batch_id}
    null_keys = bool(
        conn.execute(
            text(f"SELECT EXISTS (SELECT 1 FROM {stg} WHERE {_q(BATCH_ID)} = :batch_id AND {_any_key_null(table)})"),
            params,
        ).scalar_one()
    )
    rows = conn.execute(
        text(
            f"SELECT {key_cols} FROM {stg} WHERE {_q(BATCH_ID)} = :batch_id AND NOT {_any_key_null(table)}"
            f" GROUP BY {key_cols} HAVING count(*) > 1 ORDER BY {key_cols} LIMIT :lim"
        ),
        {**params, "lim": max_reported_keys},
    )
    keys = [dict(zip(table.primary_key, r, strict=True)) for r in rows]
    if keys or null_keys:
        raise InvalidKeyError(staging_table, keys, null_keys, batch_id)


def _prepare(conn: AnyConnection, staging_table: str, work_mem: str | None) -> None:
    if work_mem is not None:
        conn.execute(text("SELECT set_config('work_mem', :wm, true)"), {"wm": work_mem})
    analyze_staging(conn, staging_table)


def _size_hash_memory(conn: AnyConnection, narrow_sql: str) -> str:
    """Give the diff's hash join the memory its *narrow* side (the current rows' key and
    hash) needs, by the planner's own estimate, and not much more (never more than the
    ``work_mem`` in force); returns the ``work_mem`` to restore afterwards.

    The FULL JOIN hashes one side and streams the other. Hashing the narrow side is much
    cheaper than hashing staging's full rows (at 1M rows: 60 MB against 150 MB built), but
    when both fit in memory the planner sees the same cost either way and picks by a hair's
    difference in row estimates. With memory for the narrow side only, the wide side would
    have to spill, and the planner reliably hashes the narrow one.
    """
    plan = conn.execute(text(f"EXPLAIN (FORMAT JSON) {narrow_sql}")).scalar_one()
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    rows, width = max(int(top["Plan Rows"]), 1), int(top["Plan Width"])
    # ExecChooseHashTableSize: per tuple HJTUPLE_OVERHEAD + minimal tuple header + data,
    # MAXALIGNed; plus one pointer per bucket (a power of two at least the row count).
    need = rows * (16 + 16 + -(-width // 8) * 8) + 8 * (1 << math.ceil(math.log2(rows)))
    previous, limit_kb, multiplier = conn.execute(
        text(
            "SELECT current_setting('work_mem'),"
            " (SELECT setting::bigint FROM pg_settings WHERE name = 'work_mem'),"
            " current_setting('hash_mem_multiplier')::float8"
        )
    ).one()
    kilobytes = min(max(int(need * 1.25 / multiplier / 1024), 4096), int(limit_kb))
    conn.execute(text("SELECT set_config('work_mem', :wm, true)"), {"wm": f"{kilobytes}kB"})
    return str(previous)


def _build_diff(
    conn: AnyConnection,
    table: DDLTable,
    staging_table: str,
    target_table: str,
    batch_id: int,
    forensic: bool,
    max_keys: int,
    expected_rows: int | None,
) -> str:
    """Fill a temp table with the batch's changes and validate the batch's keys.

    The temp table holds the staging row (dataset columns and all-columns hash) of every
    new or changed key and the key of every vanished one, each with an action I, U or D.
    The FULL JOIN builds its hash on the narrow current-rows side and streams staging
    through it, so carrying the staging columns costs almost nothing and the apply
    statements never read staging again. A staged row is recognised by its batch id and a
    current row by its hash (both NOT NULL), so a NULL key column can't be mistaken for a
    missing row.

    Key validation without aggregating the whole batch: current keys are unique, so if S
    staged rows, L current rows, and the diff's D deletes and I inserts satisfy
    ``S == L - D + I`` then no staged row shares a key with another one that matched a
    current row; duplicate or NULL keys among the new rows are found in the (small) diff.
    Only when a check fails does the slow `check_staging_keys` run, to name the keys.
    """
    diff = physical_name("ds_surf_diff", target_table)
    live_filter = f" WHERE {_q(BATCH_OUT)} = {LIVE_BATCH_OUT}" if forensic else ""
    stg, tgt, d = _q(staging_table), _q(target_table), _q(diff)
    names = table.column_names()
    keys = set(table.primary_key)
    cols = ", ".join(_q(c) for c in names)
    picked = ", ".join(f"coalesce(s.{_q(c)}, m.{_q(c)})" if c in keys else f"s.{_q(c)}" for c in names)
    m_cols = ", ".join(_q(k) for k in table.primary_key)
    ah, bid = _q(ALL_HASH), _q(BATCH_ID)
    staged, current = conn.execute(
        text(f"SELECT (SELECT count(*) FROM {stg} WHERE {bid} = :batch_id), (SELECT count(*) FROM {tgt}{live_filter})"),
        {"batch_id": batch_id},
    ).one()
    if expected_rows is not None and staged != expected_rows:
        raise StagingIncompleteError(staging_table, batch_id, expected_rows, staged)
    conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{d}"))
    conn.execute(
        text(
            f"CREATE TEMP TABLE {d} ON COMMIT DROP AS"
            f" SELECT {cols}, {ah}, CAST('I' AS \"char\") AS {ACTION} FROM {stg} WITH NO DATA"
        )
    )
    current_rows_sql = f"SELECT {m_cols}, {ah} FROM {tgt}{live_filter}"
    restore_work_mem = _size_hash_memory(conn, current_rows_sql)
    conn.execute(
        text(
            f"INSERT INTO {d} ({cols}, {ah}, {ACTION})"
            f" SELECT {picked}, s.{ah},"
            f"  CASE WHEN m.{ah} IS NULL THEN 'I' WHEN s.{bid} IS NULL THEN 'D' ELSE 'U' END"
            f" FROM (SELECT * FROM {stg} WHERE {bid} = :batch_id) s"
            f" FULL JOIN ({current_rows_sql}) m ON {_keys_on(table, 's', 'm')}"
            f" WHERE s.{bid} IS NULL OR m.{ah} IS NULL OR s.{ah} <> m.{ah}"
        ),
        {"batch_id": batch_id},
    )
    conn.execute(text("SELECT set_config('work_mem', :wm, true)"), {"wm": restore_work_mem})
    # The diff is deliberately not analyzed: without statistics the planner takes it for the
    # small table it is next to the target and applies it with index probes, where real
    # counts (tens of thousands of rows) tip it into hash joins that scan the whole target
    # for each kind of change (measured at 1M rows: 0.28 s against 0.18 s for 10,000 deletes,
    # 0.85 s against 0.39 s for 50,000 updates).
    inserts, deletes, null_keys, dup_keys = conn.execute(
        text(
            f"SELECT count(*) FILTER (WHERE {ACTION} = 'I'), count(*) FILTER (WHERE {ACTION} = 'D'),"
            f"  count(*) FILTER (WHERE {_any_key_null(table)}),"
            f"  (SELECT count(*) FROM (SELECT 1 FROM {d} WHERE NOT {_any_key_null(table)}"
            f"    GROUP BY {m_cols} HAVING count(*) > 1) x)"
            f" FROM {d}"
        )
    ).one()
    if null_keys or dup_keys or staged != current - deletes + inserts:
        check_staging_keys(
            conn, table=table, staging_table=staging_table, batch_id=batch_id, max_reported_keys=max_keys
        )
        raise AssertionError(f"{staging_table!r} batch {batch_id}: key check failed but no invalid key was found")
    return diff


def _is_empty(conn: AnyConnection, target_table: str) -> bool:
    return not conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {_q(target_table)})")).scalar_one()


def _index_definitions(conn: AnyConnection, target_table: str) -> list[tuple[str, str]]:
    """(name, ``CREATE INDEX`` statement) of every index of the table, as the server prints it."""
    rows = conn.execute(
        text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_catalog.pg_index i"
            " WHERE i.indrelid = to_regclass(:t) ORDER BY i.indexrelid"
        ),
        {"t": _q(target_table)},
    )
    return [(r[0], r[1]) for r in rows]


def _first_load(
    conn: AnyConnection,
    *,
    table: DDLTable,
    staging_table: str,
    target_table: str,
    batch_id: int,
    forensic: bool,
    max_reported_keys: int,
    expected_rows: int | None,
) -> MergeCounts:
    """Load the batch into the empty `target_table` without a diff (see the module doc)."""
    tgt, stg = _q(target_table), _q(staging_table)
    cols = table.column_names()
    col_list = ", ".join(_q(c) for c in cols)
    synthetic = [BATCH_ID, ALL_HASH, *([BATCH_IN, BATCH_OUT] if forensic else [])]
    values = f":batch_id, {_q(ALL_HASH)}" + (f", :batch_id, {LIVE_BATCH_OUT}" if forensic else "")
    indexes = _index_definitions(conn, target_table)
    savepoint = conn.begin_nested()
    try:
        for name, _ in indexes:
            conn.execute(text(f"DROP INDEX {name}"))
        inserted = conn.execute(
            text(
                f"INSERT INTO {tgt} ({col_list}, {', '.join(_q(c) for c in synthetic)})"
                f" SELECT {col_list}, {values} FROM {stg} WHERE {_q(BATCH_ID)} = :batch_id"
            ),
            {"batch_id": batch_id},
        ).rowcount
        if expected_rows is not None and inserted != expected_rows:
            raise StagingIncompleteError(staging_table, batch_id, expected_rows, inserted)
        for _, definition in indexes:
            conn.execute(text(definition))
    except database_errors() as exc:
        if not integrity_violation(exc):
            raise
        # A NULL key (NOT NULL violation) or a duplicate key (unique index build).
        savepoint.rollback()
        check_staging_keys(
            conn, table=table, staging_table=staging_table, batch_id=batch_id, max_reported_keys=max_reported_keys
        )
        raise
    except StagingIncompleteError:
        savepoint.rollback()
        raise
    savepoint.commit()
    return MergeCounts(inserted=inserted, updated=0, deleted=0)


def is_empty(conn: AnyConnection, target_table: str) -> bool:
    """Has the merge table no rows at all (a first load is due)?"""
    return _is_empty(conn, target_table)


def load_empty_table(
    conn: AnyConnection, *, table: DDLTable, target_table: str, batch_id: int, fill: Callable[[], int]
) -> MergeCounts:
    """A first load without staging: drop the empty table's indexes, `fill()` it (it COPYs
    the source in and returns the rows), build the indexes again. A NULL key fails the COPY
    and a duplicate key the unique index build: both raise `InvalidKeyError` (the keys read
    back from the loaded rows under a savepoint); the caller's transaction then merges
    nothing."""
    indexes = _index_definitions(conn, target_table)
    for name, _ in indexes:
        conn.execute(text(f"DROP INDEX {name}"))
    try:
        rows = fill()
    except Exception as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if getattr(cause, "sqlstate", None) == "23502":  # not_null_violation: a NULL key
            raise InvalidKeyError(target_table, [], True, batch_id, kind="Source rows for merge") from None
        raise
    savepoint = conn.begin_nested()
    try:
        for _, definition in indexes:
            conn.execute(text(definition))
    except database_errors() as exc:
        if not integrity_violation(exc):
            raise
        savepoint.rollback()
        key_cols = ", ".join(_q(k) for k in table.primary_key)
        dups = conn.execute(
            text(
                f"SELECT {key_cols} FROM {_q(target_table)} GROUP BY {key_cols} HAVING count(*) > 1"
                f" ORDER BY {key_cols} LIMIT 10"
            )
        )
        raise InvalidKeyError(
            target_table,
            [dict(zip(table.primary_key, r, strict=True)) for r in dups],
            False,
            batch_id,
            kind="Source rows for merge",
        ) from None
    savepoint.commit()
    return MergeCounts(inserted=rows, updated=0, deleted=0)


def merge_live(
    conn: AnyConnection,
    *,
    table: DDLTable,
    staging_table: str,
    target_table: str,
    batch_id: int,
    work_mem: str | None = DEFAULT_WORK_MEM,
    max_reported_keys: int = 10,
    expected_rows: int | None = None,
) -> MergeCounts:
    """Merge batch `batch_id` of `staging_table` into the live table `target_table`.

    Afterwards the live table holds exactly the batch's rows: changed rows updated (and
    tagged ``ds_surf_batch_id = batch_id``), new keys inserted, vanished keys deleted;
    unchanged rows untouched. Raises `InvalidKeyError` (nothing written) on duplicate or
    NULL keys, and `StagingIncompleteError` (nothing written) if `expected_rows` is given
    and staging holds a different number of the batch's rows. Runs in the caller's
    transaction; does not commit.
    """
    return _merge(
        conn, _apply_live, table, staging_table, target_table, batch_id, None, False, work_mem, max_reported_keys,
        expected_rows,
    )  # fmt: skip


def _merge(
    conn: AnyConnection,
    apply: Callable[[AnyConnection, DDLTable, str, str, int, int | None], MergeCounts],
    table: DDLTable,
    staging_table: str,
    target_table: str,
    batch_id: int,
    closed_batch_out: int | None,
    forensic: bool,
    work_mem: str | None,
    max_reported_keys: int,
    expected_rows: int | None,
) -> MergeCounts:
    """What both merges share: an empty target is a first load (no diff); otherwise the
    batch's diff is built, `apply`-ed to the target and dropped."""
    if _is_empty(conn, target_table):
        return _first_load(
            conn,
            table=table,
            staging_table=staging_table,
            target_table=target_table,
            batch_id=batch_id,
            forensic=forensic,
            max_reported_keys=max_reported_keys,
            expected_rows=expected_rows,
        )
    _prepare(conn, staging_table, work_mem)
    diff = _build_diff(conn, table, staging_table, target_table, batch_id, forensic, max_reported_keys, expected_rows)
    counts = apply(conn, table, target_table, diff, batch_id, closed_batch_out)
    conn.execute(text(f"DROP TABLE {_q(diff)}"))
    return counts


def _apply_live(
    conn: AnyConnection, table: DDLTable, target_table: str, diff: str, batch_id: int, _closed: int | None
) -> MergeCounts:
    """Delete vanished keys, update changed rows, insert new keys."""
    tgt, d = _q(target_table), _q(diff)
    on = _keys_on(table, "t", "d")
    cols = table.column_names()
    params = {"batch_id": batch_id}
    deleted = conn.execute(text(f"DELETE FROM {tgt} t USING {d} d WHERE d.{ACTION} = 'D' AND {on}")).rowcount
    sets = "".join(f"{_q(c)} = d.{_q(c)}, " for c in cols if c not in table.primary_key)
    updated = conn.execute(
        text(
            f"UPDATE {tgt} t SET {sets}{_q(BATCH_ID)} = :batch_id, {_q(ALL_HASH)} = d.{_q(ALL_HASH)}"
            f" FROM {d} d WHERE d.{ACTION} = 'U' AND {on}"
        ),
        params,
    ).rowcount
    col_list = ", ".join(_q(c) for c in cols)
    d_cols = ", ".join(f"d.{_q(c)}" for c in cols)
    inserted = conn.execute(
        text(
            f"INSERT INTO {tgt} ({col_list}, {_q(BATCH_ID)}, {_q(ALL_HASH)})"
            f" SELECT {d_cols}, :batch_id, d.{_q(ALL_HASH)} FROM {d} d WHERE d.{ACTION} = 'I'"
        ),
        params,
    ).rowcount
    return MergeCounts(inserted=inserted, updated=updated, deleted=deleted)


def merge_forensic(
    conn: AnyConnection,
    *,
    table: DDLTable,
    staging_table: str,
    target_table: str,
    batch_id: int,
    closed_batch_out: int,
    work_mem: str | None = DEFAULT_WORK_MEM,
    max_reported_keys: int = 10,
    expected_rows: int | None = None,
) -> MergeCounts:
    """Merge batch `batch_id` of `staging_table` into the forensic table `target_table`.

    Closes (``batch_out = closed_batch_out``) the live version of every key that vanished
    or whose row changed, then opens a version (``batch_in = batch_id``,
    ``batch_out = LIVE_BATCH_OUT``) for every new or changed key; a key deleted earlier and
    now back gets a new version. `closed_batch_out` must be the id of the stream's last
    committed batch before `batch_id` (use ``batch_id - 1`` for the first batch: there is
    nothing to close then). Counts: inserted = new keys, updated = changed keys, deleted =
    vanished keys. Raises `InvalidKeyError` (nothing written) on duplicate or NULL keys and
    `StagingIncompleteError` as `merge_live` does.
    """
    if not closed_batch_out < batch_id:
        raise ValueError(f"closed_batch_out ({closed_batch_out}) must be below batch_id ({batch_id})")
    return _merge(
        conn, _apply_forensic, table, staging_table, target_table, batch_id, closed_batch_out, True, work_mem,
        max_reported_keys, expected_rows,
    )  # fmt: skip


def _apply_forensic(
    conn: AnyConnection, table: DDLTable, target_table: str, diff: str, batch_id: int, closed_batch_out: int | None
) -> MergeCounts:
    """Close the live versions of vanished and changed keys, open versions of new and changed ones."""
    tgt, d = _q(target_table), _q(diff)
    params = {"batch_id": batch_id, "closed": closed_batch_out}
    # One statement closes the versions of vanished (D) and changed (U) keys; it counts each.
    deleted, updated = conn.execute(
        text(
            f"WITH closed AS (UPDATE {tgt} t SET {_q(BATCH_OUT)} = :closed, {_q(BATCH_ID)} = :batch_id"
            f" FROM {d} d WHERE d.{ACTION} IN ('D', 'U') AND {_keys_on(table, 't', 'd')}"
            f"  AND t.{_q(BATCH_OUT)} = {LIVE_BATCH_OUT} RETURNING d.{ACTION})"
            f" SELECT count(*) FILTER (WHERE {ACTION} = 'D'), count(*) FILTER (WHERE {ACTION} = 'U') FROM closed"
        ),
        params,
    ).one()
    cols = table.column_names()
    col_list = ", ".join(_q(c) for c in cols)
    d_cols = ", ".join(f"d.{_q(c)}" for c in cols)
    opened = conn.execute(
        text(
            f"INSERT INTO {tgt} ({col_list}, {_q(BATCH_ID)}, {_q(ALL_HASH)}, {_q(BATCH_IN)}, {_q(BATCH_OUT)})"
            f" SELECT {d_cols}, :batch_id, d.{_q(ALL_HASH)}, :batch_id, {LIVE_BATCH_OUT}"
            f" FROM {d} d WHERE d.{ACTION} IN ('I', 'U')"
        ),
        params,
    ).rowcount
    return MergeCounts(inserted=opened - updated, updated=updated, deleted=deleted)
