"""An organisation's history, step by step: each step's author may make it, nobody else may,
and the classic attacks (editing another team's data, zones touching the mapping, hijacking
a declaration, moving a datastore, unknown forks) are rejected naming the rightful owner."""

from __future__ import annotations

import copy

import pytest

from datasurface.model import (
    AssignmentStatus,
    DDLColumn,
    GitHubRepository,
    GovernanceZone,
    GovernanceZoneDeclaration,
    Team,
    TeamDeclaration,
    VarChar,
)
from datasurface.model.changes import ChangeReport, check_change
from tests.governance import org
from tests.governance.org import (
    AMER,
    CENTRAL,
    EMEA,
    FINANCE,
    FORK,
    KNOWN,
    MARKETING,
    SALES,
)

STEPS = sorted(org.AUTHOR)


def rules(report: ChangeReport) -> set[str]:
    return {p.rule for p in report.errors}


def assert_rejected(report: ChangeReport, rule: str, owner_repo: str) -> None:
    assert not report.may_merge
    matching = [p for p in report.errors if p.rule == rule]
    assert matching, f"expected {rule}, got {[str(p) for p in report.errors]}"
    assert any(owner_repo in p.message and owner_repo in p.may_change for p in matching), [str(p) for p in matching]


def assert_ok(report: ChangeReport) -> None:
    assert report.may_merge, [str(p) for p in report.errors]


@pytest.mark.parametrize("step", STEPS)
def test_each_step_passes_from_its_author(step: int) -> None:
    report = check_change(org.model(step - 1), org.model(step), org.AUTHOR[step])
    assert_ok(report)
    assert report.changes and all(c.authorized for c in report.changes)


@pytest.mark.parametrize(("step", "other"), [(s, r) for s in STEPS for r in (*KNOWN, FORK) if r != org.AUTHOR[s]])
def test_each_step_is_rejected_from_any_other_repository(step: int, other: str) -> None:
    report = check_change(org.model(step - 1), org.model(step), other)
    assert_rejected(
        report,
        rules(report).intersection({"ownership/ecosystem", "ownership/zone", "ownership/team"}).pop(),
        org.AUTHOR[step],
    )


def test_lists_reordered_are_not_a_change() -> None:
    eco, assignments = org.edit()
    for zone in eco.zones:
        zone.teams.reverse()
        zone.team_declarations.reverse()
    eco.zone_declarations.reverse()
    eco.platforms.reverse()
    org.dataset(eco, "crm", "customers").schema.columns.reverse()
    report = check_change(org.model(org.LAST), (eco, assignments), FINANCE)
    assert_ok(report)
    assert report.changes == []


# -- a team edits another team's dataset --------------------------------------------------------


def _add_column_to_customers() -> org.Model:
    eco, assignments = org.edit()
    org.dataset(eco, "crm", "customers").schema.columns.append(DDLColumn("segment", VarChar(20)))
    return eco, assignments


def test_owner_team_may_edit_its_dataset() -> None:
    assert_ok(check_change(org.model(org.LAST), _add_column_to_customers(), SALES))


@pytest.mark.parametrize("intruder", [MARKETING, FINANCE, EMEA, CENTRAL])
def test_other_team_zone_or_central_may_not_edit_a_teams_dataset(intruder: str) -> None:
    report = check_change(org.model(org.LAST), _add_column_to_customers(), intruder)
    assert_rejected(report, "ownership/team", SALES)
    [problem] = report.errors
    assert problem.path == "Team 'sales' / Datastore 'crm' / Dataset 'customers'"


def test_team_may_not_edit_zone_policies() -> None:
    eco, assignments = org.edit()
    org.zone(eco, "emea").policies.allowed_platforms = None
    assert_rejected(check_change(org.model(org.LAST), (eco, assignments), SALES), "ownership/zone", EMEA)
    assert_ok(check_change(org.model(org.LAST), (eco, assignments), EMEA))


# -- a zone changes the platform mapping ---------------------------------------------------------


def _decommission() -> org.Model:
    eco, assignments = org.edit()
    assignments.assignments[0].status = AssignmentStatus.DECOMMISSIONING
    return eco, assignments


@pytest.mark.parametrize("intruder", [EMEA, AMER, MARKETING])
def test_only_central_changes_the_platform_mapping(intruder: str) -> None:
    report = check_change(org.model(org.LAST), _decommission(), intruder)
    assert_rejected(report, "ownership/ecosystem", CENTRAL)
    assert report.errors[0].path == "Assignment 'campaigns/live/YellowLive'"
    assert_ok(check_change(org.model(org.LAST), _decommission(), CENTRAL))


def test_zone_may_not_add_a_platform_or_redeclare_itself() -> None:
    eco, assignments = org.edit()
    eco.zone_declarations[0] = GovernanceZoneDeclaration("emea", GitHubRepository("acme/zone-emea-2"))
    report = check_change(org.model(org.LAST), (eco, assignments), EMEA)
    assert_rejected(report, "ownership/ecosystem", CENTRAL)
    assert report.errors[0].path == "Ecosystem 'acme' / Zone 'emea'"


# -- hijack: a team re-points its own declaration ------------------------------------------------


def _repoint_sales(to: str) -> org.Model:
    eco, assignments = org.edit()
    zone = org.zone(eco, "emea")
    zone.team_declarations = [
        TeamDeclaration("sales", org.gh(to)) if d.name == "sales" else d for d in zone.team_declarations
    ]
    return eco, assignments


@pytest.mark.parametrize("new_owner", ["acme/sales-team-v2", MARKETING, SALES.upper()])
def test_team_may_not_repoint_its_own_declaration(new_owner: str) -> None:
    report = check_change(org.model(org.LAST), _repoint_sales(new_owner), SALES)
    assert_rejected(report, "ownership/zone", EMEA)
    assert report.errors[0].path == "Zone 'emea' / Team 'sales'"


def test_hijack_and_edit_in_one_change_is_judged_on_the_base_declaration() -> None:
    eco, assignments = _repoint_sales(MARKETING)
    org.dataset(eco, "crm", "customers").documentation = "mine now"
    report = check_change(org.model(org.LAST), (eco, assignments), MARKETING)
    assert_rejected(report, "ownership/zone", EMEA)
    assert_rejected(report, "ownership/team", SALES)


def test_zone_may_hand_a_team_to_another_repository_then_the_new_owner_edits() -> None:
    handed_over = _repoint_sales("acme/sales-team-v2")
    assert_ok(check_change(org.model(org.LAST), handed_over, EMEA))
    eco, assignments = org.edit()
    eco.zones[0].team_declarations = handed_over[0].zones[0].team_declarations
    org.dataset(eco, "crm", "customers").documentation = "new owner"
    assert_ok(check_change(handed_over, (eco, assignments), "acme/sales-team-v2"))
    assert_rejected(check_change(handed_over, (eco, assignments), SALES), "ownership/team", "acme/sales-team-v2")


# -- a team moves a datastore to another team ----------------------------------------------------


def _move_crm_to_marketing() -> org.Model:
    eco, assignments = org.edit()
    store = org.team(eco, "sales").datastores.pop()
    org.team(eco, "marketing").datastores.append(store)
    return eco, assignments


@pytest.mark.parametrize(("mover", "victim"), [(SALES, MARKETING), (MARKETING, SALES), (EMEA, SALES)])
def test_moving_a_datastore_between_teams_is_rejected(mover: str, victim: str) -> None:
    report = check_change(org.model(org.LAST), _move_crm_to_marketing(), mover)
    assert_rejected(report, "ownership/team", victim)
    assert any("moved" in p.message for p in report.errors)


# -- an unknown fork changes anything ------------------------------------------------------------


@pytest.mark.parametrize("change", ["none", "dataset", "mapping", "zone"])
def test_unknown_fork_is_rejected_outright(change: str) -> None:
    proposal = {
        "none": org.edit(),
        "dataset": _add_column_to_customers(),
        "mapping": _decommission(),
        "zone": _repoint_sales(FORK),
    }[change]
    report = check_change(org.model(org.LAST), proposal, FORK)
    assert_rejected(report, "ownership/unknown-repository", CENTRAL)
    assert report.roles == []


# -- repository names: owner/name case-insensitive, branch exact ---------------------------------


@pytest.mark.parametrize("spelling", ["acme/sales-team", "ACME/SALES-TEAM", "Acme/Sales-Team", " acme/sales-team "])
def test_repository_name_case_is_ignored(spelling: str) -> None:
    assert_ok(check_change(org.model(org.LAST), _add_column_to_customers(), spelling))


@pytest.mark.parametrize(("branch", "ok"), [(None, True), ("main", True), ("Main", False), ("feature", False)])
def test_branch_is_compared_exactly_when_given(branch: str | None, ok: bool) -> None:
    report = check_change(org.model(org.LAST), _add_column_to_customers(), SALES, branch)
    assert report.may_merge is ok
    if not ok:
        assert "ownership/unknown-repository" in rules(report)


def test_lookalike_repository_names_do_not_match() -> None:
    for lookalike in ["acme/sales-team2", "acme-sales-team", "other/sales-team", "acme/sales"]:
        assert not check_change(org.model(org.LAST), _add_column_to_customers(), lookalike).may_merge


# -- new zones and teams: only the declared repository defines the body --------------------------


def test_central_may_not_fill_a_zone_it_declares_for_someone_else() -> None:
    eco, assignments = org.edit()
    eco.zone_declarations.append(GovernanceZoneDeclaration("apac", org.gh("acme/zone-apac")))
    declared_only = copy.deepcopy((eco, assignments))
    eco.zones.append(GovernanceZone("apac"))
    assert_rejected(check_change(org.model(org.LAST), (eco, assignments), CENTRAL), "ownership/zone", "acme/zone-apac")
    assert_ok(check_change(org.model(org.LAST), declared_only, CENTRAL))
    assert_ok(check_change(declared_only, (eco, assignments), "acme/zone-apac"))


def test_central_may_fill_a_zone_it_declares_for_itself() -> None:
    eco, assignments = org.edit()
    eco.zone_declarations.append(GovernanceZoneDeclaration("ops", org.gh(CENTRAL)))
    eco.zones.append(GovernanceZone("ops"))
    assert_ok(check_change(org.model(org.LAST), (eco, assignments), CENTRAL))


def test_zone_may_not_fill_a_team_it_declares_for_someone_else() -> None:
    eco, assignments = org.edit()
    emea = org.zone(eco, "emea")
    emea.team_declarations.append(TeamDeclaration("support", org.gh("acme/support-team")))
    emea.teams.append(Team("support", documentation="made by the zone"))
    assert_rejected(check_change(org.model(org.LAST), (eco, assignments), EMEA), "ownership/team", "acme/support-team")


def test_undeclared_team_can_not_be_defined_by_anyone() -> None:
    eco, assignments = org.edit()
    org.zone(eco, "emea").teams.append(Team("rogue"))
    report = check_change(org.model(org.LAST), (eco, assignments), SALES)
    assert "ownership/undeclared" in rules(report)
    assert "lint/team-not-declared" in rules(report)
    assert any(EMEA in p.message for p in report.errors if p.rule == "ownership/undeclared")


# -- the proposal must lint clean ------------------------------------------------------------------


def test_lint_errors_block_and_name_the_fixing_repository() -> None:
    eco, assignments = org.edit()
    org.dataset(eco, "crm", "orders").schema.primary_key = []
    report = check_change(org.model(org.LAST), (eco, assignments), SALES)
    assert "lint/no-primary-key" in rules(report)
    lint = [p for p in report.errors if p.rule == "lint/no-primary-key"]
    assert SALES in lint[0].message and lint[0].path == "Team 'sales' / Datastore 'crm' / Dataset 'orders'"


def test_zone_removing_a_used_team_is_rejected_for_the_team_and_the_consumers() -> None:
    eco, assignments = org.edit()
    org.zone(eco, "emea").teams = [t for t in org.zone(eco, "emea").teams if t.name != "sales"]
    report = check_change(org.model(org.LAST), (eco, assignments), EMEA)
    assert_rejected(report, "ownership/team", SALES)
    assert "compat/removed-while-used" in rules(report)
    assert "lint/sink-unknown-store" in rules(report)


def test_amer_zone_owner_is_known() -> None:
    report = check_change(org.model(org.LAST), org.edit(), AMER)
    assert_ok(report)
    assert report.roles == ["zone 'amer'"]
