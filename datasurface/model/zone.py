"""Governance zones: declared by the ecosystem, defined in the zone's own repository."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasurface.model.repository import Repository
from datasurface.model.team import Team, TeamDeclaration


@dataclass(slots=True)
class GovernanceZoneDeclaration:
    """The ecosystem says a zone exists and which repository alone may change its body.

    `files`: patterns of files in the model folder the zone owns (see `TeamDeclaration.files`);
    only the ecosystem, which writes the declaration, can grant them."""

    name: str
    owning_repo: Repository
    files: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ZonePolicies:
    """What the zone's teams may use. `None` allows everything; a list allows only those
    names (data platform names; data container names)."""

    allowed_platforms: list[str] | None = None
    allowed_containers: list[str] | None = None

    def allows_platform(self, name: str) -> bool:
        return self.allowed_platforms is None or name in self.allowed_platforms

    def allows_container(self, name: str) -> bool:
        return self.allowed_containers is None or name in self.allowed_containers


@dataclass(slots=True)
class GovernanceZone:
    name: str
    team_declarations: list[TeamDeclaration] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)
    policies: ZonePolicies = field(default_factory=ZonePolicies)
    documentation: str = ""

    def team(self, name: str) -> Team | None:
        for team in self.teams:
            if team.name == name:
                return team
        return None

    def team_declaration(self, name: str) -> TeamDeclaration | None:
        for decl in self.team_declarations:
            if decl.name == name:
                return decl
        return None
