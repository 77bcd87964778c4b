"""`datasurface transformer run`: run a workspace's DataTransformer on a Yellow platform."""

from __future__ import annotations

import sys

import click

from datasurface.commands.common import EXIT_KEEP_WORKING, echo_json, fail
from datasurface.commands.job import setup_logging
from datasurface.model.lint import lint_ecosystem
from datasurface.model.loader import ModelLoadError, load_model
from datasurface.platforms.yellow.connections import ConnectionFailedError, CredentialError, engine_for
from datasurface.platforms.yellow.job import JobError, JobOutcome
from datasurface.platforms.yellow.pgconn import database_errors, first_line
from datasurface.platforms.yellow.stream_context import (
    StreamLookupError,
    load_stream,
    resolve_model_dir,
    resolve_platform,
)
from datasurface.platforms.yellow.transformer_job import TransformerError, TransformerJob


@click.group("transformer")
def transformer_group() -> None:
    """Run workspace DataTransformers."""


@transformer_group.command("run")
@click.option("--model", "model_dir", required=True, type=click.Path(file_okay=False), help="Model or models folder.")
@click.option("--platform", required=True, help="The Yellow platform whose views the code reads.")
@click.option("--workspace", required=True, help="The workspace whose DataTransformer runs.")
@click.option("--ingest", is_flag=True, help="Then ingest the output store on the platform until DONE.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run_command(model_dir: str, platform: str, workspace: str, ingest: bool, as_json: bool) -> None:
    """Run the workspace's transformer: its code reads the workspace's live views and refills
    the output store's tables in ONE transaction. On failure nothing changes (exit 1) and the
    output is not ingested. With --ingest the output store's stream then runs to DONE
    (exit 75 if its budget stops it first)."""
    setup_logging()
    try:
        model = load_model(resolve_model_dir(model_dir))
        problems = lint_ecosystem(model.ecosystem, model.assignments)
        if problems.has_errors():
            fail(f"the model in {model.directory} does not lint: {problems.errors[0]}")
        plat = resolve_platform(model, platform)
        engine = engine_for(plat.merge_database, plat.merge_credential)
        result = TransformerJob(model, plat, workspace, engine).run()
        outcome = None
        if ingest:
            ctx = load_stream(model.directory, platform, result.output_store)
            outcome = ctx.job().run()
    except (
        ModelLoadError,
        StreamLookupError,
        TransformerError,
        CredentialError,
        ConnectionFailedError,
        JobError,
    ) as exc:
        fail(str(exc))
    except database_errors() as exc:
        fail(f"Platform '{platform}' / Workspace '{workspace}': database error: {first_line(exc)}")
    summary = {
        "platform": platform,
        "workspace": workspace,
        "output_store": result.output_store,
        "code_version": result.code_version,
        "rows_written": result.rows_written,
        "ingestion": None if outcome is None else {"outcome": outcome.outcome.value, "batch_id": outcome.batch_id},
    }
    if as_json:
        echo_json(summary)
    else:
        written = ", ".join(f"{k}: {v} rows" for k, v in result.rows_written.items())
        click.echo(f"Platform '{platform}' / Workspace '{workspace}': wrote {result.output_store} ({written})")
        if outcome is not None:
            click.echo(f"ingestion of {result.output_store}: {outcome.outcome.value} batch {outcome.batch_id}")
    if outcome is not None and outcome.outcome is JobOutcome.KEEP_WORKING:
        sys.exit(EXIT_KEEP_WORKING)
