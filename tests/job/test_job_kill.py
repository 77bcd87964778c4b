"""Kill the job with SIGKILL at every checkpoint, run it again, and compare with a run that
was never interrupted: the merge tables and batch records must be identical."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datasurface.platforms.yellow.faults import POINTS
from tests.job.harness import Stack, address, customer, load_source, make_stack

CHUNK = ["--chunk-rows", "15"]
KILL_POINTS = [(p, "1") for p in POINTS] + [("after-chunk", "3")]  # a later chunk of the second dataset


def _source_v1(stack: Stack) -> None:
    load_source(stack, [customer(i) for i in range(1, 41)], [address(i, i) for i in range(1, 41)])


def _source_v2(stack: Stack) -> None:
    rows = [customer(i, email=f"new{i}@example.com") if i % 5 == 0 else customer(i) for i in range(3, 45)]
    addrs = [address(i, i) for i in range(3, 41)] + [address(100 + i, i, "shipping") for i in range(41, 45)]
    load_source(stack, rows, addrs)


def _run_to_done(stack: Stack, platform: str) -> None:
    for _ in range(10):
        result = stack.job("run", platform, *CHUNK)
        if result.returncode == 0:
            return
        assert result.returncode == 75, result.stderr
    raise AssertionError("the job did not reach DONE")


def _state(stack: Stack, platform: str) -> dict[str, Any]:
    return {
        "customers": stack.merge_rows(platform, "customers", synthetic=True),
        "addresses": stack.merge_rows(platform, "addresses", synthetic=True),
        "batches": stack.batches(platform),
    }


@pytest.fixture
def two_stacks(pg_database_factory: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A stack that gets killed and a reference stack, both fed the same source changes."""
    killed = make_stack(pg_database_factory(), pg_database_factory(), tmp_path / "killed")
    reference = make_stack(pg_database_factory(), pg_database_factory(), tmp_path / "reference")
    yield killed, reference
    killed.dispose()
    reference.dispose()


@pytest.mark.parametrize("platform", ["YellowForensic", "YellowLive"])
@pytest.mark.parametrize(("point", "nth"), KILL_POINTS, ids=[f"{p}:{n}" for p, n in KILL_POINTS])
def test_killed_job_ends_like_an_uninterrupted_one(
    two_stacks: tuple[Stack, Stack], platform: str, point: str, nth: str
) -> None:
    killed, reference = two_stacks
    for stack in (killed, reference):
        _source_v1(stack)
        _run_to_done(stack, platform)
        _source_v2(stack)
    died = killed.job("run", platform, *CHUNK, extra_env={"DATASURFACE_KILL_AT": f"{point}:{nth}"})
    assert died.returncode == -9, f"the job was not killed at {point}: rc={died.returncode} {died.stderr}"
    _run_to_done(killed, platform)
    _run_to_done(reference, platform)
    assert _state(killed, platform) == _state(reference, platform)
    assert killed.live_rows(platform, "customers") == killed.source_rows("customers")
