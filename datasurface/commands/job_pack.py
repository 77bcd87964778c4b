"""`datasurface job run-pack`: run the due members of one stream pack in one process."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path

import click

from datasurface.commands.common import fail, model_option
from datasurface.commands.job import setup_logging
from datasurface.model.loader import ModelLoadError
from datasurface.platforms.yellow.job import JobBudget
from datasurface.platforms.yellow.pack_job import ERROR, PackError, PackRun, load_pack

#: Members an external trigger asks for (comma-separated): the pack DAG passes its run's
#: `members` conf here through the environment, never through a shell command line.
MEMBERS_ENV = "DATASURFACE_PACK_MEMBERS"


@click.command("run-pack")
@model_option
@click.option("--platform", required=True, help="The Yellow data platform's name.")
@click.option("--pack", required=True, help="The pack's key, e.g. pack0003 (see `graph --json`).")
@click.option(
    "--member",
    "members",
    multiple=True,
    help=f"Run this member now even if its cron is not due (an external trigger); repeatable; also ${MEMBERS_ENV}.",
)
@click.option("--workers", type=click.IntRange(min=1), help="Members run at once (default: the platform's).")
@click.option("--max-rows", type=click.IntRange(min=1), help="Per-member rows before KEEP_WORKING.")
@click.option("--max-seconds", type=click.FloatRange(min=0), help="Per-member seconds before KEEP_WORKING.")
@click.option("--chunk-rows", type=click.IntRange(min=1), help="Rows per ingestion chunk.")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S"]),
    help="Decide who is due, and stamp batches, as of this UTC time instead of now (replays, tests).",
)
@click.option("--json", "as_json", is_flag=True, help="Print every member's outcome as JSON on stdout.")
@click.option(
    "--exit-zero",
    is_flag=True,
    help="Exit 0 whenever the pack ran; the outcomes are in the JSON result (the pack DAG reads them).",
)
@click.option(
    "--result-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the JSON result here (the Kubernetes launcher's XCom file).",
)
def run_pack_command(
    model_dir: str,
    platform: str,
    pack: str,
    members: tuple[str, ...],
    workers: int | None,
    max_rows: int | None,
    max_seconds: float | None,
    chunk_rows: int | None,
    as_of: dt.datetime | None,
    as_json: bool,
    exit_zero: bool,
    result_file: Path | None,
) -> None:
    """Run the members of a pack that are due: each one's own cron against its last batch in
    the merge database, an open batch, or an external trigger (--member). Members run
    concurrently within the platform's connection budget, highest priority first; each keeps
    its own lock, batch and KEEP_WORKING budget, exactly as `job run --stream` would.

    \b
    Exit codes:
      0   every member that was due is DONE (or BUSY: another job holds it)
      75  some member has work left (KEEP_WORKING, or not started in time): run again now
      1   some member failed (the others still ran); the message names them
    With --json, stdout is one line: the JSON result with one outcome per member.
    """
    setup_logging()
    requested = [*members, *(m.strip() for m in os.environ.get(MEMBERS_ENV, "").split(",") if m.strip())]
    try:
        ctx = load_pack(model_dir, platform, pack)
    except (ModelLoadError, PackError) as exc:
        fail(str(exc))
    budget = JobBudget.of(ctx.platform)
    budget.max_rows = max_rows or budget.max_rows
    budget.max_seconds = max_seconds if max_seconds is not None else budget.max_seconds
    budget.chunk_rows = chunk_rows or budget.chunk_rows
    try:
        run = PackRun(ctx, requested=requested, budget=budget, workers=workers)
        if as_of is not None:
            fixed = as_of.replace(tzinfo=dt.UTC)
            run.clock = lambda: fixed
        result = run.run()
    except PackError as exc:
        fail(str(exc))
    data = result.to_json()
    if result_file is not None:
        result_file.parent.mkdir(parents=True, exist_ok=True)
        result_file.write_text(json.dumps(data, default=str))
    counts: dict[str, int] = {}
    for m in result.members:
        counts[m.outcome] = counts.get(m.outcome, 0) + 1
    summary = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
    click.echo(
        f"Platform '{platform}' / Pack '{pack}': {len(result.members)} member(s): {summary} in {result.seconds:.2f}s",
        err=True,
    )
    failed = result.names(ERROR)
    if failed:
        logging.getLogger("datasurface.pack").error("members failed: %s", ", ".join(failed))
        click.echo(f"error: Platform '{platform}' / Pack '{pack}': member(s) failed: {', '.join(failed)}", err=True)
    if as_json:
        # One line: the local launcher pushes a task's last stdout line as its XCom.
        click.echo(json.dumps(data, separators=(",", ":"), default=str))
    else:
        for m in result.members:
            click.echo(m.log_line())
    sys.exit(0 if exit_zero else result.exit_code)
