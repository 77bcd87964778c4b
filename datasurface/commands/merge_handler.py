"""`datasurface merge-handler`: deploy the model at the head of a branch."""

from __future__ import annotations

import sys

import click

from datasurface.commands.common import EXIT_OK, EXIT_PROBLEM, echo_json, fail, json_option
from datasurface.platforms.yellow.merge_handler import MergeHandlerError, ModelRefused, run_merge_handler


@click.command("merge-handler")
@click.option("--repo", required=True, help="A local git repository path, or an https:// URL.")
@click.option("--branch", required=True, help="The branch to deploy, e.g. main.")
@click.option(
    "--models-dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Where model-<utc seconds> folders live (jobs and DAGs read the newest).",
)
@click.option("--keep", default=5, show_default=True, type=click.IntRange(min=1), help="Model folders to keep.")
@click.option(
    "--git-credential",
    default=None,
    help="TOKEN credential for an https repository (its token is read from <NAME>_TOKEN). "
    "Default: the git_credential of the deployed model's Yellow platforms.",
)
@json_option
def merge_handler_command(
    repo: str, branch: str, models_dir: str, keep: int, git_credential: str | None, as_json: bool
) -> None:
    """Clone BRANCH of REPO, lint it, publish it as MODELS_DIR/model-<utc seconds>, write one
    DAG config row per ingestion stream into each Yellow platform's merge database, reconcile
    the consumer views and prune old model folders.

    \b
    A model that doesn't lint is refused: it is removed, the previous model folder stays the
    newest, no database is touched, and each error is printed with its object path.
    Progress goes to stderr; the summary (or --json) to stdout.
    Exit codes: 0 deployed (views still waiting for their first batch are reported, not
    errors); 1 refused, or a platform's database could not be updated; 2 usage error.
    """

    def progress(line: str) -> None:
        click.echo(line, err=True)

    try:
        result = run_merge_handler(repo, branch, models_dir, keep, git_credential=git_credential, progress=progress)
    except ModelRefused as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        if as_json:
            echo_json({"refused": True, "message": str(exc), "problems": [p.to_json() for p in exc.problems]})
        fail(str(exc))
    except MergeHandlerError as exc:
        fail(str(exc))
    if as_json:
        echo_json(result.to_json())
    else:
        click.echo(
            f"deployed {result.model_folder} (commit {result.commit[:12] or 'unknown'}, "
            f"model sha256 {result.model_hash or 'unknown'})"
        )
        for p in result.platforms:
            data = p.to_json()
            click.echo(
                f"Platform '{p.platform}': config rows +{p.inserted} ~{p.updated} -{p.deleted}; views "
                f"{len(data['views_created'])} created, {len(data['views_updated'])} updated, "
                f"{len(data['views_pending'])} pending" + (f"; ERROR: {p.error}" if p.error else "")
            )
    sys.exit(EXIT_OK if result.ok else EXIT_PROBLEM)
