"""Which column type changes keep a data contract: the one type-widening table.

Two users read it: the change checker (`changes/compatibility.py`) rejects a pull request that
changes a column's type in any other way, and the Yellow engine's schema evolution applies
the same widenings with `ALTER TABLE`. Keeping the table here means the two can never
disagree about what "widen" means.

A widening is a change where every value the old type can hold is held *exactly* by the new
type and means the same there, so existing rows, their row hashes (the Yellow engine hashes a
value identically under both types; its tests check every rule here) and consumers' queries
stay valid. That is why decimal scale must stay the same (12.50 would become 12.5000: another
value in text, and every row hash would change) and why `Timestamp` without -> with time zone is not a widening: the
stored wall-clock values would silently be reinterpreted as instants in some zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from datasurface.model.schema import (
    BigInt,
    Char,
    DataType,
    Decimal,
    Double,
    Float,
    Integer,
    SmallInt,
    Text,
    Timestamp,
    VarChar,
)


class TypeChange(StrEnum):
    SAME = "same"
    WIDENING = "widening"
    #: The reverse change would be a widening: values may no longer fit.
    NARROWING = "narrowing"
    #: Timestamp with/without time zone: same storage, different meaning.
    TIME_ZONE = "time_zone"
    #: Unrelated types (e.g. VARCHAR -> INTEGER).
    INCOMPATIBLE = "incompatible"


@dataclass(frozen=True, slots=True)
class WideningRule:
    """`old` -> `new` is a widening when `applies(old, new)` holds."""

    old: type[DataType]
    new: type[DataType]
    applies: Callable[[DataType, DataType], bool]
    description: str


def _always(_old: DataType, _new: DataType) -> bool:
    return True


def _length_not_shorter(old: DataType, new: DataType) -> bool:
    assert isinstance(old, VarChar | Char) and isinstance(new, VarChar | Char)
    return new.length >= old.length


def _decimal_wider_same_scale(old: DataType, new: DataType) -> bool:
    assert isinstance(old, Decimal) and isinstance(new, Decimal)
    return new.scale == old.scale and new.precision >= old.precision


def _integer_fits_decimal(digits: int) -> Callable[[DataType, DataType], bool]:
    def check(_old: DataType, new: DataType) -> bool:
        assert isinstance(new, Decimal)
        return new.scale == 0 and new.precision >= digits

    return check


#: Every allowed widening. Anything not listed (and not identical) is rejected.
WIDENINGS: tuple[WideningRule, ...] = (
    WideningRule(SmallInt, Integer, _always, "SMALLINT -> INTEGER"),
    WideningRule(SmallInt, BigInt, _always, "SMALLINT -> BIGINT"),
    WideningRule(Integer, BigInt, _always, "INTEGER -> BIGINT"),
    # Integers into exact decimals with enough integer digits (scale 0 keeps the text form).
    WideningRule(SmallInt, Decimal, _integer_fits_decimal(5), "SMALLINT -> DECIMAL(p >= 5, 0)"),
    WideningRule(Integer, Decimal, _integer_fits_decimal(10), "INTEGER -> DECIMAL(p >= 10, 0)"),
    WideningRule(BigInt, Decimal, _integer_fits_decimal(19), "BIGINT -> DECIMAL(p >= 19, 0)"),
    WideningRule(Decimal, Decimal, _decimal_wider_same_scale, "DECIMAL(p, s) -> DECIMAL(q >= p, s)"),
    WideningRule(Float, Double, _always, "REAL -> DOUBLE PRECISION"),
    WideningRule(VarChar, VarChar, _length_not_shorter, "VARCHAR(n) -> VARCHAR(m >= n)"),
    # CHAR's trailing pad is not significant (CHAR values compare and cast to text without it),
    # so a longer CHAR or a long-enough VARCHAR holds the same values.
    WideningRule(Char, Char, _length_not_shorter, "CHAR(n) -> CHAR(m >= n)"),
    WideningRule(Char, VarChar, _length_not_shorter, "CHAR(n) -> VARCHAR(m >= n)"),
    WideningRule(VarChar, Text, _always, "VARCHAR(n) -> TEXT"),
    WideningRule(Char, Text, _always, "CHAR(n) -> TEXT"),
)


def _find_rule(old: DataType, new: DataType) -> WideningRule | None:
    for rule in WIDENINGS:
        if type(old) is rule.old and type(new) is rule.new and rule.applies(old, new):
            return rule
    return None


def classify_type_change(old: DataType, new: DataType) -> TypeChange:
    if old == new:
        return TypeChange.SAME
    if isinstance(old, Timestamp) and isinstance(new, Timestamp):
        return TypeChange.TIME_ZONE
    if _find_rule(old, new) is not None:
        return TypeChange.WIDENING
    if _find_rule(new, old) is not None:
        return TypeChange.NARROWING
    return TypeChange.INCOMPATIBLE


def is_widening(old: DataType, new: DataType) -> bool:
    """True for an allowed change: identical types or a listed widening."""
    return classify_type_change(old, new) in (TypeChange.SAME, TypeChange.WIDENING)


def describe_widenings(old: DataType | None = None) -> list[str]:
    """The table in words (only the rows starting from `old`'s type, when given)."""
    return [rule.description for rule in WIDENINGS if old is None or type(old) is rule.old]
