"""The stream job: one batch of one ingestion stream, restartable at every step.

A run takes the stream's advisory lock, then moves the stream's open batch forward:

    no open batch     -> start one (STARTED), freezing the dataset list and schema hashes
                         (a missing source table starts nothing)
    model changed     -> reset the open batch (staging cleared) and start it again
    first load        -> every merge table empty, Postgres source within the row budget:
                         COPY each source table straight into its merge table and commit,
                         in one transaction (`_direct_first_load`)
    STARTED           -> ingest each dataset in keyset chunks; each chunk's staging rows and
                         its checkpoint commit together, so a kill loses at most one chunk.
                         All chunks of a run read one source snapshot (REPEATABLE READ); a
                         point-in-time batch resumed by a later run reads again what an
                         earlier run staged, so a batch is one moment of the source unless
                         it had to span runs (KEEP_WORKING), which it then records
    misfit value      -> a source value that doesn't fit its model type (`fidelity`) FAILS
                         the batch, naming the column and a key; nothing is merged
    staging lost      -> staging is UNLOGGED: a server crash empties it while checkpoints
                         still count its chunks; the batch is reset and ingested again
    budget reached    -> exit KEEP_WORKING; the next run resumes from the checkpoints
    INGESTED          -> merge every dataset and commit the batch in ONE transaction
    COMMITTED         -> DONE

Nothing is read from the clock inside SQL: times come from the injected `clock`.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NoReturn

from datasurface.errors import DataSurfaceError
from datasurface.graph import IngestionStream
from datasurface.model.dataset import Dataset
from datasurface.model.ingestion import SQLSnapshotIngestion
from datasurface.model.workspace import Milestoning

from . import faults, naming
from .batch_metadata import (
    BatchRecord,
    BatchStatus,
    DatasetCheckpoint,
    commit_batch,
    create_batch_tables,
    current_batch,
    fail_batch,
    last_committed_batch_id,
    mark_ingested,
    mark_not_point_in_time,
    record_checkpoint,
    reset_batch,
    start_batch,
    stream_lock_key,
)
from .merge import (
    InvalidKeyError,
    MergeCounts,
    StagingIncompleteError,
    is_empty,
    load_empty_table,
    merge_forensic,
    merge_live,
)
from .naming import qualified
from .pgconn import AnyConnection, AnyEngine, text
from .platform import YellowDataPlatform
from .projection import (
    BATCH_ID,
    SchemaEvolutionError,
    ensure_merge_table,
    ensure_staging_table,
)
from .staging import (
    SourceTable,
    SourceTableError,
    ValueFidelityError,
    check_source_columns,
    clear_staging,
    copy_source_into,
    ingest_chunk,
    key_from_json,
    key_to_json,
    source_column_types,
)
from .view_reconcile import drop_dependent_views, reconcile_views
from .views import ViewSpec

log = logging.getLogger("datasurface.job")

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class JobOutcome(enum.Enum):
    DONE = "DONE"  # the batch committed (or another job holds the stream): wait for the next trigger
    KEEP_WORKING = "KEEP_WORKING"  # budget reached with work left: run again now
    BUSY = "BUSY"  # another job holds the stream's lock; nothing was touched


class JobError(DataSurfaceError):
    """The batch can't go on; the message names the stream, the dataset and the cause."""


class SourceMissingError(JobError):
    """A source table (or a column of it) is missing; no batch was started for it."""


@dataclass(slots=True)
class JobBudget:
    """A run stops with KEEP_WORKING once it has staged `max_rows` rows or run `max_seconds`."""

    max_rows: int
    max_seconds: float
    chunk_rows: int

    @staticmethod
    def of(platform: YellowDataPlatform) -> JobBudget:
        return JobBudget(platform.max_rows_per_run, platform.max_seconds_per_run, platform.chunk_rows)


@dataclass(slots=True)
class JobResult:
    outcome: JobOutcome
    batch_id: int | None = None
    state: str | None = None
    counts: MergeCounts = field(default_factory=lambda: MergeCounts(0, 0, 0))
    rows_staged_this_run: int = 0
    message: str = ""


@dataclass(slots=True)
class DatasetTables:
    dataset: Dataset
    source: SourceTable
    staging: str
    merge: str


class StreamJob:
    """Runs one stream of one Yellow platform. Engines are passed in (see `connections`)."""

    def __init__(
        self,
        platform: YellowDataPlatform,
        stream: IngestionStream,
        datasets: list[Dataset],
        capture: SQLSnapshotIngestion,
        merge_engine: AnyEngine,
        source_engine: AnyEngine,
        *,
        budget: JobBudget | None = None,
        clock: Clock = utc_now,
        views: Sequence[ViewSpec] = (),
    ) -> None:
        self.platform = platform
        self.stream = stream
        self.capture = capture
        self.merge_engine = merge_engine
        self.source_engine = source_engine
        self.budget = budget or JobBudget.of(platform)
        self.clock = clock
        self.views = list(views)  # the consumer views reading this stream's tables
        self.forensic = platform.milestoning is Milestoning.FORENSIC
        self.tables = [self._tables_for(ds) for ds in datasets]
        self.schema_hashes = {ds.name: ds.schema.fingerprint() for ds in datasets}
        self._source_types: dict[str, dict[str, str]] = {}  # dataset -> source column types, read once per run

    def _tables_for(self, ds: Dataset) -> DatasetTables:
        source_name = self.capture.source_table(ds.name)
        schema, _, table = source_name.rpartition(".")
        return DatasetTables(
            dataset=ds,
            source=SourceTable(table, schema or None),
            staging=naming.staging_table(self.platform.name, self.stream.store, ds.name),
            merge=naming.merge_table(self.platform.name, self.stream.store, ds.name, forensic=self.forensic),
        )

    def _where(self, dataset: str | None = None) -> str:
        where = f"Platform '{self.platform.name}' / Stream '{self.stream.stream}'"
        return f"{where} / Dataset '{dataset}'" if dataset else where

    # -- entry point -----------------------------------------------------------------------

    def run(self) -> JobResult:
        with self._stream_lock() as acquired:
            if not acquired:
                message = f"{self._where()}: busy, another job holds the stream; nothing was changed"
                log.info(message)
                return JobResult(JobOutcome.BUSY, message=message)
            return self._run_locked()

    @contextmanager
    def _stream_lock(self) -> Iterator[bool]:
        """A session-level advisory lock on its own connection: it is released when the job
        ends or when the process dies (the server drops the session)."""
        key = stream_lock_key(self.platform.name, self.stream.stream)
        with self.merge_engine.connect() as conn:
            acquired = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one())
            conn.commit()
            try:
                yield acquired
            finally:
                if acquired:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()

    def _run_locked(self) -> JobResult:
        started = time.monotonic()
        self._source_types.clear()
        dropped_views: list[str] = []
        try:
            with self.merge_engine.begin() as conn:

                def drop_views(table: str) -> None:  # a widened column type: views block it
                    dropped_views.extend(drop_dependent_views(conn, table))

                create_batch_tables(conn, self.platform.name)
                for t in self.tables:
                    ensure_staging_table(conn, t.staging, t.dataset.schema, before_rehash=self._log_rehash)
                    ensure_merge_table(
                        conn,
                        t.merge,
                        t.dataset.schema,
                        forensic=self.forensic,
                        before_rehash=self._log_rehash,
                        before_widening=drop_views,
                    )
        except SchemaEvolutionError as exc:
            raise JobError(f"{self._where()}: {exc}") from None
        if dropped_views:
            # Same definitions, new column types: put the consumers' views straight back.
            outcomes = reconcile_views(self.merge_engine, self.platform.name, self.views)
            log.info("%s: widened column types; views recreated: %s", self._where(), ", ".join(dropped_views))
            failed = [o.reason for o in outcomes if not o.ok]
            if failed:
                log.warning("%s: views not recreated: %s", self._where(), "; ".join(failed))
        unfinished = self._committed_batch_with_leftovers()
        if unfinished is not None:
            # Killed between commit and cleanup: the batch is done; finish it, don't start another.
            self._clear_staging()
            log.info("%s: batch %s was COMMITTED; cleared its staging rows", self._where(), unfinished.batch_id)
            return JobResult(JobOutcome.DONE, unfinished.batch_id, BatchStatus.COMMITTED.value)
        batch = self._open_batch()
        if self._staging_lost(batch):
            batch = self._reingest(batch, "its staging rows are gone (a server crash empties unlogged staging)")
        if batch.state is BatchStatus.STARTED:
            loaded = self._direct_first_load(batch)
            if loaded is not None:
                return loaded
        staged = 0
        for attempt in (1, 2):
            if batch.state is BatchStatus.STARTED:
                more, finished = self._ingest(batch, started)
                staged += more
                if not finished:
                    # The rest is read in later runs, in other source snapshots.
                    with self.merge_engine.begin() as conn:
                        mark_not_point_in_time(conn, self.platform.name, self.stream.stream, batch.batch_id)
                    return self._keep_working(batch, staged)
                with self.merge_engine.begin() as conn:
                    mark_ingested(conn, self.platform.name, self.stream.stream, batch.batch_id)
                faults.reach("after-ingest")
                # Exactly max_rows staged is within budget: merge now rather than in a run of its own.
                if staged > self.budget.max_rows or time.monotonic() - started >= self.budget.max_seconds:
                    return self._keep_working(batch, staged)
            try:
                counts = self._merge_and_commit(batch)
            except StagingIncompleteError as exc:
                if attempt == 2:
                    raise JobError(f"{self._where()}: batch {batch.batch_id}: {exc}") from exc
                batch = self._reingest(batch, str(exc))
                continue
            return JobResult(JobOutcome.DONE, batch.batch_id, BatchStatus.COMMITTED.value, counts, staged)
        raise AssertionError("unreachable")

    def _log_rehash(self, table: str) -> None:
        log.info(
            "%s: table %s: recomputing its stored row hashes under the current hash scheme"
            " (once, after an upgrade; one UPDATE of every row)",
            self._where(),
            table,
        )

    def _keep_working(self, batch: BatchRecord, staged: int) -> JobResult:
        log.info("%s: batch %s: budget reached after %s rows; KEEP_WORKING", self._where(), batch.batch_id, staged)
        return JobResult(JobOutcome.KEEP_WORKING, batch.batch_id, batch.state.value, rows_staged_this_run=staged)

    def _budget_spent(self, staged: int, started: float) -> bool:
        return staged >= self.budget.max_rows or time.monotonic() - started >= self.budget.max_seconds

    # -- batch lifecycle -------------------------------------------------------------------

    def _committed_batch_with_leftovers(self) -> BatchRecord | None:
        """The latest batch if it is COMMITTED but its staging rows are still there."""
        with self.merge_engine.connect() as conn:
            latest = current_batch(conn, self.platform.name, self.stream.stream)
            if latest is None or latest.state is not BatchStatus.COMMITTED:
                return None
            for t in self.tables:
                leftover = conn.execute(
                    text(f"SELECT 1 FROM {naming.quote_ident(t.staging)} WHERE {BATCH_ID} = :b LIMIT 1"),  # noqa: S608 - quoted names only
                    {"b": latest.batch_id},
                ).first()
                if leftover is not None:
                    return latest
        return None

    def _clear_staging(self) -> None:
        """Empty the stream's staging tables. ``TRUNCATE``, not ``DELETE``: instant, and it
        leaves no dead rows for the next scan. Safe: each staging table belongs to this
        stream alone, whose lock this job holds, and holds only the finished batch's rows."""
        with self.merge_engine.begin() as conn:
            for t in self.tables:
                clear_staging(conn, t.staging)

    def _staging_lost(self, batch: BatchRecord) -> bool:
        """Has a dataset with staged chunks lost all of its staging rows?

        Staging tables are UNLOGGED: crash recovery (or a failover) leaves them empty while
        the checkpoints still count the chunks staged before. Checked when a run picks up
        an open batch, before it writes anything: a crash always empties a table, so an
        empty staging table whose checkpoint counts rows is the sign (one row read). The
        merge checks the exact row count again (`StagingIncompleteError`).
        """
        if not batch.is_open:
            return False
        with self.merge_engine.connect() as conn:
            for t in self.tables:
                state = batch.batch_state.datasets.get(t.dataset.name)
                if state is None or state.checkpoint.rows == 0:
                    continue
                found = conn.execute(
                    text(f"SELECT 1 FROM {naming.quote_ident(t.staging)} WHERE {BATCH_ID} = :b LIMIT 1"),  # noqa: S608 - quoted names only
                    {"b": batch.batch_id},
                ).first()
                if found is None:
                    return True
        return False

    def _reingest(self, batch: BatchRecord, reason: str) -> BatchRecord:
        """Reset `batch` (same id, same frozen datasets) so that it is ingested again."""
        platform, stream = self.platform.name, self.stream.stream
        log.warning("%s: batch %s is ingested again: %s", self._where(), batch.batch_id, reason)
        with self.merge_engine.begin() as conn:
            reset_batch(
                conn,
                platform,
                stream,
                batch.batch_id,
                [t.staging for t in self.tables],
                reason=f"re-ingested: {reason}",
            )
            refreshed = current_batch(conn, platform, stream)
        assert refreshed is not None and refreshed.batch_id == batch.batch_id
        return refreshed

    def _open_batch(self) -> BatchRecord:
        """The stream's open batch, reset if the model changed since it started; or a new one."""
        platform, stream = self.platform.name, self.stream.stream
        with self.merge_engine.begin() as conn:
            batch = current_batch(conn, platform, stream, for_update=True)
            if batch is not None and batch.is_open:
                frozen = batch.batch_state.schema_hashes()
                if frozen == self.schema_hashes:
                    log.info("%s: resuming batch %s (%s)", self._where(), batch.batch_id, batch.state.value)
                    return batch
                reason = _describe_change(frozen, self.schema_hashes)
                log.warning("%s: batch %s restarts: %s", self._where(), batch.batch_id, reason)
                reset_batch(
                    conn,
                    platform,
                    stream,
                    batch.batch_id,
                    [t.staging for t in self.tables],
                    schema_hashes=self.schema_hashes,
                    reason=f"reset: {reason}",
                )
            else:
                self._check_sources()  # a missing source table starts no batch
                # Leftovers of a batch killed after its commit are cleared before a new one.
                for t in self.tables:
                    clear_staging(conn, t.staging)
                batch = start_batch(conn, platform, stream, self.schema_hashes, self.clock())
                log.info("%s: started batch %s", self._where(), batch.batch_id)
            refreshed = current_batch(conn, platform, stream)
        assert refreshed is not None
        faults.reach("after-batch-start")
        return refreshed

    # -- ingestion -------------------------------------------------------------------------

    def _check_sources(self) -> None:
        """Raise `SourceMissingError` unless every source table exists with the dataset's
        columns; the types read are kept for this run's ingestion."""
        with self.source_engine.connect() as source:
            for t in self.tables:
                self._source_types[t.dataset.name] = self._read_source_types(source, t)
            source.rollback()

    def _read_source_types(self, source: AnyConnection, t: DatasetTables) -> dict[str, str]:
        types = source_column_types(source, t.source)
        try:
            check_source_columns(t.dataset.schema, t.source, types, case_sensitive=source.dialect.name == "postgresql")
        except SourceTableError as exc:
            raise SourceMissingError(f"{self._where(t.dataset.name)}: {exc}; nothing was started") from None
        return types

    @contextmanager
    def _source_snapshot(self) -> Iterator[AnyConnection]:
        """One read transaction on the source for the whole run: REPEATABLE READ, so every
        chunk of every dataset sees the same snapshot (Postgres takes it at the first
        statement; InnoDB at the first consistent read). Ended when the run's ingestion ends."""
        with self.source_engine.connect() as conn:
            source = conn.execution_options(isolation_level="REPEATABLE READ")
            try:
                yield source
            finally:
                source.rollback()

    def _ingest(self, batch: BatchRecord, started: float) -> tuple[int, bool]:
        """Stage every dataset chunk by chunk, all in one source snapshot. Returns (rows
        staged, everything staged).

        A point-in-time batch (one that has not had to span runs) re-reads every dataset
        staged in an earlier run's snapshot: after a failure the source may have changed,
        and mixing two moments in one batch is what multi-dataset streams exist to avoid.
        A batch that spans runs (KEEP_WORKING) resumes from its checkpoints and is marked
        not point-in-time.
        """
        staged = 0
        token = uuid.uuid4().hex
        checkpoints = {name: state.checkpoint for name, state in batch.batch_state.datasets.items()}
        with self._source_snapshot() as source:
            for t in self.tables:
                if t.dataset.name not in self._source_types:
                    self._source_types[t.dataset.name] = self._read_source_types(source, t)
            for t in self.tables:
                name = t.dataset.name
                checkpoint = checkpoints.get(name, DatasetCheckpoint())
                if batch.batch_state.point_in_time and checkpoint != DatasetCheckpoint():
                    log.info(
                        "%s: batch %s: staged in an earlier run's source snapshot; read again",
                        self._where(name),
                        batch.batch_id,
                    )
                    checkpoint = DatasetCheckpoint()  # the first chunk truncates its staging
                while not checkpoint.done:
                    if staged > 0 and self._budget_spent(staged, started):
                        return staged, False
                    previous = checkpoint
                    checkpoint = self._ingest_chunk(source, batch, t, checkpoint, token)
                    staged += checkpoint.rows - previous.rows
                    faults.reach("after-chunk")
        return staged, True

    def _ingest_chunk(
        self, source: AnyConnection, batch: BatchRecord, t: DatasetTables, checkpoint: DatasetCheckpoint, token: str
    ) -> DatasetCheckpoint:
        after = key_from_json(checkpoint.last_key, t.dataset.schema) if checkpoint.last_key is not None else None
        try:
            with self.merge_engine.begin() as target:
                result = ingest_chunk(
                    source,
                    target,
                    source_table=t.source,
                    table=t.dataset.schema,
                    staging_table=t.staging,
                    batch_id=batch.batch_id,
                    after_key=after,
                    limit=self.budget.chunk_rows,
                    # The dataset's first chunk of the batch: nothing in its staging table is
                    # needed any more, so truncate it and load the chunk frozen.
                    fresh=checkpoint == DatasetCheckpoint(),
                    source_types=self._source_types.get(t.dataset.name),
                )
                new = DatasetCheckpoint(
                    done=result.done,
                    last_key=key_to_json(result.last_key) if result.last_key is not None else checkpoint.last_key,
                    rows=checkpoint.rows + result.rows,
                    snapshot=token,
                )
                record_checkpoint(target, self.platform.name, self.stream.stream, batch.batch_id, t.dataset.name, new)
        except ValueFidelityError as exc:
            source.rollback()
            self._reject(
                batch, f"{self._where(t.dataset.name)}: batch {batch.batch_id}: source table '{t.source.name}' {exc}"
            )
        except Exception as exc:
            source.rollback()
            raise JobError(
                f"{self._where(t.dataset.name)}: batch {batch.batch_id}: ingestion from source table "
                f"'{t.source.name}' failed: {_first_line(exc)}"
            ) from exc
        log.info(
            "%s: batch %s: staged %s rows (%s so far)%s",
            self._where(t.dataset.name),
            batch.batch_id,
            result.rows,
            new.rows,
            ", done" if new.done else "",
        )
        return new

    def _direct_first_load(self, batch: BatchRecord) -> JobResult | None:
        """A batch whose every merge table is empty loads them straight from the source.

        Conditions: a Postgres source, the batch has staged nothing yet, every merge table
        of the stream is empty (the stream's first batch, or after a reset), and the source
        holds at most `max_rows` rows. Then one source snapshot and ONE merge transaction do
        it all: per dataset, drop the empty table's indexes, COPY the source in (converted
        and hashed as staging would), build the indexes; then INGESTED and COMMITTED. There
        is no staging write and no diff: the first load costs about what COPY into an
        empty table plus an index build costs. A kill rolls it all back: the rerun starts
        it again in a new snapshot. Returns None when the staged path must run instead.
        """
        if self.source_engine.dialect.name != "postgresql":
            return None
        if any(d.checkpoint != DatasetCheckpoint() for d in batch.batch_state.datasets.values()):
            return None
        with self.merge_engine.connect() as conn:
            empty = all(is_empty(conn, t.merge) for t in self.tables)
            conn.rollback()
        if not empty:
            return None
        platform, stream = self.platform.name, self.stream.stream
        with self._source_snapshot() as source:
            for t in self.tables:
                self._source_types[t.dataset.name] = self._read_source_types(source, t)
            if self._source_rows_over(source, self.budget.max_rows):
                return None
            total = MergeCounts(0, 0, 0)
            current: DatasetTables | None = None
            try:
                with self.merge_engine.begin() as conn:
                    latest = current_batch(conn, platform, stream, for_update=True)
                    if latest is None or latest.batch_id != batch.batch_id or latest.state is not BatchStatus.STARTED:
                        return None
                    for index, t in enumerate(self.tables):
                        current = t
                        total = total + self._load_one(conn, source, batch, t)
                        if index == 0:
                            faults.reach("inside-merge")
                    mark_ingested(conn, platform, stream, batch.batch_id)
                    commit_batch(conn, platform, stream, batch.batch_id, total, total.inserted, self.clock())
            except (InvalidKeyError, ValueFidelityError) as exc:
                where = self._where(current.dataset.name if current else None)
                self._reject(batch, f"{where}: batch {batch.batch_id}: {exc}")
            except DataSurfaceError as exc:
                where = self._where(current.dataset.name if current else None)
                raise JobError(f"{where}: batch {batch.batch_id}: first load failed: {exc}") from exc
        faults.reach("after-commit")
        log.info(
            "%s: batch %s COMMITTED: first load of %s rows straight into the empty merge tables",
            self._where(),
            batch.batch_id,
            total.inserted,
        )
        return JobResult(JobOutcome.DONE, batch.batch_id, BatchStatus.COMMITTED.value, total, total.inserted)

    def _load_one(
        self, conn: AnyConnection, source: AnyConnection, batch: BatchRecord, t: DatasetTables
    ) -> MergeCounts:
        def fill() -> int:
            return copy_source_into(
                source,
                conn,
                source_table=t.source,
                table=t.dataset.schema,
                target_table=t.merge,
                batch_id=batch.batch_id,
                forensic=self.forensic,
                source_types=self._source_types[t.dataset.name],
            )

        return load_empty_table(conn, table=t.dataset.schema, target_table=t.merge, batch_id=batch.batch_id, fill=fill)

    def _source_rows_over(self, source: AnyConnection, limit: int) -> bool:
        """Do the stream's source tables hold more than `limit` rows together? (Counts
        stop at the limit: a huge table costs no more than `limit` rows read.)"""
        left = limit
        for t in self.tables:
            src = qualified(t.source.name, t.source.schema)
            # The planner's estimate settles clear cases without reading the table.
            estimate = source.execute(
                text("SELECT reltuples FROM pg_catalog.pg_class WHERE oid = to_regclass(:t) AND relkind IN ('r', 'p')"),
                {"t": src},
            ).scalar()
            if estimate is not None and estimate > 2 * limit:
                return True
            if estimate is not None and 0 < estimate < left / 2:
                left -= int(estimate * 2)
                continue
            found = source.execute(
                text(f"SELECT count(*) FROM (SELECT 1 FROM {src} LIMIT :n) x"),  # noqa: S608 - quoted names only
                {"n": left + 1},
            ).scalar_one()
            left -= int(found)
            if left < 0:
                return True
        return False

    def _reject(self, batch: BatchRecord, message: str) -> NoReturn:
        """Fail the batch (its data is invalid: retrying can't help) and clear its staging."""
        with self.merge_engine.begin() as conn:
            fail_batch(conn, self.platform.name, self.stream.stream, batch.batch_id, message, self.clock())
            for t in self.tables:
                clear_staging(conn, t.staging)
        raise JobError(f"{message}; batch {batch.batch_id} FAILED, nothing was merged")

    # -- merge -----------------------------------------------------------------------------

    def _merge_and_commit(self, batch: BatchRecord) -> MergeCounts:
        platform, stream = self.platform.name, self.stream.stream
        total = MergeCounts(0, 0, 0)
        try:
            with self.merge_engine.begin() as conn:
                closed = last_committed_batch_id(conn, platform, stream, before=batch.batch_id)
                # Re-read: this run's chunks moved the checkpoints since `batch` was loaded.
                latest = current_batch(conn, platform, stream, for_update=True)
                assert latest is not None and latest.batch_id == batch.batch_id
                staged = {name: d.checkpoint.rows for name, d in latest.batch_state.datasets.items()}
                for index, t in enumerate(self.tables):
                    try:
                        if self.forensic:
                            counts = merge_forensic(
                                conn,
                                table=t.dataset.schema,
                                staging_table=t.staging,
                                target_table=t.merge,
                                batch_id=batch.batch_id,
                                closed_batch_out=closed if closed is not None else batch.batch_id - 1,
                                expected_rows=staged.get(t.dataset.name, 0),
                            )
                        else:
                            counts = merge_live(
                                conn,
                                table=t.dataset.schema,
                                staging_table=t.staging,
                                target_table=t.merge,
                                batch_id=batch.batch_id,
                                expected_rows=staged.get(t.dataset.name, 0),
                            )
                    except InvalidKeyError as exc:
                        raise _BatchRejected(f"{self._where(t.dataset.name)}: batch {batch.batch_id}: {exc}") from exc
                    total = total + counts
                    if index == 0:
                        faults.reach("inside-merge")
                rows_total = sum(staged.values())
                commit_batch(conn, platform, stream, batch.batch_id, total, rows_total, self.clock())
        except _BatchRejected as exc:
            self._reject(batch, str(exc))
        faults.reach("after-commit")
        self._clear_staging()
        log.info(
            "%s: batch %s COMMITTED: %s inserted, %s updated, %s deleted",
            self._where(),
            batch.batch_id,
            total.inserted,
            total.updated,
            total.deleted,
        )
        return total


class _BatchRejected(Exception):
    """The batch's data is invalid (duplicate or NULL keys): it fails rather than retries."""


def _describe_change(frozen: dict[str, str], now: dict[str, str]) -> str:
    added = sorted(set(now) - set(frozen))
    removed = sorted(set(frozen) - set(now))
    changed = sorted(n for n in set(now) & set(frozen) if now[n] != frozen[n])
    parts = []
    if added:
        parts.append(f"datasets added: {', '.join(added)}")
    if removed:
        parts.append(f"datasets removed: {', '.join(removed)}")
    if changed:
        parts.append(f"schema changed: {', '.join(changed)}")
    return "the model changed mid-batch (" + "; ".join(parts) + ")"


def _first_line(exc: BaseException) -> str:
    text_ = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text_[0] if text_ else ''}"
