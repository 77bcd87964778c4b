# ruff: noqa: S608  # SQL text is built from quote_ident()ed names and constants; values are bound
"""Per-platform batch metadata, in SQL: one row per stream and batch.

Table `naming.batch_metrics_table(platform)`::

    stream text, batch_id integer            primary key (stream, batch_id)
    state text                               STARTED | INGESTED | COMMITTED | FAILED
    reason text                              why FAILED (or why a batch was reset)
    started_at, ended_at timestamptz         UTC; ended_at set by commit and fail
    rows_inserted, rows_updated, rows_deleted, rows_total bigint
    batch_state jsonb                        `BatchState`: the datasets frozen at batch
                                             start with their schema hashes, and the
                                             ingestion checkpoint of each

Batch ids are per stream, starting at 1, each one more than the stream's highest (a
FAILED batch keeps its id; the next batch gets a new one). At most one batch per stream is
open (STARTED or INGESTED); `start_batch` refuses a second one. Callers serialise jobs per
stream with an advisory lock (`stream_lock_key`), so the ``max() + 1`` is race-free.

Every function runs in the caller's transaction, binds all values as parameters and takes
times as arguments (UTC-aware datetimes): no SQL here reads the clock.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from datasurface.errors import DataSurfaceError

from .merge import MergeCounts
from .naming import batch_metrics_table, quote_ident
from .pgconn import AnyConnection, text

__all__ = [
    "BatchError",
    "BatchRecord",
    "BatchState",
    "BatchStatus",
    "DatasetCheckpoint",
    "DatasetState",
    "batch_table_exists",
    "commit_batch",
    "create_batch_tables",
    "current_batch",
    "fail_batch",
    "get_batch",
    "last_committed_batch_id",
    "mark_ingested",
    "mark_not_point_in_time",
    "record_checkpoint",
    "reset_batch",
    "start_batch",
    "stream_lock_key",
]


class BatchStatus(enum.StrEnum):
    STARTED = "STARTED"
    INGESTED = "INGESTED"
    COMMITTED = "COMMITTED"
    FAILED = "FAILED"


OPEN_STATES = (BatchStatus.STARTED, BatchStatus.INGESTED)


class BatchError(DataSurfaceError):
    """A batch operation is not allowed in the batch's current state."""


# Plain dataclasses with explicit JSON, not pydantic models: building pydantic models at
# import costs every job run about 0.15 s of CPU (measured with -X importtime), most of a
# small batch's start-up, for four small records.


def _fields(data: Mapping[str, Any], what: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{what}: expected a JSON object, got {type(data).__name__}")
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"{what}: unknown field(s) {sorted(unknown)}")
    return data


@dataclass(slots=True)
class DatasetCheckpoint:
    """Ingestion progress of one dataset: resume after `last_key` unless `done`."""

    done: bool = False
    last_key: list[Any] | None = None  # `staging.key_to_json` form
    rows: int = 0  # rows staged so far
    # The source snapshot (a token per run's read transaction) the rows were read in: a
    # point-in-time batch re-reads datasets staged in another snapshot.
    snapshot: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"done": self.done, "last_key": self.last_key, "rows": self.rows, "snapshot": self.snapshot}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DatasetCheckpoint:
        data = _fields(data, "checkpoint", {"done", "last_key", "rows", "snapshot"})
        last_key = data.get("last_key")
        return cls(
            done=bool(data.get("done", False)),
            last_key=None if last_key is None else list(last_key),
            rows=int(data.get("rows", 0)),
            snapshot=data.get("snapshot"),
        )


@dataclass(slots=True)
class DatasetState:
    """A dataset frozen at batch start."""

    schema_hash: str
    checkpoint: DatasetCheckpoint = field(default_factory=DatasetCheckpoint)

    def to_json(self) -> dict[str, Any]:
        return {"schema_hash": self.schema_hash, "checkpoint": self.checkpoint.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DatasetState:
        data = _fields(data, "dataset state", {"schema_hash", "checkpoint"})
        return cls(str(data["schema_hash"]), DatasetCheckpoint.from_json(data.get("checkpoint") or {}))


@dataclass(slots=True)
class BatchState:
    """The frozen dataset list (name -> schema hash) and per-dataset checkpoints of a batch."""

    datasets: dict[str, DatasetState] = field(default_factory=dict)
    # False once the batch's ingestion spans runs (KEEP_WORKING): its datasets were read in
    # more than one source snapshot, so the batch is not one point in time.
    point_in_time: bool = True

    @classmethod
    def frozen(cls, schema_hashes: Mapping[str, str]) -> BatchState:
        """A fresh state for these datasets (name -> `DDLTable.fingerprint()`)."""
        return cls(datasets={name: DatasetState(schema_hash=h) for name, h in schema_hashes.items()})

    def schema_hashes(self) -> dict[str, str]:
        return {name: d.schema_hash for name, d in self.datasets.items()}

    def all_ingested(self) -> bool:
        return all(d.checkpoint.done for d in self.datasets.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "datasets": {name: d.to_json() for name, d in self.datasets.items()},
            "point_in_time": self.point_in_time,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json())

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> BatchState:
        if isinstance(data, str):
            data = json.loads(data)
        data = _fields(data, "batch state", {"datasets", "point_in_time"})  # type: ignore[arg-type]
        datasets = {str(name): DatasetState.from_json(d) for name, d in (data.get("datasets") or {}).items()}
        return cls(datasets, bool(data.get("point_in_time", True)))


@dataclass(slots=True)
class BatchRecord:
    """One row of the batch table."""

    stream: str
    batch_id: int
    state: BatchStatus
    reason: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    rows_total: int
    batch_state: BatchState

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def _t(platform: str) -> str:
    return quote_ident(batch_metrics_table(platform))


def _utc(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"Batch times must be timezone-aware UTC datetimes, got {at!r}")
    return at.astimezone(dt.UTC)


def stream_lock_key(platform: str, stream: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` of one stream of a platform."""
    digest = hashlib.sha256(f"datasurface\x00{platform}\x00{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def create_batch_tables(conn: AnyConnection, platform: str) -> None:
    """Create the platform's batch table if it does not exist."""
    conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {_t(platform)} ("
            " stream text NOT NULL,"
            " batch_id integer NOT NULL,"
            " state text NOT NULL CHECK (state IN ('STARTED', 'INGESTED', 'COMMITTED', 'FAILED')),"
            " reason text,"
            " started_at timestamptz NOT NULL,"
            " ended_at timestamptz,"
            " rows_inserted bigint NOT NULL DEFAULT 0,"
            " rows_updated bigint NOT NULL DEFAULT 0,"
            " rows_deleted bigint NOT NULL DEFAULT 0,"
            " rows_total bigint NOT NULL DEFAULT 0,"
            " batch_state jsonb NOT NULL,"
            " PRIMARY KEY (stream, batch_id))"
        )
    )


_COLUMNS = (
    "stream, batch_id, state, reason, started_at, ended_at,"
    " rows_inserted, rows_updated, rows_deleted, rows_total, batch_state"
)


def _record(row: Sequence[Any]) -> BatchRecord:
    return BatchRecord(
        stream=row[0],
        batch_id=row[1],
        state=BatchStatus(row[2]),
        reason=row[3],
        started_at=row[4],
        ended_at=row[5],
        rows_inserted=row[6],
        rows_updated=row[7],
        rows_deleted=row[8],
        rows_total=row[9],
        batch_state=BatchState.from_json(row[10]),
    )


def current_batch(conn: AnyConnection, platform: str, stream: str, *, for_update: bool = False) -> BatchRecord | None:
    """The stream's latest batch (open or not), or None if it never had one."""
    lock = " FOR UPDATE" if for_update else ""
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM {_t(platform)} WHERE stream = :s ORDER BY batch_id DESC LIMIT 1{lock}"),
        {"s": stream},
    ).first()
    return None if row is None else _record(row)


def get_batch(conn: AnyConnection, platform: str, stream: str, batch_id: int) -> BatchRecord | None:
    """One batch of a stream, or None."""
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM {_t(platform)} WHERE stream = :s AND batch_id = :b"),
        {"s": stream, "b": batch_id},
    ).first()
    return None if row is None else _record(row)


def last_committed_batch_id(
    conn: AnyConnection, platform: str, stream: str, *, before: int | None = None
) -> int | None:
    """The stream's highest COMMITTED batch id (below `before` when given), or None.

    The forensic merge of batch k closes versions with this id (before=k).
    """
    value = conn.execute(
        text(
            f"SELECT max(batch_id) FROM {_t(platform)} WHERE stream = :s AND state = 'COMMITTED'"
            " AND (CAST(:before AS integer) IS NULL OR batch_id < :before)"
        ),
        {"s": stream, "before": before},
    ).scalar_one()
    return None if value is None else int(value)


def start_batch(
    conn: AnyConnection, platform: str, stream: str, schema_hashes: Mapping[str, str], at: dt.datetime
) -> BatchRecord:
    """Open the stream's next batch (STARTED), freezing its datasets and schema hashes.

    Raises `BatchError` if the stream already has an open batch (resume or reset it).
    """
    latest = current_batch(conn, platform, stream, for_update=True)
    if latest is not None and latest.is_open:
        raise BatchError(
            f"Stream {stream!r} on platform {platform!r}: batch {latest.batch_id} is still {latest.state}; "
            "resume it or reset it before starting a new one"
        )
    state = BatchState.frozen(schema_hashes)
    row = conn.execute(
        text(
            f"INSERT INTO {_t(platform)} (stream, batch_id, state, started_at, batch_state)"
            " VALUES (:s, :b, 'STARTED', :at, CAST(:st AS jsonb))"
            f" RETURNING {_COLUMNS}"
        ),
        {"s": stream, "b": (latest.batch_id if latest else 0) + 1, "at": _utc(at), "st": state.dumps()},
    ).one()
    return _record(row)


def _update_open(
    conn: AnyConnection,
    platform: str,
    stream: str,
    batch_id: int,
    what: str,
    sets: str,
    params: dict[str, Any],
    states: Sequence[BatchStatus] = OPEN_STATES,
) -> None:
    result = conn.execute(
        text(f"UPDATE {_t(platform)} SET {sets} WHERE stream = :s AND batch_id = :b AND state = ANY(:states)"),
        {**params, "s": stream, "b": batch_id, "states": [str(s) for s in states]},
    )
    if result.rowcount != 1:
        current = get_batch(conn, platform, stream, batch_id)
        found = "does not exist" if current is None else f"is {current.state}"
        raise BatchError(f"Stream {stream!r} batch {batch_id}: cannot {what}: the batch {found}")


def record_checkpoint(
    conn: AnyConnection,
    platform: str,
    stream: str,
    batch_id: int,
    dataset: str,
    checkpoint: DatasetCheckpoint,
) -> None:
    """Store one dataset's ingestion checkpoint (commit it with the chunk's staging rows)."""
    _update_open(
        conn,
        platform,
        stream,
        batch_id,
        f"record a checkpoint for dataset {dataset!r}",
        "batch_state = jsonb_set(batch_state, ARRAY['datasets', CAST(:ds AS text), 'checkpoint'],"
        " CAST(:cp AS jsonb), false)",
        {"ds": dataset, "cp": json.dumps(checkpoint.to_json())},
        states=(BatchStatus.STARTED,),
    )


def mark_not_point_in_time(conn: AnyConnection, platform: str, stream: str, batch_id: int) -> None:
    """Record that the open batch's ingestion spans runs (several source snapshots)."""
    _update_open(
        conn,
        platform,
        stream,
        batch_id,
        "mark it not point-in-time",
        "batch_state = jsonb_set(batch_state, ARRAY['point_in_time'], 'false'::jsonb, true)",
        {},
    )


def batch_table_exists(conn: AnyConnection, platform: str) -> bool:
    """Does the platform's batch table exist? (a read: `job status` never creates it)"""
    return conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": _t(platform)}).scalar_one() is True


def mark_ingested(conn: AnyConnection, platform: str, stream: str, batch_id: int) -> None:
    """STARTED -> INGESTED: every dataset is in staging."""
    _update_open(
        conn, platform, stream, batch_id, "mark it INGESTED", "state = 'INGESTED'", {}, states=(BatchStatus.STARTED,)
    )


def commit_batch(
    conn: AnyConnection,
    platform: str,
    stream: str,
    batch_id: int,
    counts: MergeCounts,
    rows_total: int,
    at: dt.datetime,
) -> None:
    """INGESTED -> COMMITTED with the merge's counts; run it in the merge's transaction."""
    _update_open(
        conn,
        platform,
        stream,
        batch_id,
        "commit it",
        "state = 'COMMITTED', ended_at = :at, rows_inserted = :i, rows_updated = :u, rows_deleted = :d, rows_total = :n",
        {"at": _utc(at), "i": counts.inserted, "u": counts.updated, "d": counts.deleted, "n": rows_total},
        states=(BatchStatus.INGESTED,),
    )


def fail_batch(conn: AnyConnection, platform: str, stream: str, batch_id: int, reason: str, at: dt.datetime) -> None:
    """An open batch -> FAILED with `reason`; the next `start_batch` opens a new id."""
    _update_open(
        conn,
        platform,
        stream,
        batch_id,
        "fail it",
        "state = 'FAILED', reason = :r, ended_at = :at",
        {"r": reason, "at": _utc(at)},
    )


def reset_batch(
    conn: AnyConnection,
    platform: str,
    stream: str,
    batch_id: int,
    staging_tables: Sequence[str],
    *,
    schema_hashes: Mapping[str, str] | None = None,
    reason: str | None = None,
) -> None:
    """Restart an open batch from scratch: clear its rows from `staging_tables`, set it back
    to STARTED with empty checkpoints, re-frozen with `schema_hashes` when given (the model
    changed mid-batch). The batch keeps its id and start time. Refuses a closed batch.
    """
    current = get_batch(conn, platform, stream, batch_id)
    if current is None or not current.is_open:
        found = "does not exist" if current is None else f"is {current.state}"
        raise BatchError(f"Stream {stream!r} batch {batch_id}: cannot reset it: the batch {found}")
    hashes = schema_hashes if schema_hashes is not None else current.batch_state.schema_hashes()
    for table in staging_tables:
        conn.execute(text(f"DELETE FROM {quote_ident(table)} WHERE ds_surf_batch_id = :b"), {"b": batch_id})
    _update_open(
        conn,
        platform,
        stream,
        batch_id,
        "reset it",
        "state = 'STARTED', reason = :r, batch_state = CAST(:st AS jsonb)",
        {"r": reason, "st": BatchState.frozen(hashes).dumps()},
    )
