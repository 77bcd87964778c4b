"""Guard rails on dsg_platform_mapping.json: every (before, after) status pair, and a DSG
migrating from one platform to another with both serving it for a while."""

from __future__ import annotations

import itertools

import pytest

from datasurface.model import AssignmentStatus, DSGPlatformAssignment
from datasurface.model.changes import check_change
from tests.governance import org

P, PD, DG, DD = (
    AssignmentStatus.PROVISIONING,
    AssignmentStatus.PROVISIONED,
    AssignmentStatus.DECOMMISSIONING,
    AssignmentStatus.DECOMMISSIONED,
)

# (status before or None = absent, status after or None = removed, rule or None = allowed)
MOVES: list[tuple[AssignmentStatus | None, AssignmentStatus | None, str | None]] = [
    (None, P, None),
    (None, PD, "assignment/new-not-provisioning"),
    (None, DG, "assignment/new-not-provisioning"),
    (None, DD, "assignment/new-not-provisioning"),
    (P, P, None),
    (P, PD, None),
    (P, DG, "assignment/illegal-status-move"),
    (P, DD, "assignment/illegal-status-move"),
    (P, None, "assignment/removed-before-decommissioned"),
    (PD, P, "assignment/illegal-status-move"),
    (PD, PD, None),
    (PD, DG, None),
    (PD, DD, "assignment/illegal-status-move"),
    (PD, None, "assignment/removed-before-decommissioned"),
    (DG, P, "assignment/illegal-status-move"),
    (DG, PD, "assignment/illegal-status-move"),
    (DG, DG, None),
    (DG, DD, None),
    (DG, None, "assignment/removed-before-decommissioned"),
    (DD, P, "assignment/illegal-status-move"),
    (DD, PD, "assignment/illegal-status-move"),
    (DD, DG, "assignment/illegal-status-move"),
    (DD, DD, None),
    (DD, None, None),
]


def _with(status: AssignmentStatus | None) -> org.Model:
    eco, assignments = org.edit()
    assignments.assignments = (
        [] if status is None else [DSGPlatformAssignment("campaigns", "live", "YellowLive", status)]
    )
    return eco, assignments


@pytest.mark.parametrize(("before", "after", "rule"), MOVES, ids=[f"{b}->{a}" for b, a, _ in MOVES])
def test_status_moves(before: AssignmentStatus | None, after: AssignmentStatus | None, rule: str | None) -> None:
    report = check_change(_with(before), _with(after), org.CENTRAL)
    assert [p.rule for p in report.errors] == ([rule] if rule else []), [str(p) for p in report.errors]
    if rule:
        [problem] = report.errors
        assert problem.path == "Assignment 'campaigns/live/YellowLive'"
        assert org.CENTRAL in problem.message


@pytest.mark.parametrize(("before", "after", "rule"), [m for m in MOVES if m[2]])
def test_guard_rails_also_reported_for_non_owners(
    before: AssignmentStatus | None, after: AssignmentStatus | None, rule: str
) -> None:
    rules = {p.rule for p in check_change(_with(before), _with(after), org.EMEA).errors}
    assert {rule, "ownership/ecosystem"} <= rules


def test_documentation_only_edit_is_allowed_for_central() -> None:
    base = _with(PD)
    proposal = _with(PD)
    proposal[1].assignments[0].documentation = "serves the campaign dashboards"
    assert check_change(base, proposal, org.CENTRAL).may_merge
    assert not check_change(base, proposal, org.MARKETING).may_merge


def test_dsg_migrates_between_platforms_with_both_serving_it() -> None:
    """YellowLive -> YellowForensic: add, provision, decommission the old, remove it."""
    stages: list[list[tuple[str, AssignmentStatus]]] = [
        [("YellowLive", PD)],
        [("YellowLive", PD), ("YellowForensic", P)],
        [("YellowLive", PD), ("YellowForensic", PD)],
        [("YellowLive", DG), ("YellowForensic", PD)],
        [("YellowLive", DD), ("YellowForensic", PD)],
        [("YellowForensic", PD)],
    ]

    def model(stage: list[tuple[str, AssignmentStatus]]) -> org.Model:
        eco, assignments = org.edit()
        assignments.assignments = [DSGPlatformAssignment("campaigns", "live", p, s) for p, s in stage]
        return eco, assignments

    for before, after in itertools.pairwise(stages):
        report = check_change(model(before), model(after), org.CENTRAL)
        assert report.may_merge, (before, after, [str(p) for p in report.errors])
    # Skipping the overlap (dropping the old platform while the new one is only provisioning) fails.
    skip = check_change(model(stages[1]), model([("YellowForensic", P)]), org.CENTRAL)
    assert [p.rule for p in skip.errors] == ["assignment/removed-before-decommissioned"]
