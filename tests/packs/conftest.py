from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.packs.fleet import Fleet, make_fleet


@pytest.fixture
def fleet_factory(pg_database_factory: Callable[[], str], tmp_path: Path) -> Iterator[Callable[..., Fleet]]:
    """Fleets of small streams on fresh source and merge databases (disposed at teardown)."""
    made: list[Fleet] = []

    def make(n: int, name: str = "fleet", **kwargs: object) -> Fleet:
        fleet = make_fleet(pg_database_factory(), pg_database_factory(), tmp_path / name, n, **kwargs)  # type: ignore[arg-type]
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        fleet.dispose()
