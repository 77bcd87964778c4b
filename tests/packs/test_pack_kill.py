"""Kill a pack run with SIGKILL at random moments (while several members are mid-batch on
worker threads), run the pack again until it is done, and compare with a pack that was
never interrupted: every member's merge table and batch records must be identical."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from datasurface.platforms.yellow import naming
from datasurface.platforms.yellow.faults import POINTS
from tests.packs.fleet import PLATFORM, Fleet, store_name

ROWS = [12, 7, 20, 3, 9]
T1, T2 = "2030-01-01T00:00:30", "2030-01-01T00:01:30"
ARGS = ["--chunk-rows", "5", "--workers", "3"]
# How often each point is reached in round 2 (a batch per member; chunks of 5 rows).
REACHED = {
    "after-batch-start": len(ROWS),
    "after-chunk": sum(-(-(n + 1) // 5) for n in ROWS),
    "after-ingest": len(ROWS),
    "inside-merge": len(ROWS),
    "after-commit": len(ROWS),
}
_rng = random.Random(20261129)
CASES = [(p, _rng.randint(1, REACHED[p])) for p in POINTS] + [("after-chunk", _rng.randint(2, REACHED["after-chunk"]))]


def _run_to_done(fleet: Fleet, at: str) -> None:
    for _ in range(10):
        out = fleet.run_pack("pack0000", "--as-of", at, *ARGS)
        if out.returncode == 0:
            return
        assert out.returncode == 75, out.stderr
    raise AssertionError("the pack did not reach DONE")


def _state(fleet: Fleet) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    with fleet.merge.connect() as conn:
        for i in range(fleet.n):
            table = naming.merge_table(PLATFORM, store_name(i), "items", forensic=False)
            tables[table] = [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{table}" ORDER BY id'))]
    return {"tables": tables, "batches": fleet.batches()}


@pytest.mark.parametrize(("point", "nth"), CASES, ids=[f"{p}:{n}" for p, n in CASES])
def test_killed_pack_ends_like_an_uninterrupted_one(fleet_factory: Callable[..., Fleet], point: str, nth: int) -> None:
    killed, reference = fleet_factory(len(ROWS), name="killed"), fleet_factory(len(ROWS), name="reference")
    for fleet in (killed, reference):
        fleet.fill(ROWS)
        _run_to_done(fleet, T1)
        fleet.change(1)
    died = killed.run_pack("pack0000", "--as-of", T2, *ARGS, extra_env={"DATASURFACE_KILL_AT": f"{point}:{nth}"})
    assert died.returncode == -9, f"not killed at {point}:{nth}: rc={died.returncode} {died.stderr[-2000:]}"
    _run_to_done(killed, T2)
    _run_to_done(reference, T2)
    assert _state(killed) == _state(reference)
    for i in range(len(ROWS)):
        assert killed.merge_rows(i) == killed.source_rows(i)
