"""The ecosystem: the root of a model, owned by the central team's repository."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasurface.model.datastore import Datastore
from datasurface.model.platform import DataPlatform
from datasurface.model.repository import Repository
from datasurface.model.team import Team
from datasurface.model.workspace import Workspace
from datasurface.model.zone import GovernanceZone, GovernanceZoneDeclaration


@dataclass(frozen=True, slots=True)
class StoreEntry:
    """Where a datastore sits in the ecosystem."""

    zone: GovernanceZone
    team: Team
    store: Datastore


@dataclass(frozen=True, slots=True)
class WorkspaceEntry:
    zone: GovernanceZone
    team: Team
    workspace: Workspace


@dataclass(slots=True)
class Ecosystem:
    """`owning_repo` alone may change this top level; `live_repo` is where the running model is
    read from (often the same repository, main branch)."""

    name: str
    owning_repo: Repository
    live_repo: Repository | None = None
    zone_declarations: list[GovernanceZoneDeclaration] = field(default_factory=list)
    zones: list[GovernanceZone] = field(default_factory=list)
    platforms: list[DataPlatform] = field(default_factory=list)
    documentation: str = ""

    def zone(self, name: str) -> GovernanceZone | None:
        for zone in self.zones:
            if zone.name == name:
                return zone
        return None

    def zone_declaration(self, name: str) -> GovernanceZoneDeclaration | None:
        for decl in self.zone_declarations:
            if decl.name == name:
                return decl
        return None

    def platform(self, name: str) -> DataPlatform | None:
        for platform in self.platforms:
            if platform.name == name:
                return platform
        return None

    def stores(self) -> dict[str, StoreEntry]:
        """Every datastore by name (first definition wins; lint reports duplicates)."""
        out: dict[str, StoreEntry] = {}
        for zone in self.zones:
            for team in zone.teams:
                for store in team.datastores:
                    out.setdefault(store.name, StoreEntry(zone, team, store))
        return out

    def workspaces(self) -> dict[str, WorkspaceEntry]:
        out: dict[str, WorkspaceEntry] = {}
        for zone in self.zones:
            for team in zone.teams:
                for ws in team.workspaces:
                    out.setdefault(ws.name, WorkspaceEntry(zone, team, ws))
        return out

    def datastore(self, name: str) -> Datastore | None:
        entry = self.stores().get(name)
        return entry.store if entry else None
