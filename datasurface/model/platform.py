"""Data platforms: what builds and runs the pipelines for the DSGs assigned to it."""

from __future__ import annotations

from dataclasses import dataclass

from datasurface.model.problems import ProblemList
from datasurface.model.workspace import DatasetGroup, Milestoning, Workspace


@dataclass(slots=True)
class DataPlatform:
    """Base of data platforms. Subclasses say what they can serve and lint what is assigned."""

    name: str
    documentation: str = ""

    def supported_milestoning(self) -> frozenset[Milestoning]:
        return frozenset(Milestoning)

    def lint_platform(self, path: str, problems: ProblemList) -> None:
        """Platform-specific checks of the platform's own settings."""

    def lint_assignment(self, workspace: Workspace, dsg: DatasetGroup, path: str, problems: ProblemList) -> None:
        """Called for every DSG assigned to this platform; platforms add their own rules."""
        if dsg.milestoning not in self.supported_milestoning():
            supported = ", ".join(sorted(m.name for m in self.supported_milestoning()))
            problems.error(
                "platform-cannot-serve",
                path,
                f"platform '{self.name}' cannot serve a {dsg.milestoning.name} DSG (it serves {supported})",
                "assign the DSG to a platform that supports its milestoning, or change the DSG",
            )
