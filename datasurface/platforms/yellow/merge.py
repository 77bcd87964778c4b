# ruff: noqa: S608  # SQL text is built from quote_ident()ed names and constants; values are bound
"""Set-based live (SCD1) and forensic (SCD2) merges of one batch from staging.

Everything runs in the caller's transaction on the SQLAlchemy `Connection` it passes: the
job merges every dataset of a stream and commits the batch in ONE transaction, so a failure
anywhere (a duplicate key in the second dataset, a kill) merges nothing. The batch id and
the forensic close id are bound parameters; nothing here reads the clock.

Plan (both kinds), chosen so the big tables are joined exactly once:

1. ``ANALYZE`` staging. Freshly loaded tables have no statistics and the planner then
   guesses badly (the issue's dbt run went from 8 s to 35 s on an unanalyzed temp table).
2. Validate keys: one hash aggregate over the batch's key hashes finds duplicate keys and
   NULL key columns; if any, raise `InvalidKeyError` naming up to `max_reported_keys` keys
   as ``column=value``. Nothing has been written yet.
3. Diff: one hash FULL JOIN of the narrow ``(key_hash, all_hash)`` projections of staging
   and of the current live rows gives the changed keys only, each tagged I(nsert),
   U(pdate) or D(elete), into a small temp table. Unchanged rows are not touched at all,
   so a no-change batch rewrites nothing.
4. Apply the diff with index probes (the key-hash unique index) and one staging scan per
   kind of insert/update. Counts are the rowcounts of these statements; no ``count(*)``.

Works on PostgreSQL 15 and later: no ``MERGE ... WHEN NOT MATCHED BY SOURCE``.

Forensic versions: a version created by batch k has ``batch_in = k``; a version whose key
vanished or whose row changed in batch k is closed with ``batch_out = closed_batch_out``,
the id of the last *committed* batch of the stream before k (not k - 1: a failed batch
leaves a gap in the ids and must not appear to have seen that version). So
``batch_in <= b <= batch_out`` is exactly "live in committed batch b", and the snapshot of
committed batch b is ``WHERE batch_in <= b AND b <= batch_out``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, text

from datasurface.model.schema import DDLTable

from .naming import physical_name, quote_ident
from .projection import ALL_HASH, BATCH_ID, BATCH_IN, BATCH_OUT, KEY_HASH, LIVE_BATCH_OUT

__all__ = [
    "DEFAULT_WORK_MEM",
    "InvalidKeyError",
    "MergeCounts",
    "analyze_staging",
    "check_staging_keys",
    "merge_forensic",
    "merge_live",
]

# Enough for the FULL JOIN's hash table of 1,000,000 (uuid, uuid) rows without spilling.
DEFAULT_WORK_MEM = "256MB"


@dataclass(frozen=True, slots=True)
class MergeCounts:
    """Rows inserted, updated and deleted by one merge (forensic: versions opened/closed
    for new, changed and vanished keys)."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0

    def __add__(self, other: MergeCounts) -> MergeCounts:
        return MergeCounts(self.inserted + other.inserted, self.updated + other.updated, self.deleted + other.deleted)


class InvalidKeyError(Exception):
    """The batch's staging rows have duplicate or NULL primary keys; nothing was merged.

    `keys` lists up to `max_reported_keys` offending keys as ``{column: value}``;
    `null_keys` is True when some row has a NULL key column.
    """

    def __init__(self, staging_table: str, keys: list[dict[str, Any]], null_keys: bool, batch_id: int) -> None:
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
            f"Staging table {staging_table!r} batch {batch_id}: {' and '.join(parts)}. "
            "Nothing was merged; fix the source data and run the job again."
        )


def _q(name: str) -> str:
    return quote_ident(name)


def analyze_staging(conn: Connection, staging_table: str) -> None:
    """``ANALYZE`` the staging table so the merge plans on real statistics."""
    conn.execute(text(f"ANALYZE {_q(staging_table)}"))


def check_staging_keys(
    conn: Connection, *, table: DDLTable, staging_table: str, batch_id: int, max_reported_keys: int = 10
) -> None:
    """Raise `InvalidKeyError` if the batch has duplicate or NULL keys (one aggregate scan)."""
    stg = _q(staging_table)
    bad = (
        conn.execute(
            text(
                f"SELECT {_q(KEY_HASH)} FROM {stg} WHERE {_q(BATCH_ID)} = :batch_id"
                f" GROUP BY {_q(KEY_HASH)} HAVING count(*) > 1 OR {_q(KEY_HASH)} IS NULL"
                " LIMIT :lim"
            ),
            {"batch_id": batch_id, "lim": max_reported_keys + 1},
        )
        .scalars()
        .all()
    )
    if not bad:
        return
    null_keys = any(h is None for h in bad)
    dup_hashes = [h for h in bad if h is not None][:max_reported_keys]
    keys: list[dict[str, Any]] = []
    if dup_hashes:
        key_cols = ", ".join(_q(k) for k in table.primary_key)
        rows = conn.execute(
            text(
                f"SELECT DISTINCT {key_cols} FROM {stg}"
                f" WHERE {_q(BATCH_ID)} = :batch_id AND {_q(KEY_HASH)} IN :hashes ORDER BY {key_cols}"
            ).bindparams(bindparam("hashes", expanding=True)),
            {"batch_id": batch_id, "hashes": dup_hashes},
        )
        keys = [dict(zip(table.primary_key, r, strict=True)) for r in rows]
    raise InvalidKeyError(staging_table, keys, null_keys, batch_id)


def _prepare(conn: Connection, staging_table: str, work_mem: str | None) -> None:
    if work_mem is not None:
        conn.execute(text("SELECT set_config('work_mem', :wm, true)"), {"wm": work_mem})
    analyze_staging(conn, staging_table)


def _build_diff(
    conn: Connection,
    table: DDLTable,
    staging_table: str,
    target_table: str,
    batch_id: int,
    forensic: bool,
    max_keys: int,
) -> str:
    """Fill a temp table with the batch's changes and validate the batch's keys.

    The temp table holds the staging row (dataset columns, ``kh``, ``ah``) of every new or
    changed key and the key of every vanished one, each with an ``action`` I, U or D. The
    FULL JOIN builds its hash on the narrow current-rows side and streams staging through
    it, so carrying the staging columns costs almost nothing and the apply statements never
    read staging again.

    Key validation without aggregating the whole batch: live keys are unique, so if S
    staged rows, L current rows, and the diff's D deletes and I inserts satisfy
    ``S == L - D + I`` then no staged row shares a key with another one that matched a
    current row; duplicate or NULL keys among the new rows are found in the (small) diff.
    Only when a check fails does the slow `check_staging_keys` run, to name the keys.
    """
    diff = physical_name("ds_surf_diff", target_table)
    live_filter = f" WHERE {_q(BATCH_OUT)} = {LIVE_BATCH_OUT}" if forensic else ""
    cols = ", ".join(_q(c) for c in table.column_names())
    s_cols = ", ".join(f"s.{_q(c)}" for c in table.column_names())
    stg, tgt = _q(staging_table), _q(target_table)
    conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{_q(diff)}"))
    conn.execute(
        text(
            f"CREATE TEMP TABLE {_q(diff)} ON COMMIT DROP AS"
            f" SELECT {cols}, {_q(KEY_HASH)} AS kh, {_q(ALL_HASH)} AS ah, CAST('I' AS \"char\") AS action"
            f" FROM {stg} WITH NO DATA"
        )
    )
    conn.execute(
        text(
            f"INSERT INTO {_q(diff)} ({cols}, kh, ah, action)"
            f" SELECT {s_cols}, coalesce(s.{_q(KEY_HASH)}, m.kh), s.{_q(ALL_HASH)},"
            f"  CASE WHEN m.kh IS NULL THEN 'I' WHEN s.{_q(KEY_HASH)} IS NULL THEN 'D' ELSE 'U' END"
            f" FROM (SELECT * FROM {stg} WHERE {_q(BATCH_ID)} = :batch_id) s"
            f" FULL JOIN (SELECT {_q(KEY_HASH)} AS kh, {_q(ALL_HASH)} AS ah FROM {tgt}{live_filter}) m"
            f"   ON s.{_q(KEY_HASH)} = m.kh"
            f" WHERE s.{_q(KEY_HASH)} IS NULL OR m.kh IS NULL OR s.{_q(ALL_HASH)} <> m.ah"
        ),
        {"batch_id": batch_id},
    )
    conn.execute(text(f"ANALYZE {_q(diff)}"))
    inserts, deletes, null_keys, dup_new = conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE action = 'I'), count(*) FILTER (WHERE action = 'D'),"
            "  count(*) FILTER (WHERE kh IS NULL),"
            f"  (SELECT count(*) FROM (SELECT 1 FROM {_q(diff)} WHERE kh IS NOT NULL"
            "    GROUP BY kh HAVING count(*) > 1) x)"
            f" FROM {_q(diff)}"
        )
    ).one()
    staged = conn.execute(
        text(f"SELECT count(*) FROM {stg} WHERE {_q(BATCH_ID)} = :batch_id"), {"batch_id": batch_id}
    ).scalar_one()
    current = conn.execute(text(f"SELECT count(*) FROM {tgt}{live_filter}")).scalar_one()
    if null_keys or dup_new or staged != current - deletes + inserts:
        check_staging_keys(
            conn, table=table, staging_table=staging_table, batch_id=batch_id, max_reported_keys=max_keys
        )
        raise AssertionError(f"{staging_table!r} batch {batch_id}: key check failed but no invalid key was found")
    return diff


def merge_live(
    conn: Connection,
    *,
    table: DDLTable,
    staging_table: str,
    target_table: str,
    batch_id: int,
    work_mem: str | None = DEFAULT_WORK_MEM,
    max_reported_keys: int = 10,
) -> MergeCounts:
    """Merge batch `batch_id` of `staging_table` into the live table `target_table`.

    Afterwards the live table holds exactly the batch's rows: changed rows updated (and
    tagged ``ds_surf_batch_id = batch_id``), new keys inserted, vanished keys deleted;
    unchanged rows untouched. Raises `InvalidKeyError` (nothing written) on duplicate or
    NULL keys. Runs in the caller's transaction; does not commit.
    """
    _prepare(conn, staging_table, work_mem)
    diff = _build_diff(conn, table, staging_table, target_table, batch_id, False, max_reported_keys)
    tgt, kh, d = _q(target_table), _q(KEY_HASH), _q(diff)
    cols = table.column_names()
    params = {"batch_id": batch_id}
    deleted = conn.execute(text(f"DELETE FROM {tgt} t USING {d} d WHERE d.action = 'D' AND t.{kh} = d.kh")).rowcount
    sets = ", ".join(f"{_q(c)} = d.{_q(c)}" for c in cols)
    updated = conn.execute(
        text(
            f"UPDATE {tgt} t SET {sets}, {_q(BATCH_ID)} = :batch_id, {_q(ALL_HASH)} = d.ah"
            f" FROM {d} d WHERE d.action = 'U' AND t.{kh} = d.kh"
        ),
        params,
    ).rowcount
    col_list = ", ".join(_q(c) for c in cols)
    d_cols = ", ".join(f"d.{_q(c)}" for c in cols)
    inserted = conn.execute(
        text(
            f"INSERT INTO {tgt} ({col_list}, {_q(BATCH_ID)}, {kh}, {_q(ALL_HASH)})"
            f" SELECT {d_cols}, :batch_id, d.kh, d.ah FROM {d} d WHERE d.action = 'I'"
        ),
        params,
    ).rowcount
    conn.execute(text(f"DROP TABLE {d}"))
    return MergeCounts(inserted=inserted, updated=updated, deleted=deleted)


def merge_forensic(
    conn: Connection,
    *,
    table: DDLTable,
    staging_table: str,
    target_table: str,
    batch_id: int,
    closed_batch_out: int,
    work_mem: str | None = DEFAULT_WORK_MEM,
    max_reported_keys: int = 10,
) -> MergeCounts:
    """Merge batch `batch_id` of `staging_table` into the forensic table `target_table`.

    Closes (``batch_out = closed_batch_out``) the live version of every key that vanished
    or whose row changed, then opens a version (``batch_in = batch_id``,
    ``batch_out = LIVE_BATCH_OUT``) for every new or changed key; a key deleted earlier and
    now back gets a new version. `closed_batch_out` must be the id of the stream's last
    committed batch before `batch_id` (use ``batch_id - 1`` for the first batch: there is
    nothing to close then). Counts: inserted = new keys, updated = changed keys, deleted =
    vanished keys. Raises `InvalidKeyError` (nothing written) on duplicate or NULL keys.
    """
    if not closed_batch_out < batch_id:
        raise ValueError(f"closed_batch_out ({closed_batch_out}) must be below batch_id ({batch_id})")
    _prepare(conn, staging_table, work_mem)
    diff = _build_diff(conn, table, staging_table, target_table, batch_id, True, max_reported_keys)
    tgt, kh, d = _q(target_table), _q(KEY_HASH), _q(diff)
    params = {"batch_id": batch_id, "closed": closed_batch_out}
    close = (
        f"UPDATE {tgt} t SET {_q(BATCH_OUT)} = :closed, {_q(BATCH_ID)} = :batch_id"
        f" FROM {d} d WHERE d.action = :action AND t.{kh} = d.kh AND t.{_q(BATCH_OUT)} = {LIVE_BATCH_OUT}"
    )
    deleted = conn.execute(text(close), {**params, "action": "D"}).rowcount
    updated = conn.execute(text(close), {**params, "action": "U"}).rowcount
    cols = table.column_names()
    col_list = ", ".join(_q(c) for c in cols)
    d_cols = ", ".join(f"d.{_q(c)}" for c in cols)
    opened = conn.execute(
        text(
            f"INSERT INTO {tgt} ({col_list}, {_q(BATCH_ID)}, {kh}, {_q(ALL_HASH)}, {_q(BATCH_IN)}, {_q(BATCH_OUT)})"
            f" SELECT {d_cols}, :batch_id, d.kh, d.ah, :batch_id, {LIVE_BATCH_OUT}"
            f" FROM {d} d WHERE d.action IN ('I', 'U')"
        ),
        params,
    ).rowcount
    conn.execute(text(f"DROP TABLE {d}"))
    return MergeCounts(inserted=opened - updated, updated=updated, deleted=deleted)
