"""`datasurface check-change BASE_DIR PROPOSED_DIR --repo OWNER/NAME [--branch B]`: the PR check."""

from __future__ import annotations

import re
import sys

import click

from datasurface.commands.common import EXIT_OK, EXIT_PROBLEM, echo_json, fail, json_option
from datasurface.commands.isolated_load import load_isolated
from datasurface.model.changes import ChangeReport, Section, check_change
from datasurface.model.loader import LoadedModel, ModelLoadError

_REPO = re.compile(r"[^/\s]+/[^/\s]+")

_TITLES = {
    Section.LINT: "Lint of the proposed model",
    Section.OWNERSHIP: "Ownership",
    Section.COMPATIBILITY: "Backwards compatibility",
    Section.ASSIGNMENTS: "Assignment guard rails",
}


def _check_repo(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not _REPO.fullmatch(value.strip()):
        raise click.BadParameter(f"expected OWNER/NAME, got {value!r}")
    return value.strip()


@click.command("check-change")
@click.argument("base_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("proposed_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--repo",
    required=True,
    callback=_check_repo,
    help="The repository the change comes from, OWNER/NAME (a pull request's head repository). "
    "Compared case-insensitively, as git hosts do.",
)
@click.option(
    "--branch",
    default=None,
    help="The branch the change comes from (a pull request's head branch), compared exactly with the "
    "branch declared for the owning repository. Omitted: any branch of --repo matches (for local runs; "
    "CI should always pass it).",
)
@json_option
def check_change_command(base_dir: str, proposed_dir: str, repo: str, branch: str | None, as_json: bool) -> None:
    """May the model in PROPOSED_DIR replace the one in BASE_DIR, when proposed from --repo?

    Checks that the proposed model lints clean, that every added, removed or changed object
    belongs to --repo according to the BASE model's declarations, that data contracts only
    grow or widen, and that dsg_platform_mapping.json statuses follow
    PROVISIONING -> PROVISIONED -> DECOMMISSIONING -> DECOMMISSIONED.

    Both models are loaded in child processes, so the proposed eco.py can't interfere with
    the check. Exits 0 when the change may merge, 1 listing every reason (each with the
    object path, the rule and the repository that may make the change), 2 on usage errors.
    See howto/HOWTO_Governance.md.
    """
    # Base first: it is trusted, and loading it before any proposed code runs means the
    # proposal can't have touched it.
    base = _load(base_dir, "base", as_json)
    proposed = _load(proposed_dir, "proposed", as_json)
    report = check_change(base, proposed, repo, branch)
    if as_json:
        echo_json({"base_dir": base_dir, "proposed_dir": proposed_dir, **report.to_json()})
    else:
        _print_report(report)
    sys.exit(EXIT_OK if report.may_merge else EXIT_PROBLEM)


def _load(model_dir: str, which: str, as_json: bool) -> LoadedModel:
    try:
        return load_isolated(model_dir)
    except ModelLoadError as exc:
        if as_json:
            echo_json({"may_merge": False, "load_error": {"model": which, "message": str(exc)}})
            sys.exit(EXIT_PROBLEM)
        fail(f"{which} model: {exc}")


def _print_report(report: ChangeReport) -> None:
    click.echo(
        f"check-change: ecosystem '{report.base_name}', change proposed by {report.proposer()}; "
        f"it owns: {', '.join(report.roles) or 'nothing in the base model'}"
    )
    if report.changes:
        click.echo(f"Changes ({len(report.changes)}):")
        for change in report.changes:
            verdict = "ok" if change.authorized else "NOT ALLOWED"
            click.echo(f"  {change.action.value:<8} {change.path}: {change.what} [owner {change.owner}] {verdict}")
    for section, problems in report.by_section().items():
        if problems:
            click.echo(f"{_TITLES[section]} ({len(problems)}):")
            for problem in problems:
                click.echo(f"  {problem}")
    click.echo(report.summary())
