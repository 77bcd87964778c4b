"""A datastore: a producer's set of datasets and how they are captured."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasurface.model.dataset import Dataset
from datasurface.model.ingestion import (
    CaptureMetaData,
    DataTransformerOutput,
    IngestionConsistency,
    SQLSnapshotIngestion,
)
from datasurface.model.lifecycle import DeprecationStatus, ProductionStatus


@dataclass(slots=True)
class Datastore:
    name: str
    datasets: list[Dataset] = field(default_factory=list)
    capture: CaptureMetaData | None = None
    production_status: ProductionStatus = ProductionStatus.NOT_PRODUCTION
    deprecation: DeprecationStatus = DeprecationStatus.NOT_DEPRECATED
    documentation: str = ""

    def dataset(self, name: str) -> Dataset | None:
        for ds in self.datasets:
            if ds.name == name:
                return ds
        return None

    def is_multi_dataset(self) -> bool:
        """Multi-dataset stores are one stream; a transformer's outputs always commit together."""
        capture = self.capture
        if isinstance(capture, DataTransformerOutput):
            return True
        return isinstance(capture, SQLSnapshotIngestion) and capture.consistency is IngestionConsistency.MULTI_DATASET
