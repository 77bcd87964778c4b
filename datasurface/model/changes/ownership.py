"""Ownership: every added, removed or changed object must belong to the proposing repository.

Objects are compared one by one, keyed by name, with `==` (model classes are dataclasses,
so `==` compares every attribute): reordering a list is not a change, editing any attribute
is. Owners come from the base model's declarations (see `owners.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from datasurface.model.assignments import PlatformAssignments
from datasurface.model.changes.owners import Owner, Owners, Proposer, repo_label
from datasurface.model.changes.report import Action, ChangeProblem, ChangeReport, ObjectChange, Section
from datasurface.model.dataset import Dataset
from datasurface.model.datastore import Datastore
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.problems import Severity, path_of
from datasurface.model.team import Team
from datasurface.model.workspace import DatasetGroup, Workspace
from datasurface.model.zone import GovernanceZone

T = TypeVar("T")

#: Why each level's objects belong to its repository (the rule as printed in messages).
RULES: dict[str, str] = {
    "ecosystem": "the ecosystem's top level (name, repositories, zone declarations, platforms, documentation, "
    "dsg_platform_mapping.json) belongs to the ecosystem's repository",
    "zone": "a zone's body (policies, team declarations, documentation) belongs to the zone's repository",
    "team": "a team's body (datastores, workspaces, containers, documentation) belongs to the team's repository",
}


class _Recorder:
    def __init__(self, report: ChangeReport, proposer: Proposer) -> None:
        self.report = report
        self.proposer = proposer

    def record(self, path: str, action: Action, what: str, owner: Owner) -> None:
        allowed = self.proposer.is_(owner.repo)
        self.report.changes.append(ObjectChange(path, action, what, owner.short(), allowed))
        if allowed:
            return
        if owner.repo is None:
            rule = "ownership/undeclared"
            reason = f"{owner.kind} '{owner.name}' is not declared, so no repository may define it"
            hint = f"ask {owner.declarer} to declare {owner.kind} '{owner.name}' first"
        else:
            rule = f"ownership/{owner.kind}"
            reason = RULES[owner.kind]
            hint = f"open this pull request from {repo_label(owner.repo)}"
        self.report.problems.append(
            ChangeProblem(
                Section.OWNERSHIP,
                Severity.ERROR,
                rule,
                path,
                f"{what} {action.value} by {self.proposer.label()}: not allowed, {reason}; "
                f"only {owner.label()} may make this change",
                owner.short(),
                hint,
            )
        )


def check_ownership(
    base: Ecosystem,
    base_assignments: PlatformAssignments,
    proposed: Ecosystem,
    proposed_assignments: PlatformAssignments,
    proposer: Proposer,
    report: ChangeReport,
) -> None:
    owners = Owners(base, proposed)
    rec = _Recorder(report, proposer)
    _check_known(owners, proposer, report)
    _top_level(base, base_assignments, proposed, proposed_assignments, owners, rec)
    for name, old_zone, new_zone in _pair(base.zones, proposed.zones, lambda z: z.name):
        _zone_body(name, old_zone, new_zone, owners.zone(name), rec)
    base_teams = {(z.name, t.name): t for z in base.zones for t in z.teams}
    new_teams = {(z.name, t.name): t for z in proposed.zones for t in z.teams}
    homes = _StoreHomes(
        {name: e.team.name for name, e in base.stores().items()},
        {name: e.team.name for name, e in proposed.stores().items()},
    )
    for key in sorted(base_teams.keys() | new_teams.keys()):
        zone, team = key
        _team_body(team, base_teams.get(key), new_teams.get(key), owners.team(zone, team), homes, rec)


def _check_known(owners: Owners, proposer: Proposer, report: ChangeReport) -> None:
    if any(proposer.is_(repo) for repo in owners.known()):
        return
    eco = owners.ecosystem()
    report.problems.append(
        ChangeProblem(
            Section.OWNERSHIP,
            Severity.ERROR,
            "ownership/unknown-repository",
            path_of(("Ecosystem", owners.base.name)),
            f"{proposer.label()} is not declared anywhere in the base model, so it may change nothing; "
            f"only declared repositories may propose changes, and only {eco.label()} may declare new zones "
            "(zones declare teams)",
            eco.short(),
            "open the pull request from the repository that owns what you change",
        )
    )


def _top_level(
    base: Ecosystem,
    base_a: PlatformAssignments,
    new: Ecosystem,
    new_a: PlatformAssignments,
    owners: Owners,
    rec: _Recorder,
) -> None:
    owner = owners.ecosystem()
    eco_path = path_of(("Ecosystem", base.name))
    for field_name in _changed_fields(base, new, exclude={"zones", "zone_declarations", "platforms"}):
        rec.record(eco_path, Action.CHANGED, f"the ecosystem's {field_name}", owner)
    for name, old_decl, new_decl in _pair(base.zone_declarations, new.zone_declarations, lambda d: d.name):
        action = _action(old_decl, new_decl)
        if action is not None:
            rec.record(path_of(("Ecosystem", base.name), ("Zone", name)), action, "zone declaration", owner)
    for name, old_p, new_p in _pair(base.platforms, new.platforms, lambda p: p.name):
        action = _action(old_p, new_p)
        if action is not None:
            rec.record(path_of(("Platform", name)), action, "data platform", owner)
    for key, old_asg, new_asg in _pair(base_a.assignments, new_a.assignments, lambda a: "/".join(a.key())):
        action = _action(old_asg, new_asg)
        if action is not None:
            rec.record(path_of(("Assignment", key)), action, "DSG platform assignment", owner)


def _zone_body(name: str, old: GovernanceZone | None, new: GovernanceZone | None, owner: Owner, rec: _Recorder) -> None:
    zpath = path_of(("Zone", name))
    if old is None or new is None:
        rec.record(zpath, Action.ADDED if old is None else Action.REMOVED, "zone", owner)
        return
    for field_name in _changed_fields(old, new, exclude={"name", "teams", "team_declarations"}):
        rec.record(zpath, Action.CHANGED, f"zone {field_name}", owner)
    for team, old_decl, new_decl in _pair(old.team_declarations, new.team_declarations, lambda d: d.name):
        action = _action(old_decl, new_decl)
        if action is not None:
            rec.record(path_of(("Zone", name), ("Team", team)), action, "team declaration", owner)


def _team_body(
    name: str,
    old: Team | None,
    new: Team | None,
    owner: Owner,
    homes: _StoreHomes,
    rec: _Recorder,
) -> None:
    tpath = path_of(("Team", name))
    if old is None or new is None:
        rec.record(tpath, Action.ADDED if old is None else Action.REMOVED, "team", owner)
        old = old or Team(name)
        new = new or Team(name)
        # Still list what the team brings or takes, so a moved datastore is named below.
    for field_name in _changed_fields(old, new, exclude={"name", "datastores", "workspaces", "containers"}):
        rec.record(tpath, Action.CHANGED, f"team {field_name}", owner)
    for store, old_s, new_s in _pair(old.datastores, new.datastores, lambda s: s.name):
        _datastore(f"{tpath} / Datastore '{store}'", name, old_s, new_s, owner, homes, rec)
    for ws, old_w, new_w in _pair(old.workspaces, new.workspaces, lambda w: w.name):
        _workspace(f"{tpath} / Workspace '{ws}'", old_w, new_w, owner, rec)
    for container, old_c, new_c in _pair(old.containers, new.containers, lambda c: c.name):
        action = _action(old_c, new_c)
        if action is not None:
            rec.record(f"{tpath} / Container '{container}'", action, "data container", owner)


def _datastore(
    spath: str,
    team: str,
    old: Datastore | None,
    new: Datastore | None,
    owner: Owner,
    homes: _StoreHomes,
    rec: _Recorder,
) -> None:
    if old is None or new is None:
        rec.record(spath, Action.ADDED if old is None else Action.REMOVED, _store_what(team, old, new, homes), owner)
        return
    for field_name in _changed_fields(old, new, exclude={"name", "datasets"}):
        rec.record(spath, Action.CHANGED, f"datastore {field_name}", owner)
    for ds, old_d, new_d in _pair(old.datasets, new.datasets, lambda d: d.name):
        action = _action(_sorted_columns(old_d), _sorted_columns(new_d))
        if action is not None:
            rec.record(f"{spath} / Dataset '{ds}'", action, "dataset", owner)


def _workspace(wpath: str, old: Workspace | None, new: Workspace | None, owner: Owner, rec: _Recorder) -> None:
    if old is None or new is None:
        rec.record(wpath, Action.ADDED if old is None else Action.REMOVED, "workspace", owner)
        return
    for field_name in _changed_fields(old, new, exclude={"name", "dsgs"}):
        rec.record(wpath, Action.CHANGED, f"workspace {field_name}", owner)
    for dsg, old_g, new_g in _pair(old.dsgs, new.dsgs, lambda g: g.name):
        action = _action(_sorted_sinks(old_g), _sorted_sinks(new_g))
        if action is not None:
            rec.record(f"{wpath} / DSG '{dsg}'", action, "dataset group", owner)


# -- helpers -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _StoreHomes:
    """Which team holds each datastore, before and after: to name a datastore that moves."""

    before: dict[str, str]
    after: dict[str, str]


def _store_what(team: str, old: Datastore | None, new: Datastore | None, homes: _StoreHomes) -> str:
    if new is not None:
        home = homes.before.get(new.name)
        if home is not None and home != team:
            return f"datastore (moved here from team '{home}'; a datastore can't change teams)"
    elif old is not None:
        home = homes.after.get(old.name)
        if home is not None and home != team:
            return f"datastore (moved to team '{home}'; a datastore can't change teams)"
    return "datastore"


def _pair(old: Iterable[T], new: Iterable[T], key: Callable[[T], str]) -> list[tuple[str, T | None, T | None]]:
    """Match two lists by key; order is irrelevant. Duplicated keys: first wins (lint reports them)."""
    before: dict[str, T] = {}
    after: dict[str, T] = {}
    for item in old:
        before.setdefault(key(item), item)
    for item in new:
        after.setdefault(key(item), item)
    return [(k, before.get(k), after.get(k)) for k in sorted(before.keys() | after.keys())]


def _sorted_columns(dataset: Dataset | None) -> Dataset | None:
    """Column order is not part of the contract (consumers select by name); key order is."""
    if dataset is None:
        return None
    schema = replace(dataset.schema, columns=sorted(dataset.schema.columns, key=lambda c: c.name))
    return replace(dataset, schema=schema)


def _sorted_sinks(dsg: DatasetGroup | None) -> DatasetGroup | None:
    if dsg is None:
        return None
    return replace(dsg, sinks=sorted(dsg.sinks, key=lambda s: (s.store, s.dataset)))


def _action(old: object | None, new: object | None) -> Action | None:
    if old is None:
        return Action.ADDED
    if new is None:
        return Action.REMOVED
    return None if old == new else Action.CHANGED


def _changed_fields(old: Any, new: Any, exclude: set[str]) -> list[str]:
    """Names of the dataclass fields (outside `exclude`) whose values differ."""
    return [f.name for f in fields(old) if f.name not in exclude and getattr(old, f.name) != getattr(new, f.name)]
