from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.job.harness import Stack, make_stack


@pytest.fixture
def stack(pg_database_factory: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A source and a merge database with the example model pointed at them (see tests/job)."""
    s = make_stack(pg_database_factory(), pg_database_factory(), tmp_path)
    for name, value in s.env.items():  # the model reads its hosts from the environment
        monkeypatch.setenv(name, value)
    try:
        yield s
    finally:
        s.dispose()
