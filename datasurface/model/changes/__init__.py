"""May a proposed model replace the base model, when proposed from a given repository?

`check_change` runs four independent checks and reports every reason, never just the first:

- lint: the proposed model must lint clean (errors block, warnings are shown);
- ownership: every added, removed or changed object belongs to the proposer (on the base
  model's declarations);
- compatibility: data contracts only grow or widen (binds owners too);
- assignments: `dsg_platform_mapping.json` statuses follow their life cycle (binds owners too).

The proposer is `repo` ("owner/name", compared case-insensitively like git hosts do) and
`branch` (exact); `branch=None` matches any branch of the repository (local use; CI passes
the pull request's head branch).
"""

from __future__ import annotations

import re

from datasurface.model.assignments import PlatformAssignments
from datasurface.model.changes.assignment_rules import check_assignment_moves
from datasurface.model.changes.compatibility import check_compatibility
from datasurface.model.changes.files import FileEntry, check_files
from datasurface.model.changes.owners import Owner, Owners, Proposer
from datasurface.model.changes.ownership import check_ownership
from datasurface.model.changes.report import Action, ChangeProblem, ChangeReport, ObjectChange, Section
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.lint import lint_ecosystem
from datasurface.model.loader import LoadedModel
from datasurface.model.problems import Severity

__all__ = [
    "Action",
    "ChangeProblem",
    "ChangeReport",
    "ModelVersion",
    "ObjectChange",
    "Section",
    "check_change",
    "report_invalid_values",
]

ModelVersion = LoadedModel | tuple[Ecosystem, PlatformAssignments]

_FIRST_SEGMENT = re.compile(r"(\w+) '([^']*)'")


def check_change(
    base: ModelVersion,
    proposed: ModelVersion,
    repo: str,
    branch: str | None = None,
    scans: tuple[dict[str, FileEntry], dict[str, FileEntry]] | None = None,
) -> ChangeReport:
    """When both versions are `LoadedModel`s, every file of their folders is checked too
    (`files.py`): ownership of each changed file, no links or special files."""
    base_eco, base_a = _unpack(base)
    new_eco, new_a = _unpack(proposed)
    proposer = Proposer(repo.strip(), branch)
    owners = Owners(base_eco, new_eco)
    report = ChangeReport(repo.strip(), branch, base_eco.name, new_eco.name, roles=owners.roles_of(proposer))
    _lint(base_eco, base_a, new_eco, new_a, owners, report)
    check_ownership(base_eco, base_a, new_eco, new_a, proposer, report)
    check_compatibility(base_eco, new_eco, report)
    check_assignment_moves(base_a, new_a, owners.ecosystem(), report)
    if isinstance(base, LoadedModel) and isinstance(proposed, LoadedModel):
        check_files(base.directory, proposed.directory, base_eco, new_eco, proposer, report, scans)
    return report


def report_invalid_values(
    base: Ecosystem, problems: list[tuple[str, str, str]], repo: str, branch: str | None = None
) -> ChangeReport:
    """The report for a proposal whose objects have attributes of the wrong type or range
    (`(path, rule, message)` each): every one is a lint error, attributed to its owner on
    the base model. Nothing else can be compared until they are fixed."""
    proposer = Proposer(repo.strip(), branch)
    owners = Owners(base, base)
    report = ChangeReport(repo.strip(), branch, base.name, base.name, roles=owners.roles_of(proposer))
    for path, rule, message in problems:
        owner = _owner_of_path(path, owners)
        report.problems.append(
            ChangeProblem(
                Section.LINT,
                Severity.ERROR,
                f"lint/{rule}",
                path,
                f"proposed model fails lint: {message}; {owner.label()} may fix it",
                owner.short(),
                "use the DSL's types, e.g. DDLColumn('email', VarChar(100)), VarChar(10), Decimal(12, 2)",
            )
        )
    return report


def _unpack(model: ModelVersion) -> tuple[Ecosystem, PlatformAssignments]:
    if isinstance(model, LoadedModel):
        return model.ecosystem, model.assignments
    return model


def _lint(
    base: Ecosystem,
    base_a: PlatformAssignments,
    new: Ecosystem,
    new_a: PlatformAssignments,
    owners: Owners,
    report: ChangeReport,
) -> None:
    """Lint problems of the proposal, each attributed to the repository that must fix it.

    Errors already present in the base are still blocking (the model must lint clean) but are
    marked, so the author knows they are not theirs to fix.
    """
    already = {(p.rule, p.path, p.message) for p in lint_ecosystem(base, base_a).items}
    for problem in lint_ecosystem(new, new_a).items:
        owner = _owner_of_path(problem.path, owners)
        note = " (already in the base model)" if (problem.rule, problem.path, problem.message) in already else ""
        report.problems.append(
            ChangeProblem(
                Section.LINT,
                problem.severity,
                f"lint/{problem.rule}",
                problem.path,
                f"proposed model fails lint: {problem.message}{note}; {owner.label()} may fix it",
                owner.short(),
                problem.hint,
            )
        )


def _owner_of_path(path: str, owners: Owners) -> Owner:
    """Lint paths start with the owning level: `Team 't' / ...`, `Zone 'z' / ...`, else the ecosystem."""
    match = _FIRST_SEGMENT.match(path)
    if match is not None and match.group(1) == "Team":
        return owners.team_anywhere(match.group(2))
    if match is not None and match.group(1) == "Zone":
        return owners.zone(match.group(2))
    return owners.ecosystem()
