"""Deterministic row ids: `c000001` for customers, `a000001` for addresses.

A sequence continues after the highest id already in the table, so a restarted simulator
never collides with its earlier rows. Ids that do not follow the pattern (rows added by
hand) are left alone and do not move the sequence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

CUSTOMER_PREFIX = "c"
ADDRESS_PREFIX = "a"
_WIDTH = 6  # grows past 999999 by itself: the number is parsed, never compared as text


class IdSequence:
    def __init__(self, prefix: str, last: int = 0) -> None:
        self.prefix = prefix
        self._pattern = re.compile(rf"{re.escape(prefix)}(\d+)")
        self._last = last

    def next(self) -> str:
        self._last += 1
        return f"{self.prefix}{self._last:0{_WIDTH}d}"

    def parse(self, value: str) -> int | None:
        match = self._pattern.fullmatch(value)
        return int(match.group(1)) if match else None

    def continue_after(self, existing: Iterable[str]) -> None:
        """Move past every id of this sequence in `existing` (never backwards)."""
        for value in existing:
            number = self.parse(value)
            if number is not None and number > self._last:
                self._last = number
