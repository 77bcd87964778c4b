"""`datasurface check-change BASE_DIR PROPOSED_DIR --repo OWNER/NAME [--branch B]`: the PR check."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from datasurface.commands.common import EXIT_OK, EXIT_PROBLEM, echo_json, fail, json_option
from datasurface.commands.compile import timeout_option
from datasurface.commands.isolated_load import CompileOutcome, prepare, start_compile
from datasurface.model.changes import ChangeProblem, ChangeReport, Section, check_change, report_invalid_values
from datasurface.model.changes.files import refuse_links, scan
from datasurface.model.changes.owners import Owners, Proposer
from datasurface.model.changes.report import proposer_label
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.problems import Severity
from datasurface.model.repository import repository_name_problem
from datasurface.sandboxing import Confinement

_TITLES = {
    Section.LINT: "Lint of the proposed model",
    Section.OWNERSHIP: "Ownership",
    Section.COMPATIBILITY: "Backwards compatibility",
    Section.ASSIGNMENTS: "Assignment guard rails",
    Section.FILES: "Files",
}


_SHAPE = re.compile(r"[^/\s]+/[^/\s]+")


def _check_repo(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """Not OWNER/NAME at all is a usage error (exit 2). A name breaking GitHub's rules (a
    look-alike such as the Kelvin sign for 'k') is an attempt, refused in the report (exit 1):
    such a name never matches any declared repository."""
    value = value.strip()
    if not _SHAPE.fullmatch(value):
        raise click.BadParameter(f"expected OWNER/NAME, got {value!r}")
    return value


def _check_branch(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and (not value or not value.isprintable() or any(ch.isspace() for ch in value)):
        raise click.BadParameter(f"{value!r} is not a branch name")
    return value


@click.command("check-change")
@click.argument("base_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("proposed_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--repo",
    required=True,
    callback=_check_repo,
    help="The repository the change comes from, OWNER/NAME (a pull request's head repository), ASCII as "
    "GitHub spells it. Compared ignoring ASCII case, as git hosts do.",
)
@click.option(
    "--branch",
    default=None,
    callback=_check_branch,
    help="The branch the change comes from (a pull request's head branch), compared exactly with the "
    "branch declared for the owning repository. Omitted: any branch of --repo matches (for local runs; "
    "CI should always pass it).",
)
@timeout_option
@json_option
def check_change_command(
    base_dir: str, proposed_dir: str, repo: str, branch: str | None, timeout: float, as_json: bool
) -> None:
    """May the model in PROPOSED_DIR replace the one in BASE_DIR, when proposed from --repo?

    Checks that the proposed model lints clean, that every added, removed or changed object
    AND file belongs to --repo according to the BASE model's declarations, that data
    contracts only grow or widen, that dsg_platform_mapping.json statuses follow
    PROVISIONING -> PROVISIONED -> DECOMMISSIONING -> DECOMMISSIONED, and that the proposal
    holds no links or special files.

    Each eco.py runs once, in a confined child (see `datasurface compile`) that returns JSON
    only; the verdict is printed after the child's whole process tree is gone, and nothing
    the child prints is part of it. Exits 0 when the change may merge, 1 listing every
    reason (each with the object path, the rule and the repository that may make the
    change), 2 on usage errors. See howto/HOWTO_Governance.md.
    """
    base_path, proposed_path = Path(base_dir), Path(proposed_dir)
    if proposed_path.is_symlink():
        _load_error("proposed", f"{proposed_dir}: the model folder is a symbolic link; pass the folder itself", as_json)
    # Links and special files are refused before the proposal's code runs at all (a FIFO
    # named eco.py would block; a link may point anywhere).
    entries = scan(proposed_path)
    base_entries = scan(base_path)  # both scanned before any model code runs
    has_links = any(entry.problem for entry in entries.values())
    # Base first: it is trusted. The proposal's child may run at the same time only when the
    # file system is read-only to it (it could otherwise rewrite the base before it is read,
    # or the installed package before this process has imported all it needs).
    pending_base = start_compile(base_path, timeout=timeout)
    parallel = pending_base.child is not None and pending_base.child.level is not Confinement.PROCESS
    pending_proposed = start_compile(proposed_path, timeout=timeout) if parallel and not has_links else None
    prepare()
    base = pending_base.finish()
    if base.model is None:
        if pending_proposed is not None:
            pending_proposed.finish()
        _load_error("base", base.error or _first_problem(base), as_json)
    extra: dict[str, Any] = {"confinement": base.confinement.value, "base_hash": base.model.model_hash}
    if has_links:
        links = _empty_report(base.model.ecosystem, repo, branch)
        refuse_links(entries, Proposer(repo, branch), base.model.ecosystem, links)
        _finish(links, base_dir, proposed_dir, extra, as_json)
    proposed = (pending_proposed or start_compile(proposed_path, timeout=timeout)).finish()
    if proposed.error:
        _finish(
            _not_compiled(proposed.error, base.model.ecosystem, repo, branch),
            base_dir,
            proposed_dir,
            extra,
            as_json,
        )
    if proposed.model is None:
        problems = [(p.path, p.rule, p.message) for p in proposed.problems]
        report = report_invalid_values(base.model.ecosystem, problems, repo, branch)
        _finish(report, base_dir, proposed_dir, extra, as_json)
    extra["proposed_hash"] = proposed.model.model_hash
    report = check_change(base.model, proposed.model, repo, branch, scans=(base_entries, entries))
    _finish(report, base_dir, proposed_dir, extra, as_json)


def _first_problem(outcome: CompileOutcome) -> str:
    if not outcome.problems:
        return f"{outcome.folder}: the model could not be compiled"
    first = outcome.problems[0]
    return f"{outcome.folder}: {first.path}: {first.message} ({len(outcome.problems)} attribute problem(s))"


def _empty_report(base: Ecosystem, repo: str, branch: str | None) -> ChangeReport:
    roles = Owners(base, base).roles_of(Proposer(repo, branch))
    return ChangeReport(repo, branch, base.name, "?", roles=roles)


def _not_compiled(message: str, base: Ecosystem, repo: str, branch: str | None) -> ChangeReport:
    """A proposal that does not compile (raises, exits early, hangs, forges its result) can't
    merge, whoever proposes it: one reason, attributed to the proposer who must fix it."""
    report = _empty_report(base, repo, branch)
    report.problems.append(
        ChangeProblem(
            Section.LINT,
            Severity.ERROR,
            "lint/does-not-compile",
            "File 'eco.py'",
            f"the proposed model does not compile: {message}; no repository may merge a model that does not compile",
            proposer_label(repo, branch),
            "fix the proposed eco.py so that `datasurface compile` succeeds",
        )
    )
    return report


def _load_error(which: str, message: str, as_json: bool) -> NoReturn:
    if as_json:
        echo_json({"may_merge": False, "load_error": {"model": which, "message": message}})
        sys.exit(EXIT_PROBLEM)
    fail(f"{which} model: {message}")


def _finish(report: ChangeReport, base_dir: str, proposed_dir: str, extra: dict[str, Any], as_json: bool) -> NoReturn:
    problem = repository_name_problem(report.repo)
    if problem is not None:
        report.problems.insert(
            0,
            ChangeProblem(
                Section.OWNERSHIP,
                Severity.ERROR,
                "ownership/repository-name",
                f"Repository {report.repo!r}",
                f"the proposing repository {problem}, so it is none of the declared repositories and may change "
                "nothing (names are compared ignoring ASCII case only; look-alike characters never match)",
                "the owner of each changed object",
                "open the pull request from the declared repository, spelled in ASCII",
            ),
        )
    if as_json:
        echo_json({"base_dir": base_dir, "proposed_dir": proposed_dir, **extra, **report.to_json()})
    else:
        click.echo(f"confinement of model code: {extra['confinement']}")
        _print_report(report)
    sys.exit(EXIT_OK if report.may_merge else EXIT_PROBLEM)


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
