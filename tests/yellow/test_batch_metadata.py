"""Batch metadata: lifecycle, checkpoints, reset, refusal of illegal transitions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from datasurface.platforms.yellow import batch_metadata as bm
from datasurface.platforms.yellow.merge import MergeCounts

T = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_lifecycle(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        bm.create_batch_tables(conn, "pf")
        bm.create_batch_tables(conn, "pf")  # idempotent
        assert bm.current_batch(conn, "pf", "s") is None
        b1 = bm.start_batch(conn, "pf", "s", {"a": "h1", "b": "h2"}, T)
        assert (b1.batch_id, b1.state, b1.started_at) == (1, bm.BatchStatus.STARTED, T)
        assert b1.batch_state.schema_hashes() == {"a": "h1", "b": "h2"}
        with pytest.raises(bm.BatchError, match="still STARTED"):
            bm.start_batch(conn, "pf", "s", {"a": "h1"}, T)
        # another stream is independent
        assert bm.start_batch(conn, "pf", "other", {"a": "h1"}, T).batch_id == 1

        bm.record_checkpoint(conn, "pf", "s", 1, "a", bm.DatasetCheckpoint(done=False, last_key=[5, "x"], rows=5))
        bm.record_checkpoint(conn, "pf", "s", 1, "b", bm.DatasetCheckpoint(done=True, rows=0))
        cur = bm.current_batch(conn, "pf", "s")
        assert cur is not None
        assert cur.batch_state.datasets["a"].checkpoint.last_key == [5, "x"]
        assert not cur.batch_state.all_ingested()
        bm.record_checkpoint(conn, "pf", "s", 1, "a", bm.DatasetCheckpoint(done=True, rows=9))
        bm.mark_ingested(conn, "pf", "s", 1)
        with pytest.raises(bm.BatchError, match="INGESTED"):
            bm.record_checkpoint(conn, "pf", "s", 1, "a", bm.DatasetCheckpoint())
        bm.commit_batch(conn, "pf", "s", 1, MergeCounts(3, 2, 1), 9, T + dt.timedelta(minutes=1))
        done = bm.get_batch(conn, "pf", "s", 1)
        assert done is not None and done.state == bm.BatchStatus.COMMITTED and not done.is_open
        assert (done.rows_inserted, done.rows_updated, done.rows_deleted, done.rows_total) == (3, 2, 1, 9)
        assert done.ended_at == T + dt.timedelta(minutes=1)
        with pytest.raises(bm.BatchError, match="COMMITTED"):
            bm.reset_batch(conn, "pf", "s", 1, [])
        with pytest.raises(bm.BatchError, match="COMMITTED"):
            bm.fail_batch(conn, "pf", "s", 1, "x", T)

        b2 = bm.start_batch(conn, "pf", "s", {"a": "h1"}, T)
        bm.fail_batch(conn, "pf", "s", b2.batch_id, "source down", T)
        b3 = bm.start_batch(conn, "pf", "s", {"a": "h1"}, T)
        assert b3.batch_id == 3
        assert bm.last_committed_batch_id(conn, "pf", "s", before=3) == 1
        assert bm.last_committed_batch_id(conn, "pf", "s") == 1
        assert bm.last_committed_batch_id(conn, "pf", "nobody") is None
        # queryable as plain SQL
        states = conn.execute(
            text("SELECT batch_id, state, reason FROM \"pf__batch_metrics\" WHERE stream = 's' ORDER BY 1")
        ).all()
        assert [tuple(r) for r in states] == [
            (1, "COMMITTED", None),
            (2, "FAILED", "source down"),
            (3, "STARTED", None),
        ]


def test_reset_clears_staging_and_refreezes(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        bm.create_batch_tables(conn, "pf")
        conn.execute(text("CREATE TABLE stg (id int, ds_surf_batch_id int)"))
        conn.execute(text("INSERT INTO stg VALUES (1, 1), (2, 1), (3, 0)"))
        bm.start_batch(conn, "pf", "s", {"a": "old"}, T)
        bm.record_checkpoint(conn, "pf", "s", 1, "a", bm.DatasetCheckpoint(done=True, rows=2))
        bm.mark_ingested(conn, "pf", "s", 1)
        bm.reset_batch(conn, "pf", "s", 1, ["stg"], schema_hashes={"a": "new", "c": "h"}, reason="model changed")
        cur = bm.current_batch(conn, "pf", "s")
        assert cur is not None and cur.state == bm.BatchStatus.STARTED and cur.batch_id == 1
        assert cur.batch_state.schema_hashes() == {"a": "new", "c": "h"}
        assert not cur.batch_state.datasets["a"].checkpoint.done
        assert conn.execute(text("SELECT array_agg(id ORDER BY id) FROM stg")).scalar_one() == [3]


def test_naive_times_rejected(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        bm.create_batch_tables(conn, "pf")
        with pytest.raises(ValueError, match="UTC"):
            bm.start_batch(conn, "pf", "s", {}, dt.datetime(2026, 1, 1))


def test_lock_key_stable() -> None:
    assert bm.stream_lock_key("pf", "s") == bm.stream_lock_key("pf", "s")
    assert bm.stream_lock_key("pf", "s") != bm.stream_lock_key("pf", "t")
    assert -(2**63) <= bm.stream_lock_key("pf", "s") < 2**63
