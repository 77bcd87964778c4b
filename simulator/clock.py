"""The simulated clock: every timestamp the simulator writes comes from here, never the wall clock.

Wall-clock values would make two runs with the same seed differ, so time starts at a fixed
epoch (or at the newest timestamp already in the database, so a restarted simulator never
goes back in time) and advances by a random step drawn from the simulator's RNG per change.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

#: Where simulated time starts on an empty database. Naive, meaning UTC (the columns are
#: `timestamp without time zone`).
EPOCH = datetime(2024, 1, 1, 0, 0, 0)

# Between two changes, 1 to 60 simulated seconds pass (whole microseconds: no float drift).
_MIN_STEP_US = 1_000_000
_MAX_STEP_US = 60_000_000


class SimulatedClock:
    def __init__(self, rng: random.Random, start: datetime = EPOCH) -> None:
        self._rng = rng
        self._now = start
        self.started_at = start

    @property
    def now(self) -> datetime:
        return self._now

    def advance(self) -> datetime:
        """Move time forward by one change's step and return the new time."""
        self._now += timedelta(microseconds=self._rng.randrange(_MIN_STEP_US, _MAX_STEP_US + 1))
        return self._now

    def catch_up(self, latest: datetime | None) -> None:
        """Never go back in time behind data already in the database."""
        if latest is not None and latest > self._now:
            self._now = latest
