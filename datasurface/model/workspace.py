"""Consumers: workspaces, their dataset groups (DSGs) and sinks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from datasurface.model.containers import DataContainer
from datasurface.model.transformer import DataTransformer


class Milestoning(StrEnum):
    """LIVE_ONLY keeps the current rows; FORENSIC keeps every version (SCD2)."""

    LIVE_ONLY = "live_only"
    FORENSIC = "forensic"


@dataclass(slots=True)
class DatasetSink:
    """One dataset a DSG needs. `allow_deprecated` accepts a deprecated dataset."""

    store: str
    dataset: str
    allow_deprecated: bool = False


@dataclass(slots=True)
class DatasetGroup:
    """A set of sinks with common requirements; a data platform serves a whole DSG."""

    name: str
    sinks: list[DatasetSink] = field(default_factory=list)
    milestoning: Milestoning = Milestoning.LIVE_ONLY
    latency: timedelta = timedelta(minutes=10)


@dataclass(slots=True)
class Workspace:
    name: str
    container: DataContainer | None = None
    dsgs: list[DatasetGroup] = field(default_factory=list)
    transformer: DataTransformer | None = None
    priority: int = 0
    documentation: str = ""

    def dsg(self, name: str) -> DatasetGroup | None:
        for group in self.dsgs:
            if group.name == name:
                return group
        return None
