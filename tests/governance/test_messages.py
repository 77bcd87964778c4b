"""Every rejection names the object path, the rule broken and the repository that may make
(or fix) the change instead, in the printed line and in the JSON fields."""

from __future__ import annotations

from collections.abc import Iterator

from datasurface.model import AssignmentStatus, DDLColumn, DSGPlatformAssignment, Integer, TeamDeclaration
from datasurface.model.changes import ChangeProblem, check_change
from tests.governance import org


def _rejections() -> Iterator[ChangeProblem]:
    base = org.model(org.LAST)
    cases: list[tuple[org.Model, str]] = []

    eco, a = org.edit()
    org.dataset(eco, "crm", "customers").schema.columns.pop(0)  # column + key + lint
    org.dataset(eco, "crm", "orders").schema.columns.append(DDLColumn("x", Integer(), nullable=False))
    cases += [((eco, a), org.MARKETING), ((eco, a), org.FORK), ((eco, a), org.SALES)]

    eco, a = org.edit()
    a.assignments = [DSGPlatformAssignment("campaigns", "live", "YellowForensic", AssignmentStatus.PROVISIONED)]
    cases += [((eco, a), org.EMEA), ((eco, a), org.CENTRAL)]

    eco, a = org.edit()
    org.zone(eco, "emea").team_declarations.append(TeamDeclaration("ops", org.gh("acme/ops")))
    org.team(eco, "sales").datastores.clear()
    cases += [((eco, a), org.SALES), ((eco, a), org.CENTRAL)]

    eco, a = org.edit()
    eco.name = "acme2"
    eco.zones[0].policies.allowed_platforms = []
    cases += [((eco, a), org.FINANCE)]

    for proposal, repo in cases:
        report = check_change(base, proposal, repo)
        assert not report.may_merge
        yield from report.errors


def test_every_rejection_names_path_rule_and_repository() -> None:
    problems = list(_rejections())
    sections = {p.section for p in problems}
    assert len(sections) == 4, sections  # lint, ownership, compatibility, assignments all covered
    for problem in problems:
        line = str(problem)
        assert problem.path and problem.path in line
        assert problem.rule and f"[{problem.rule}]" in line
        repo = problem.may_change.split(" ")[0]
        assert "/" in repo, problem
        assert repo in problem.message, line
        assert problem.to_json()["may_change"] == problem.may_change
