"""Teams: declared by a governance zone, defined in the team's own repository."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasurface.model.containers import DataContainer
from datasurface.model.datastore import Datastore
from datasurface.model.repository import Repository
from datasurface.model.workspace import Workspace


@dataclass(slots=True)
class TeamDeclaration:
    """The zone says a team exists and which repository alone may change it.

    `files`: patterns of files in the model folder the team owns besides its transformer code
    (`"teams/sales/**"` a folder, `"teams/sales_*.py"` a glob), e.g. modules its part of the
    model is written in. Only the zone, which writes the declaration, can grant them."""

    name: str
    owning_repo: Repository
    files: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Team:
    """A team's body: its datastores (producer side), workspaces (consumer side) and the
    data containers it declares."""

    name: str
    datastores: list[Datastore] = field(default_factory=list)
    workspaces: list[Workspace] = field(default_factory=list)
    containers: list[DataContainer] = field(default_factory=list)
    documentation: str = ""

    def datastore(self, name: str) -> Datastore | None:
        for store in self.datastores:
            if store.name == name:
                return store
        return None

    def workspace(self, name: str) -> Workspace | None:
        for ws in self.workspaces:
            if ws.name == name:
                return ws
        return None
