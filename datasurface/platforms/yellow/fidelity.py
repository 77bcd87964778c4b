"""Value fidelity: a value is staged only if it is exactly the source's value in the model's type.

An explicit SQL cast silently changes values that don't fit: ``CAST(v AS varchar(20))``
truncates, ``CAST(v AS numeric(10,2))`` and ``CAST(v AS integer)`` of a numeric round,
``CAST(v AS timestamp)`` of a ``timestamptz`` drops the zone. Staging such a value would
publish (and keep in forensic history) a value the source never held. So every column whose
source type can hold values the model type can't gets a *fit check*, a boolean SQL
expression over the value, and the staged expression becomes::

    CASE WHEN v IS NULL OR <fits> THEN CAST(v AS <model type>) ELSE <error> END

`<error>` casts the marker text ``ds_surf_unfit:<column index>`` to integer, which makes the
server abort the statement with that marker in the message (no value in it: values may be
customer data). A row-dependent ``repeat('', ...)`` keeps the planner from folding the
branch into a constant and raising it at plan time. The caller then finds an example key
with `ColumnConversion.unfit_sql` and raises `ValueFidelityError`.

Only columns whose source type differs from the model's are checked (a type read from the
source catalog); a column of the same type is copied as it is, with no cast: the steady
batch pays nothing. The MariaDB (fetch) path loads values into wide Postgres types first
(`wide_type`: numeric, text) and converts with the same expressions.

A column with ``allow_lossy=True`` in the model opts out: it is cast as before (truncated,
rounded); lint warns about every such column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from datasurface.errors import DataSurfaceError
from datasurface.model.schema import (
    BigInt,
    Char,
    DataType,
    Date,
    DDLColumn,
    Decimal,
    Double,
    Float,
    Integer,
    SmallInt,
    Text,
    Timestamp,
    VarChar,
)

from .projection import pg_type

__all__ = [
    "UNFIT_MARKER",
    "ColumnConversion",
    "ValueFidelityError",
    "conversion",
    "unfit_column",
    "wide_type",
]

UNFIT_MARKER = "ds_surf_unfit:"
_UNFIT_RE = re.compile(re.escape(UNFIT_MARKER) + r"(\d+)")

_INT_RANGE = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
_INT_RANK = {"smallint": 1, "integer": 2, "bigint": 3}
_INT_DIGITS = {"smallint": 5, "integer": 10, "bigint": 19}
_NUMERIC = re.compile(r"numeric(?:\((\d+),(\d+)\))?\Z")
_STRING = re.compile(r"(character varying|character|varchar|char|bpchar|text)(?:\((\d+)\))?\Z")
_FLOATS = ("real", "double precision")


class ValueFidelityError(DataSurfaceError):
    """A source value does not fit its model type exactly; nothing of the batch was merged."""

    def __init__(
        self, column: str, source_type: str, model_type: DataType, reason: str, key: dict[str, Any] | None
    ) -> None:
        self.column = column
        self.source_type = source_type
        self.model_type = model_type
        self.key = key
        at = ", ".join(f"{k}={v!r}" for k, v in key.items()) if key else "an unknown key"
        super().__init__(
            f"column '{column}': a value of source type {source_type} does not fit model type "
            f"{model_type.sql()} ({reason}), e.g. at key {at}. Fix the source value, widen the model type, "
            f"or set allow_lossy=True on the column to accept the conversion"
        )


def _int_check(v: str, target: str, source: str) -> str | None:
    lo, hi = _INT_RANGE[target]
    if source in _INT_RANK:
        return None if _INT_RANK[source] <= _INT_RANK[target] else f"{v} BETWEEN {lo} AND {hi}"
    if _NUMERIC.match(source) or source in _FLOATS:
        # NaN = trunc(NaN) is true in Postgres, but NaN sorts above every number: out of range.
        return f"({v} = trunc({v}) AND {v} BETWEEN {lo} AND {hi})"
    return None  # text and others: the cast itself errors on anything that isn't a whole number in range


def _decimal_check(v: str, precision: int, scale: int, source: str) -> str | None:
    whole = precision - scale
    bound = "1" + "0" * whole
    in_range = f"{v} > -{bound} AND {v} < {bound}"
    if source in _INT_DIGITS:
        return None if _INT_DIGITS[source] <= whole else in_range
    if m := _NUMERIC.match(source):
        if m[1] is not None and int(m[2]) <= scale and int(m[1]) - int(m[2]) <= whole:
            return None
        return f"({v} = round({v}, {scale}) AND {in_range})"
    if source in _FLOATS or _STRING.match(source):
        n = f"CAST({v} AS numeric)"
        return f"({n} = round({n}, {scale}) AND {n} > -{bound} AND {n} < {bound})"
    return None


def _string_check(v: str, length: int, source: str) -> str | None:
    if m := _STRING.match(source):
        if m[1] != "text" and m[2] is not None and int(m[2]) <= length:
            return None
        return f"char_length({v}) <= {length}"
    return f"char_length(CAST({v} AS text)) <= {length}"


def _float_check(v: str, target: str, source: str) -> str | None:
    if source == target or (target == "double precision" and source in ("real", "smallint", "integer")):
        return None
    if source == "smallint" and target == "real":
        return None
    if not (source in _INT_RANK or source in _FLOATS or _NUMERIC.match(source) or _STRING.match(source)):
        return None
    # The shortest decimal that reads back as the stored float (extra_float_digits >= 1,
    # pinned by the hash settings) must be the source's number ...
    decimal = f"CAST(CAST(CAST({v} AS {target}) AS text) AS numeric) = CAST({v} AS numeric)"
    if target == "double precision":
        return decimal
    # ... or, for real, the source holds a real's exact binary value widened to double (how
    # a driver hands a float4 over as a Python float).
    return f"({decimal} OR CAST(CAST({v} AS real) AS double precision) = CAST({v} AS double precision))"


def _check(v: str, model: DataType, source: str) -> tuple[str | None, str]:
    """(fit check over `v` or None when every value converts exactly, what a misfit means)."""
    target = pg_type(model)
    match model:
        case SmallInt() | Integer() | BigInt():
            return _int_check(v, target, source), f"not a whole number in the range of {target}"
        case Decimal(precision=p, scale=s):
            return _decimal_check(v, p, s, source), f"more than {s} decimal places or {p - s} integer digits"
        case VarChar(length=n) | Char(length=n):
            return _string_check(v, n, source), f"longer than {n} characters"
        case Float() | Double():
            return _float_check(v, target, source), f"not exactly representable as {target}"
        case Date():
            if source.startswith("timestamp"):
                return f"CAST({v} AS date) = {v}", "it has a time of day"
            if _STRING.match(source):
                ts = f"CAST({v} AS timestamp)"
                return f"CAST({ts} AS date) = {ts}", "it has a time of day"
        case Timestamp(with_time_zone=False):
            if source.startswith("timestamp") and source.endswith("with time zone"):
                return "false", "the model's timestamp type would drop its time zone"
            if _STRING.match(source):
                return (
                    f"CAST({v} AS timestamp with time zone) = CAST({v} AS timestamp)",
                    "the model's timestamp type would drop its time zone",
                )
        case Text():
            return None, ""
    return None, ""


def wide_type(model: DataType) -> str:
    """The Postgres type a fetched (non-Postgres) value is loaded as before its exact
    conversion: wide enough to hold any value the source could send for that column."""
    match model:
        case SmallInt() | Integer() | BigInt() | Decimal() | Float() | Double():
            return "numeric"
        case VarChar() | Char() | Text() | Date() | Timestamp():
            return "text"
    return pg_type(model)


@dataclass(frozen=True, slots=True)
class ColumnConversion:
    """How one column's source value becomes its model-typed staged value."""

    index: int
    column: DDLColumn
    source_type: str  # format_type spelling of the value as read
    check: str | None  # fit check over the placeholder ``{v}``; None: every value converts exactly
    reason: str

    @property
    def target(self) -> str:
        return pg_type(self.column.type)

    def value_sql(self, v: str) -> str:
        """The staged value of `v` (SQL of the source type) in the model's type."""
        if self.source_type == self.target:
            return v
        cast = f"CAST({v} AS {self.target})"
        if self.check is None:
            return cast
        marker = (
            f"CAST(CAST(CAST('{UNFIT_MARKER}{self.index}' || repeat('', 0 * char_length(CAST({v} AS text)))"
            f" AS integer) AS text) AS {self.target})"
        )
        return f"CASE WHEN {v} IS NULL OR {self.check.format(v=v)} THEN {cast} ELSE {marker} END"

    def unfit_sql(self, v: str) -> str:
        """True for a value that does not fit (for finding an example key)."""
        assert self.check is not None
        return f"({v} IS NOT NULL AND NOT ({self.check.format(v=v)}))"


def conversion(index: int, column: DDLColumn, source_type: str) -> ColumnConversion:
    """The conversion of `column` (position `index`) from a value of `source_type`."""
    source = source_type.strip().lower()
    if column.allow_lossy:
        return ColumnConversion(index, column, source, None, "")
    check, reason = _check("{v}", column.type, source)
    return ColumnConversion(index, column, source, check, reason)


def unfit_column(message: str) -> int | None:
    """The column index of the fit-check marker in a database error message, if there."""
    m = _UNFIT_RE.search(message)
    return int(m[1]) if m else None
