"""Who owns what: decided on the BASE model's declarations.

The proposal can't grant its author any right: if it edits a declaration, that edit is itself
a change owned by the declaring level (ecosystem for zones, zone for teams) and is checked on
the base. Only a zone or team that the base does not declare at all falls back to the
proposal's declaration, and adding that declaration is again a change its declaring level
must be allowed to make. So a repository can fill a body only if the (base, or newly added)
declaration names it: the ecosystem's repository can declare zone 'emea' for
`acme/emea` but can't also write zone 'emea''s body in the same change.
"""

from __future__ import annotations

from dataclasses import dataclass

from datasurface.model.changes.report import proposer_label
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.repository import Repository


def repo_label(repo: Repository) -> str:
    return f"{repo.full_name()} (branch {repo.branch_name()})"


@dataclass(frozen=True, slots=True)
class Proposer:
    """Where the pull request comes from. `branch=None`: any branch of `repo`."""

    repo: str
    branch: str | None = None

    def is_(self, repo: Repository | None) -> bool:
        return repo is not None and repo.matches(self.repo, self.branch)

    def label(self) -> str:
        return proposer_label(self.repo, self.branch)


@dataclass(frozen=True, slots=True)
class Owner:
    """The level that alone may change an object: the ecosystem, a zone or a team.

    `repo` is None when nothing declares the object; `declarer` then names who must declare it.
    """

    kind: str
    name: str
    repo: Repository | None
    declarer: str = ""

    def label(self) -> str:
        if self.repo is None:
            return f"no repository until {self.declarer} declares {self.kind} '{self.name}'"
        return f"{self.repo.full_name()} (branch {self.repo.branch_name()}; owns {self.kind} '{self.name}')"

    def short(self) -> str:
        return repo_label(self.repo) if self.repo is not None else f"undeclared (ask {self.declarer})"


class Owners:
    def __init__(self, base: Ecosystem, proposed: Ecosystem) -> None:
        self.base = base
        self.proposed = proposed

    def ecosystem(self) -> Owner:
        return Owner("ecosystem", self.base.name, self.base.owning_repo)

    def zone(self, name: str) -> Owner:
        for eco in (self.base, self.proposed):
            decl = eco.zone_declaration(name)
            if decl is not None:
                return Owner("zone", name, decl.owning_repo)
        return Owner("zone", name, None, self.ecosystem().label())

    def team(self, zone: str, team: str) -> Owner:
        for eco in (self.base, self.proposed):
            body = eco.zone(zone)
            decl = body.team_declaration(team) if body is not None else None
            if decl is not None:
                return Owner("team", team, decl.owning_repo)
        return Owner("team", team, None, self.zone(zone).label())

    def team_anywhere(self, team: str) -> Owner:
        """By team name alone (team names are unique across the ecosystem)."""
        for eco in (self.base, self.proposed):
            for zone in eco.zones:
                if zone.team_declaration(team) is not None:
                    return self.team(zone.name, team)
        return Owner("team", team, None, "its zone's repository")

    def known(self) -> list[Repository]:
        """Every repository the base model declares as an owner."""
        repos = [self.base.owning_repo]
        repos += [d.owning_repo for d in self.base.zone_declarations]
        repos += [t.owning_repo for z in self.base.zones for t in z.team_declarations]
        return repos

    def roles_of(self, proposer: Proposer) -> list[str]:
        """What the proposer owns in the base model, for the report."""
        roles: list[str] = []
        if proposer.is_(self.base.owning_repo):
            roles.append(f"ecosystem '{self.base.name}'")
        roles += [f"zone '{d.name}'" for d in self.base.zone_declarations if proposer.is_(d.owning_repo)]
        for zone in self.base.zones:
            roles += [f"team '{t.name}'" for t in zone.team_declarations if proposer.is_(t.owning_repo)]
        return roles
