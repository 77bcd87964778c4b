"""A small driver for the Yellow SQL core in tests: source table -> staging -> live + forensic.

It plays the part of the job (written elsewhere) with the public functions only: start a
batch, ingest (checkpointing each chunk in the same transaction), mark ingested, merge
live and forensic and commit in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text

from datasurface.model.schema import DDLTable
from datasurface.platforms.yellow import batch_metadata as bm
from datasurface.platforms.yellow import naming, projection
from datasurface.platforms.yellow.merge import MergeCounts, merge_forensic, merge_live
from datasurface.platforms.yellow.projection import BATCH_IN, BATCH_OUT, pg_type
from datasurface.platforms.yellow.staging import SourceTable, clear_staging, ingest_chunk, key_to_json

Row = Mapping[str, Any]
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def q(name: str) -> str:
    return naming.quote_ident(name)


def create_source(conn: Connection, name: str, table: DDLTable, *, with_pk: bool = True) -> None:
    cols = [f"{q(c.name)} {pg_type(c.type)}" for c in table.columns]
    if with_pk:
        cols.append("PRIMARY KEY (" + ", ".join(q(k) for k in table.primary_key) + ")")
    conn.execute(text(f"CREATE TABLE {q(name)} ({', '.join(cols)})"))


def replace_source(conn: Connection, name: str, table: DDLTable, rows: Sequence[Row]) -> None:
    conn.execute(text(f"DELETE FROM {q(name)}"))
    if rows:
        cols = table.column_names()
        conn.execute(
            text(
                f"INSERT INTO {q(name)} ({', '.join(q(c) for c in cols)})"
                f" VALUES ({', '.join(':p' + str(i) for i in range(len(cols)))})"
            ),
            [{f"p{i}": r.get(c) for i, c in enumerate(cols)} for r in rows],
        )


def as_tuples(table: DDLTable, rows: Sequence[Row]) -> list[tuple[Any, ...]]:
    cols = table.column_names()
    return sorted((tuple(r.get(c) for c in cols) for r in rows), key=repr)


@dataclass
class Harness:
    """One dataset 'ds' of store 'store' on platform 'pf', stream 'store'."""

    engine: Engine
    table: DDLTable
    chunk: int | None = None
    platform: str = "pf"
    stream: str = "store"
    source: str = "src"
    snapshots: dict[int, list[Row]] = field(default_factory=dict)
    last_counts: MergeCounts | None = None

    def __post_init__(self) -> None:
        self.staging = naming.staging_table(self.platform, "store", "ds")
        self.live = naming.merge_table(self.platform, "store", "ds")
        self.hist = naming.merge_table(self.platform, "store", "ds", forensic=True)
        with self.engine.begin() as conn:
            bm.create_batch_tables(conn, self.platform)
            create_source(conn, self.source, self.table, with_pk=False)
            self._ensure_tables(conn)

    def _ensure_tables(self, conn: Connection) -> None:
        projection.ensure_staging_table(conn, self.staging, self.table)
        projection.ensure_merge_table(conn, self.live, self.table, forensic=False)
        projection.ensure_merge_table(conn, self.hist, self.table, forensic=True)

    def evolve(self, table: DDLTable) -> None:
        """The model changed: new table schema for the source and the physical tables."""
        with self.engine.begin() as conn:
            existing = projection.read_table_columns(conn, self.source)
            for c in table.columns:
                if c.name not in existing:
                    conn.execute(text(f"ALTER TABLE {q(self.source)} ADD COLUMN {q(c.name)} {pg_type(c.type)}"))
            self.table = table
            self._ensure_tables(conn)

    def run_batch(self, rows: Sequence[Row]) -> int:
        """Make the source equal `rows`, then ingest, merge and commit one batch."""
        with self.engine.begin() as conn:
            replace_source(conn, self.source, self.table, rows)
        with self.engine.begin() as conn:
            batch = bm.start_batch(conn, self.platform, self.stream, {"ds": self.table.fingerprint()}, T0)
        k = batch.batch_id
        after = None
        total = 0
        while True:
            with self.engine.connect() as src, self.engine.begin() as tgt:
                res = ingest_chunk(
                    src,
                    tgt,
                    source_table=SourceTable(self.source),
                    table=self.table,
                    staging_table=self.staging,
                    batch_id=k,
                    after_key=after,
                    limit=self.chunk,
                )
                total += res.rows
                cp = bm.DatasetCheckpoint(
                    done=res.done, last_key=None if res.last_key is None else key_to_json(res.last_key), rows=total
                )
                bm.record_checkpoint(tgt, self.platform, self.stream, k, "ds", cp)
                src.rollback()
            if res.done:
                break
            after = res.last_key
        with self.engine.begin() as conn:
            bm.mark_ingested(conn, self.platform, self.stream, k)
        try:
            with self.engine.begin() as conn:
                prev = bm.last_committed_batch_id(conn, self.platform, self.stream, before=k)
                live = merge_live(
                    conn, table=self.table, staging_table=self.staging, target_table=self.live, batch_id=k
                )
                hist = merge_forensic(
                    conn,
                    table=self.table,
                    staging_table=self.staging,
                    target_table=self.hist,
                    batch_id=k,
                    closed_batch_out=prev if prev is not None else k - 1,
                )
                assert live == hist, (live, hist)
                clear_staging(conn, self.staging)
                bm.commit_batch(conn, self.platform, self.stream, k, live, total, T0 + dt.timedelta(seconds=k))
        except Exception as exc:
            with self.engine.begin() as conn:
                bm.fail_batch(conn, self.platform, self.stream, k, str(exc), T0 + dt.timedelta(seconds=k))
                clear_staging(conn, self.staging, k)
            raise
        self.last_counts = live
        self.snapshots[k] = [dict(r) for r in rows]
        return k

    # --- reading back --------------------------------------------------------------------------

    def _select(self, table: str, where: str = "", params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        cols = ", ".join(q(c) for c in self.table.column_names())
        with self.engine.connect() as conn:
            rows = conn.execute(text(f"SELECT {cols} FROM {q(table)}{where}"), dict(params or {}))
            return sorted((tuple(r) for r in rows), key=repr)

    def live_rows(self) -> list[tuple[Any, ...]]:
        return self._select(self.live)

    def hist_as_of(self, k: int) -> list[tuple[Any, ...]]:
        return self._select(self.hist, f" WHERE {q(BATCH_IN)} <= :k AND :k <= {q(BATCH_OUT)}", {"k": k})

    def hist_version_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {q(self.hist)}")).scalar_one())

    def xmins(self, table: str) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(text(f"SELECT ctid::text, xmin::text FROM {q(table)}"))
            return {r[0]: r[1] for r in rows}

    def check_all(self) -> None:
        """Live equals the last snapshot; history reproduces every committed snapshot."""
        last = max(self.snapshots)
        assert self.live_rows() == as_tuples(self.table, self.snapshots[last])
        for k, snap in self.snapshots.items():
            assert self.hist_as_of(k) == as_tuples(self.table, snap), f"forensic snapshot of batch {k} differs"
