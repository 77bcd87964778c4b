"""Dataset schemas: column types, columns and tables.

Types are small frozen value objects so that two models can be compared field by field
(change authorization relies on it) and so that the engine can map them to physical types
without string parsing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

#: The longest VARCHAR/CHAR any supported engine stores (PostgreSQL's limit, 10 MiB).
MAX_STRING_LENGTH = 10_485_760
#: The largest DECIMAL precision any supported engine stores (PostgreSQL's limit).
MAX_DECIMAL_PRECISION = 1000


def bounded(low: int, high: int, **kwargs: Any) -> Any:
    """A dataclass field holding an int in [low, high]: lint and the compiled-model validator
    both read the range from the field's metadata, so the DSL states it once."""
    return field(metadata={"range": (low, high)}, **kwargs)


@dataclass(frozen=True, slots=True)
class DataType:
    """Base of every column type. `sql()` is the engine-neutral spelling used in messages."""

    def sql(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class SmallInt(DataType):
    """16-bit signed integer."""

    def sql(self) -> str:
        return "SMALLINT"


@dataclass(frozen=True, slots=True)
class Integer(DataType):
    """32-bit signed integer."""

    def sql(self) -> str:
        return "INTEGER"


@dataclass(frozen=True, slots=True)
class BigInt(DataType):
    """64-bit signed integer."""

    def sql(self) -> str:
        return "BIGINT"


@dataclass(frozen=True, slots=True)
class Decimal(DataType):
    """Exact numeric with `precision` digits, `scale` of them after the point."""

    precision: int = bounded(1, MAX_DECIMAL_PRECISION, default=18)
    scale: int = bounded(0, MAX_DECIMAL_PRECISION, default=0)

    def sql(self) -> str:
        return f"DECIMAL({self.precision}, {self.scale})"


@dataclass(frozen=True, slots=True)
class Float(DataType):
    """32-bit IEEE float."""

    def sql(self) -> str:
        return "REAL"


@dataclass(frozen=True, slots=True)
class Double(DataType):
    """64-bit IEEE float."""

    def sql(self) -> str:
        return "DOUBLE PRECISION"


@dataclass(frozen=True, slots=True)
class VarChar(DataType):
    """Variable-length string of at most `length` characters."""

    length: int = bounded(1, MAX_STRING_LENGTH)

    def sql(self) -> str:
        return f"VARCHAR({self.length})"


@dataclass(frozen=True, slots=True)
class Char(DataType):
    """Fixed-length string of `length` characters."""

    length: int = bounded(1, MAX_STRING_LENGTH)

    def sql(self) -> str:
        return f"CHAR({self.length})"


@dataclass(frozen=True, slots=True)
class Text(DataType):
    """Unbounded string."""

    def sql(self) -> str:
        return "TEXT"


@dataclass(frozen=True, slots=True)
class Boolean(DataType):
    def sql(self) -> str:
        return "BOOLEAN"


@dataclass(frozen=True, slots=True)
class Date(DataType):
    def sql(self) -> str:
        return "DATE"


@dataclass(frozen=True, slots=True)
class Timestamp(DataType):
    """Date and time; `with_time_zone` stores an absolute instant."""

    with_time_zone: bool = False

    def sql(self) -> str:
        return "TIMESTAMP WITH TIME ZONE" if self.with_time_zone else "TIMESTAMP"


@dataclass(frozen=True, slots=True)
class Interval(DataType):
    def sql(self) -> str:
        return "INTERVAL"


@dataclass(frozen=True, slots=True)
class Binary(DataType):
    """Variable-length bytes."""

    def sql(self) -> str:
        return "BINARY"


@dataclass(frozen=True, slots=True)
class Json(DataType):
    def sql(self) -> str:
        return "JSON"


@dataclass(slots=True)
class DDLColumn:
    """One column: its name, type and whether it may hold NULL.

    `allow_lossy`: the platform may convert a source value that doesn't fit `type` exactly
    (truncate a string, round a number, drop a time zone). Off by default: such a value then
    fails its batch, naming the column and an example key, and nothing is merged.
    """

    name: str
    type: DataType
    nullable: bool = True
    allow_lossy: bool = False


@dataclass(slots=True)
class DDLTable:
    """A table schema: ordered columns and the primary key (column names, in key order)."""

    columns: list[DDLColumn]
    primary_key: list[str] = field(default_factory=list)

    def column(self, name: str) -> DDLColumn | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    def column_names(self) -> list[str]:
        return [col.name for col in self.columns]

    def fingerprint(self) -> str:
        """A stable hash of names, types, nullability and key: it changes when the schema does."""
        parts = [
            f"{c.name}:{c.type.sql()}:{'N' if c.nullable else 'NN'}{':LOSSY' if c.allow_lossy else ''}"
            for c in self.columns
        ]
        parts.append("PK:" + ",".join(self.primary_key))
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
