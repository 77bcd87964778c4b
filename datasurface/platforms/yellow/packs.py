"""Stream packs: which streams share one DAG and one `job run-pack` process, and when each
member of a pack is due.

Why packs: a stream's job spends about 0.75 s starting (interpreter, imports, model load)
before its first SQL statement, and a 10-row batch takes 0.9 s where the SQL alone takes
0.03-0.06 s; one DAG per stream also stops scaling in Airflow long before 100,000 streams.
A pack pays the start-up once for all of its members and gives Airflow one DAG per pack.

Assignment (pure, deterministic, no state kept anywhere):

- Streams named in `dedicated_streams`, and streams a transformer feeds (their DAG is
  triggered by the transformer's), keep a DAG of their own.
- The others go into P = ceil(n / pack_size) packs. Each stream's preferred pack is the
  jump consistent hash (Lamping & Veach, 2014) of a SHA-256 of its name over P buckets: when
  P grows to P+1, only about 1/(P+1) of the streams change pack, so adding streams moves
  few others. A full pack sends the stream on to the next pack with room (in pack order,
  wrapping around), so no pack ever holds more than pack_size streams; streams are placed
  in name order, so the same set of names always gives the same packs.

Packs are scheduling only: each member keeps its own advisory lock, batch, checkpoints and
KEEP_WORKING budget in the merge database, so a stream can move between packs (or out of
one) at any time without losing or repeating work.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from croniter import croniter

#: DAG ids and row keys of packs: `pack:<key>`; keys are `pack0000`, `pack0001`, ...
PACK_KEY_PREFIX = "pack"


@dataclass(frozen=True, slots=True)
class PackPlan:
    """Pack key -> its member streams (sorted), and the streams with a DAG of their own."""

    packs: dict[str, list[str]]
    dedicated: list[str]

    def pack_of(self) -> dict[str, str]:
        return {stream: key for key, members in self.packs.items() for stream in members}


def stable_hash(name: str) -> int:
    """64 bits of SHA-256: the same on every machine and Python run (unlike `hash()`)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")


def jump_hash(key: int, buckets: int) -> int:
    """Jump consistent hash: a bucket in [0, buckets) that changes for only ~1/(n+1) of the
    keys when the bucket count grows from n to n+1."""
    if buckets <= 0:
        raise ValueError("buckets must be positive")
    b, j = -1, 0
    key &= 0xFFFFFFFFFFFFFFFF
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
        j = int((b + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return b


def pack_key(index: int, count: int) -> str:
    width = max(4, len(str(max(count - 1, 0))))
    return f"{PACK_KEY_PREFIX}{index:0{width}d}"


def assign_packs(streams: Iterable[str], pack_size: int, dedicated: Iterable[str] = ()) -> PackPlan:
    """Group `streams` into packs of at most `pack_size` (0: no packs, all dedicated)."""
    names = sorted(set(streams))
    own = set(dedicated)
    if pack_size <= 0:
        return PackPlan({}, names)
    packed = [n for n in names if n not in own]
    count = math.ceil(len(packed) / pack_size)
    members: list[list[str]] = [[] for _ in range(count)]
    # "Next pack with room" with path compression: placing n streams stays near-linear even
    # when every pack fills up exactly (n a multiple of pack_size).
    next_free = list(range(count + 1))

    def find(i: int) -> int:
        root = i
        while next_free[root] != root:
            root = next_free[root]
        while next_free[i] != root:
            next_free[i], i = root, next_free[i]
        return root

    for name in packed:
        preferred = jump_hash(stable_hash(name), count)
        slot = find(preferred)
        if slot == count:  # nothing free from here to the end: wrap around
            slot = find(0)
        members[slot].append(name)
        if len(members[slot]) == pack_size:
            next_free[slot] = slot + 1
    return PackPlan(
        {pack_key(i, count): sorted(m) for i, m in enumerate(members) if m},
        sorted(n for n in names if n in own),
    )


# -- schedules ----------------------------------------------------------------------------------

#: A fixed, arbitrary reference time: cron frequencies are compared on the same window.
_REFERENCE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@functools.cache
def ticks_per_week(cron: str) -> int:
    """How often `cron` fires in one week (at most 10,080: every minute)."""
    end = _REFERENCE + dt.timedelta(days=7)
    it = croniter(cron, _REFERENCE - dt.timedelta(seconds=1))
    count = 0
    while it.get_next(dt.datetime) < end:
        count += 1
    return count


def most_frequent_cron(crons: Iterable[str | None]) -> str | None:
    """The schedule of a pack: its most frequent member's cron (ties: the smallest string,
    so the choice is stable); None when no member has a cron (externally triggered only)."""
    distinct = sorted({c for c in crons if c})
    if not distinct:
        return None
    return max(distinct, key=lambda c: (ticks_per_week(c), [-ord(ch) for ch in c]))


def previous_tick(cron: str, now: dt.datetime) -> dt.datetime:
    """The latest time at or before `now` at which `cron` fires (UTC)."""
    return croniter(cron, now + dt.timedelta(microseconds=1)).get_prev(dt.datetime)  # type: ignore[no-any-return]


def is_due(
    cron: str | None,
    now: dt.datetime,
    last_started: dt.datetime | None,
    *,
    open_batch: bool,
    requested: bool,
) -> tuple[bool, str]:
    """Is a member due now? (due, why). A member is due when

    - it has an open batch (work left after KEEP_WORKING, a kill or an error), or
    - an external trigger named it (`requested`), or
    - it has a cron and has no batch yet, or its cron fired after its last batch started.

    A member with no cron and no open batch waits for an external trigger.
    """
    if open_batch:
        return True, "open batch"
    if requested:
        return True, "triggered"
    if cron is None:
        return False, "waits for an external trigger"
    if last_started is None:
        return True, "no batch yet"
    tick = previous_tick(cron, now)
    if tick > last_started:
        return True, f"cron fired at {tick.isoformat()}"
    return False, f"next at {croniter(cron, now).get_next(dt.datetime).isoformat()}"


def members_in_order(members: Sequence[tuple[str, int]]) -> list[str]:
    """Stream names, highest priority first, then by name."""
    return [name for name, _ in sorted(members, key=lambda m: (-m[1], m[0]))]
