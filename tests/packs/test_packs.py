"""Pack assignment, schedules and due-ness: pure functions, checked against oracles written
independently here (brute force, hand-computed cron ticks)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from datasurface.model.problems import ProblemList
from datasurface.platforms.yellow.packs import (
    assign_packs,
    is_due,
    jump_hash,
    most_frequent_cron,
    previous_tick,
    stable_hash,
)
from datasurface.platforms.yellow.platform import YellowDataPlatform

UTC = dt.UTC


def _names(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"S{rng.randrange(10**9):09d}_{i}" for i in range(n)]


@pytest.mark.parametrize(("n", "size"), [(1, 10), (10, 10), (95, 10), (1000, 100), (1003, 100), (5000, 7)])
def test_every_stream_lands_in_exactly_one_pack_of_bounded_size(n: int, size: int) -> None:
    names = _names(n)
    plan = assign_packs(names, size)
    members = [s for m in plan.packs.values() for s in m]
    assert sorted(members) == sorted(names)  # each exactly once
    assert all(1 <= len(m) <= size for m in plan.packs.values())
    assert len(plan.packs) == -(-n // size)  # ceil: packs are as few as the size allows
    assert plan.dedicated == []


def test_assignment_is_deterministic_and_order_free() -> None:
    names = _names(500)
    shuffled = list(reversed(names))
    assert assign_packs(names, 50) == assign_packs(shuffled, 50)


def test_growing_by_one_pack_moves_few_streams() -> None:
    """Going from 20 to 21 packs: a consistent hash moves about 1/21 of the streams (plus the
    overflow of full packs); `hash mod P` would move about 20/21 of them."""
    names = _names(2000)
    before = assign_packs(names, 100).pack_of()  # 20 packs of exactly 100
    grown = assign_packs([*names, *_names(50, seed=99)], 100)  # 21 packs
    after = grown.pack_of()
    moved = sum(1 for s in names if before[s] != after[s])
    assert len(grown.packs) == 21
    assert moved < len(names) * 0.25, moved


def test_dedicated_streams_keep_their_own_dag() -> None:
    names = _names(30)
    plan = assign_packs(names, 10, dedicated=[names[3], names[17]])
    assert plan.dedicated == sorted([names[3], names[17]])
    assert names[3] not in plan.pack_of() and names[17] not in plan.pack_of()
    assert len(plan.pack_of()) == 28


def test_no_packs_when_size_is_zero() -> None:
    plan = assign_packs(["b", "a"], 0)
    assert plan.packs == {} and plan.dedicated == ["a", "b"]


def test_jump_hash_matches_its_definition() -> None:
    # The reference values of the published algorithm (Lamping & Veach) for key 0..: any
    # key maps to 0 with one bucket, and keys spread over all buckets.
    assert all(jump_hash(stable_hash(str(k)), 1) == 0 for k in range(100))
    seen = {jump_hash(stable_hash(str(k)), 10) for k in range(1000)}
    assert seen == set(range(10))
    # Monotone: growing the bucket count only ever moves a key to the NEW bucket.
    for k in range(2000):
        key = stable_hash(str(k))
        a, b = jump_hash(key, 9), jump_hash(key, 10)
        assert b == a or b == 9


def test_most_frequent_cron() -> None:
    assert most_frequent_cron([None, None]) is None
    assert most_frequent_cron(["0 * * * *", "*/5 * * * *", None]) == "*/5 * * * *"
    assert most_frequent_cron(["0 0 * * *", "0 0 1 * *"]) == "0 0 * * *"
    # Equal frequency: the smallest string, whatever the order.
    assert most_frequent_cron(["7 * * * *", "3 * * * *"]) == most_frequent_cron(["3 * * * *", "7 * * * *"])


def test_previous_tick() -> None:
    now = dt.datetime(2030, 5, 1, 10, 7, 30, tzinfo=UTC)
    assert previous_tick("*/5 * * * *", now) == dt.datetime(2030, 5, 1, 10, 5, tzinfo=UTC)
    assert previous_tick("0 * * * *", now) == dt.datetime(2030, 5, 1, 10, 0, tzinfo=UTC)
    exact = dt.datetime(2030, 5, 1, 10, 5, tzinfo=UTC)
    assert previous_tick("*/5 * * * *", exact) == exact


def test_due() -> None:
    now = dt.datetime(2030, 5, 1, 10, 7, 30, tzinfo=UTC)
    hourly = "0 * * * *"
    assert is_due(hourly, now, None, open_batch=False, requested=False)[0]  # no batch yet
    assert not is_due(hourly, now, now.replace(minute=1), open_batch=False, requested=False)[0]
    assert is_due(hourly, now, now.replace(hour=9, minute=59), open_batch=False, requested=False)[0]
    assert is_due(hourly, now, now.replace(minute=1), open_batch=True, requested=False)[0]  # work left
    assert not is_due(None, now, None, open_batch=False, requested=False)[0]  # external: waits
    assert is_due(None, now, now, open_batch=False, requested=True)[0]


def _lint(**settings: object) -> ProblemList:
    problems = ProblemList()
    YellowDataPlatform("P", **settings).lint_platform("Platform P", problems)  # type: ignore[arg-type]
    return problems


def test_lint_explains_bad_pack_settings() -> None:
    assert not _lint(pack_size=100).errors
    bad = _lint(pack_size=-1, pack_workers=0, pack_merge_connections=1, dedicated_streams=["a", "a"])
    messages = " ".join(str(p) for p in bad.errors)
    assert "pack_size must be 0" in messages
    assert "pack_workers must be at least 1" in messages
    assert "pack_merge_connections must be at least 2" in messages
    assert "'a' is listed twice" in messages
    warned = _lint(pack_size=10, pack_workers=8, pack_merge_connections=8)
    assert any("pack_merge_connections to 16" in str(p) for p in warned.warnings)
    assert any("no effect" in str(p) for p in _lint(dedicated_streams=["x"]).warnings)
