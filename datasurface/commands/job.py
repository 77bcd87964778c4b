"""`datasurface job run|status|reset`: run and inspect one ingestion stream of a Yellow platform."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from typing import Any

import click

from datasurface.commands.common import EXIT_KEEP_WORKING, EXIT_OK, UserError, echo_json, fail, model_option
from datasurface.commands.lazy import LazyGroup
from datasurface.model.loader import ModelLoadError
from datasurface.platforms.yellow import naming
from datasurface.platforms.yellow.batch_metadata import (
    BatchRecord,
    batch_table_exists,
    create_batch_tables,
    current_batch,
    reset_batch,
)
from datasurface.platforms.yellow.connections import ConnectionFailedError, CredentialError
from datasurface.platforms.yellow.job import JobBudget, JobError, JobOutcome, SourceMissingError
from datasurface.platforms.yellow.pgconn import database_errors, first_line
from datasurface.platforms.yellow.stream_context import StreamContext, StreamLookupError, load_stream


def _stream_options(func: Any) -> Any:
    func = click.option(
        "--stream", required=True, help="The stream: a multi-dataset store, or STORE.DATASET (see `graph --json`)."
    )(func)
    func = click.option("--platform", required=True, help="The Yellow data platform's name.")(func)
    return model_option(func)


def _context(model_dir: str, platform: str, stream: str) -> StreamContext:
    try:
        return load_stream(model_dir, platform, stream)
    except (ModelLoadError, StreamLookupError) as exc:
        fail(str(exc))


def setup_logging() -> None:
    logging.Formatter.converter = time.gmtime
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)sZ level=%(levelname)s logger=%(name)s msg=%(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        force=True,
    )


@click.group("job", cls=LazyGroup, lazy={"run-pack": "datasurface.commands.job_pack:run_pack_command"})
def job_group() -> None:
    """Run, inspect and reset the job of one ingestion stream."""


@job_group.command("run")
@_stream_options
@click.option("--max-rows", type=click.IntRange(min=1), help="Rows to stage before KEEP_WORKING (default: platform's).")
@click.option("--max-seconds", type=click.FloatRange(min=0), help="Seconds before KEEP_WORKING (default: platform's).")
@click.option("--chunk-rows", type=click.IntRange(min=1), help="Rows per ingestion chunk (default: platform's).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON on stdout.")
def run_command(
    model_dir: str,
    platform: str,
    stream: str,
    max_rows: int | None,
    max_seconds: float | None,
    chunk_rows: int | None,
    as_json: bool,
) -> None:
    """Move the stream's batch forward: start or resume it, ingest, merge, commit.

    \b
    Exit codes:
      0   DONE: the batch committed (or another job holds the stream); wait for the next trigger
      75  KEEP_WORKING: the row or time budget was reached; run again now to continue
      1   ERROR: the message names the stream, dataset and cause; the batch resumes next run
          (duplicate keys fail the batch instead: nothing is merged)
    Credentials come from <NAME>_USER and <NAME>_PASSWORD for the credential names in the model.
    """
    setup_logging()
    ctx = _context(model_dir, platform, stream)
    budget = JobBudget.of(ctx.platform)
    budget.max_rows = max_rows or budget.max_rows
    budget.max_seconds = max_seconds if max_seconds is not None else budget.max_seconds
    budget.chunk_rows = chunk_rows or budget.chunk_rows
    try:
        result = ctx.job(budget=budget).run()
    except SourceMissingError as exc:
        if ctx.transformer_workspace is not None:
            fail(
                f"{exc}. The stream's tables are written by the DataTransformer of workspace "
                f"'{ctx.transformer_workspace}': run `datasurface transformer run --model {model_dir} "
                f"--platform {platform} --workspace {ctx.transformer_workspace}` first"
            )
        fail(str(exc))
    except (CredentialError, ConnectionFailedError, JobError) as exc:
        fail(str(exc))
    except database_errors() as exc:
        fail(f"Platform '{platform}' / Stream '{stream}': database error: {first_line(exc)}")
    outcome = result.outcome
    if as_json:
        echo_json(
            {
                "platform": platform,
                "stream": stream,
                "outcome": outcome.value,
                "batch_id": result.batch_id,
                "state": result.state,
                "rows_staged_this_run": result.rows_staged_this_run,
                "inserted": result.counts.inserted,
                "updated": result.counts.updated,
                "deleted": result.counts.deleted,
                "message": result.message,
            }
        )
    else:
        click.echo(
            f"{outcome.value}: Platform '{platform}' / Stream '{stream}'"
            + (f" batch {result.batch_id} {result.state}" if result.batch_id is not None else "")
            + (f" ({result.message})" if result.message else "")
        )
    sys.exit(EXIT_KEEP_WORKING if outcome is JobOutcome.KEEP_WORKING else EXIT_OK)


def _utc(at: dt.datetime) -> str:
    """ISO 8601 in UTC, whatever the database session's time zone."""
    return at.astimezone(dt.UTC).isoformat()


def batch_json(platform: str, stream: str, batch: BatchRecord | None) -> dict[str, Any]:
    if batch is None:
        return {"platform": platform, "stream": stream, "batch_id": None, "state": None}
    return {
        "platform": platform,
        "stream": stream,
        "batch_id": batch.batch_id,
        "state": batch.state.value,
        "reason": batch.reason,
        "started_at": _utc(batch.started_at),
        "ended_at": _utc(batch.ended_at) if batch.ended_at else None,
        # False when the batch's ingestion spanned runs (several source snapshots).
        "point_in_time": batch.batch_state.point_in_time,
        "rows_inserted": batch.rows_inserted,
        "rows_updated": batch.rows_updated,
        "rows_deleted": batch.rows_deleted,
        "rows_total": batch.rows_total,
        "datasets": {
            name: {
                "schema_hash": d.schema_hash,
                "ingested": d.checkpoint.done,
                "rows_staged": d.checkpoint.rows,
            }
            for name, d in batch.batch_state.datasets.items()
        },
    }


@job_group.command("status")
@_stream_options
@click.option("--json", "as_json", is_flag=True, help="Print the batch as JSON.")
def status_command(model_dir: str, platform: str, stream: str, as_json: bool) -> None:
    """Show the stream's current (latest) batch: id, state, row counts, UTC times."""
    ctx = _context(model_dir, platform, stream)
    try:
        # Only reads: a platform without a batch table has had no batch yet.
        with ctx.merge_engine().connect() as conn:
            batch = current_batch(conn, platform, stream) if batch_table_exists(conn, platform) else None
            conn.rollback()
    except (CredentialError, ConnectionFailedError) as exc:
        fail(str(exc))
    except database_errors() as exc:
        fail(f"Platform '{platform}' / Stream '{stream}': {first_line(exc)}")
    data = batch_json(platform, stream, batch)
    data["model_hash"] = ctx.model.model_hash  # the compiled model.json this ran with (None: eco.py)
    if as_json:
        echo_json(data)
    elif batch is None:
        click.echo(f"Platform '{platform}' / Stream '{stream}': no batch yet")
    else:
        click.echo(
            f"Platform '{platform}' / Stream '{stream}': batch {batch.batch_id} {batch.state.value}"
            f" started {data['started_at']}"
            + ("" if batch.batch_state.point_in_time else " (not point-in-time: ingestion spanned runs)")
            + (f" ended {data['ended_at']}" if data["ended_at"] else "")
            + f"; inserted {batch.rows_inserted}, updated {batch.rows_updated}, deleted {batch.rows_deleted},"
            f" total {batch.rows_total}" + (f"; reason: {batch.reason}" if batch.reason else "")
        )


@job_group.command("reset")
@_stream_options
def reset_command(model_dir: str, platform: str, stream: str) -> None:
    """Restart the stream's open batch from scratch: its staged rows are cleared and the next
    `job run` ingests again. A committed or failed batch is never touched."""
    ctx = _context(model_dir, platform, stream)
    try:
        with ctx.merge_engine().begin() as conn:
            create_batch_tables(conn, platform)
            batch = current_batch(conn, platform, stream, for_update=True)
            if batch is None:
                raise UserError(f"Platform '{platform}' / Stream '{stream}': no batch to reset")
            if not batch.is_open:
                raise UserError(
                    f"Platform '{platform}' / Stream '{stream}': batch {batch.batch_id} is {batch.state.value}; "
                    "only an open (STARTED or INGESTED) batch can be reset"
                )
            staging = [naming.staging_table(platform, ctx.stream.store, ds.name) for ds in ctx.datasets]
            reset_batch(conn, platform, stream, batch.batch_id, staging, reason="reset by `datasurface job reset`")
    except (CredentialError, ConnectionFailedError) as exc:
        fail(str(exc))
    except database_errors() as exc:
        fail(f"Platform '{platform}' / Stream '{stream}': {first_line(exc)}")
    click.echo(f"Platform '{platform}' / Stream '{stream}': batch {batch.batch_id} reset to STARTED")
