"""A dataset: one table of a datastore, with its schema."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from datasurface.model.lifecycle import DeprecationStatus
from datasurface.model.schema import DDLTable


class DataClassification(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    PII = "pii"


@dataclass(slots=True)
class Dataset:
    name: str
    schema: DDLTable
    classification: DataClassification | None = None
    deprecation: DeprecationStatus = DeprecationStatus.NOT_DEPRECATED
    documentation: str = ""
