"""Capture metadata: how a datastore's data is captured from its source."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from datasurface.model.containers import SQLDatabase
from datasurface.model.credential import Credential
from datasurface.model.triggers import ExternallyTriggered, Trigger


class IngestionConsistency(StrEnum):
    """SINGLE_DATASET: each dataset is its own stream. MULTI_DATASET: all datasets of the
    store are ingested and committed together, in one batch."""

    SINGLE_DATASET = "single_dataset"
    MULTI_DATASET = "multi_dataset"


@dataclass(slots=True)
class CaptureMetaData:
    """Base of capture metadata. Every kind says when a new batch starts."""

    def batch_trigger(self) -> Trigger:
        raise NotImplementedError


@dataclass(slots=True)
class SQLSnapshotIngestion(CaptureMetaData):
    """Every batch reads a full snapshot of each dataset's source table.

    `table_names` maps a dataset name to its source table when the two differ.
    """

    source: SQLDatabase
    credential: Credential
    trigger: Trigger = field(default_factory=ExternallyTriggered)
    consistency: IngestionConsistency = IngestionConsistency.MULTI_DATASET
    table_names: dict[str, str] = field(default_factory=dict)

    def batch_trigger(self) -> Trigger:
        return self.trigger

    def source_table(self, dataset_name: str) -> str:
        return self.table_names.get(dataset_name, dataset_name)


@dataclass(slots=True)
class DataTransformerOutput(CaptureMetaData):
    """The store is written by the DataTransformer of workspace `workspace` (same team).

    Its datasets are the transformer's output tables; the platform ingests them like a
    multi-dataset snapshot each time the transformer commits, so there is no trigger of its own.
    """

    workspace: str

    def batch_trigger(self) -> Trigger:
        return ExternallyTriggered()
