"""The explicit allow-list of classes a compiled model may contain, and their fields.

A compiled model (`model.json`) is rebuilt by calling these constructors and nothing else:
a name not listed here is refused, whatever the JSON says. Fields are NOT listed by hand:
they come from each class's dataclass fields and type hints, so a field added to a model
class (say a new keyword of `DDLColumn`) is serialised, validated and rebuilt without any
change here (tests/model/test_manifest_roundtrip.py walks every class to prove it).

Platform classes live outside the model package (the model package must not depend on
them); they are named here by module and class, imported only when the allow-list is built.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import types
import typing
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from datasurface.model.assignments import DSGPlatformAssignment, PlatformAssignments
from datasurface.model.containers import (
    DataContainer,
    DataPlatformManagedDataContainer,
    DB2Database,
    MySQLDatabase,
    OracleDatabase,
    PostgresDatabase,
    SQLDatabase,
    SQLServerDatabase,
)
from datasurface.model.credential import Credential
from datasurface.model.dataset import Dataset
from datasurface.model.datastore import Datastore
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.ingestion import DataTransformerOutput, SQLSnapshotIngestion
from datasurface.model.platform import DataPlatform
from datasurface.model.repository import GitHubRepository, LocalGitRepository
from datasurface.model.schema import (
    BigInt,
    Binary,
    Boolean,
    Char,
    Date,
    DDLColumn,
    DDLTable,
    Decimal,
    Double,
    Float,
    Integer,
    Interval,
    Json,
    SmallInt,
    Text,
    Timestamp,
    VarChar,
)
from datasurface.model.team import Team, TeamDeclaration
from datasurface.model.transformer import CodeReference, DataTransformer
from datasurface.model.triggers import CronTrigger, ExternallyTriggered
from datasurface.model.workspace import DatasetGroup, DatasetSink, Workspace
from datasurface.model.zone import GovernanceZone, GovernanceZoneDeclaration, ZonePolicies

#: The model classes a compiled model may contain (concrete classes only: abstract bases such
#: as DataType, Repository or Trigger have no data and are never rebuilt).
MODEL_CLASSES: tuple[type[Any], ...] = (
    Ecosystem,
    GovernanceZoneDeclaration,
    GovernanceZone,
    ZonePolicies,
    TeamDeclaration,
    Team,
    Datastore,
    Dataset,
    DDLTable,
    DDLColumn,
    SmallInt,
    Integer,
    BigInt,
    Decimal,
    Float,
    Double,
    VarChar,
    Char,
    Text,
    Boolean,
    Date,
    Timestamp,
    Interval,
    Binary,
    Json,
    SQLSnapshotIngestion,
    DataTransformerOutput,
    Credential,
    DataContainer,
    DataPlatformManagedDataContainer,
    SQLDatabase,
    PostgresDatabase,
    MySQLDatabase,
    SQLServerDatabase,
    OracleDatabase,
    DB2Database,
    CronTrigger,
    ExternallyTriggered,
    Workspace,
    DatasetGroup,
    DatasetSink,
    DataTransformer,
    CodeReference,
    GitHubRepository,
    LocalGitRepository,
    DataPlatform,
    PlatformAssignments,
    DSGPlatformAssignment,
)

#: Data platform classes, by "module:Class" (imported when the allow-list is first used).
PLATFORM_CLASSES: tuple[str, ...] = ("datasurface.platforms.yellow.platform:YellowDataPlatform",)

#: Leaf types a field may hold besides model classes, enums, lists, dicts and None.
SCALARS: tuple[type[Any], ...] = (str, int, float, bool, timedelta)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    hint: Any
    required: bool
    #: Inclusive (low, high) bounds of an int field, from the field's `metadata["range"]`.
    bounds: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class ClassSpec:
    cls: type[Any]
    fields: tuple[FieldSpec, ...]

    @property
    def name(self) -> str:
        return self.cls.__name__


def _import_platform(target: str) -> type[Any]:
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, DataPlatform)):
        raise TypeError(f"{target} is not a DataPlatform class")
    return cls


def _spec(cls: type[Any]) -> ClassSpec:
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        bounds = f.metadata.get("range")
        specs.append(FieldSpec(f.name, hints[f.name], required, tuple(bounds) if bounds else None))
    return ClassSpec(cls, tuple(specs))


@lru_cache(maxsize=1)
def allowed() -> dict[str, ClassSpec]:
    """Class name -> spec. Names are unique: the JSON says `"$type": "VarChar"`."""
    classes = [*MODEL_CLASSES, *(_import_platform(t) for t in PLATFORM_CLASSES)]
    out: dict[str, ClassSpec] = {}
    for cls in classes:
        if cls.__name__ in out:
            raise TypeError(f"two allowed classes are named {cls.__name__}")
        out[cls.__name__] = _spec(cls)
    return out


def spec_for(obj: object) -> ClassSpec | None:
    """The spec of `obj`'s exact class, or None when its class is not allowed."""
    spec = allowed().get(type(obj).__name__)
    return spec if spec is not None and spec.cls is type(obj) else None


@lru_cache(maxsize=256)
def subclasses_allowed(base: type[Any]) -> tuple[ClassSpec, ...]:
    """Allowed classes that may stand where `base` is declared."""
    return tuple(s for s in allowed().values() if issubclass(s.cls, base))


def is_model_class(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def is_enum(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, enum.Enum)


def union_arms(hint: Any) -> tuple[Any, ...] | None:
    """The arms of `A | B` / `Optional[A]`, or None when `hint` is no union."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(hint)
    return None
