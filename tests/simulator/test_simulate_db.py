"""The simulator against real Postgres: determinism, integrity, limits, resuming."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Connection

from simulator import runner
from simulator.operations import Operation
from simulator.planner import Change
from simulator.state import SourceState, load_state
from tests.simulator.helpers import HEAVY_DELETES, check_integrity, dump, simulate


def test_same_seed_same_operations_and_same_final_tables(pg_database_factory: Callable[[], str]) -> None:
    first_url, second_url, third_url = pg_database_factory(), pg_database_factory(), pg_database_factory()
    first: list[Change] = []
    second: list[Change] = []
    simulate(first_url, seed=11, max_changes=600, initial_customers=50, journal=first)
    # A different batch size commits differently but plans the same changes.
    simulate(second_url, seed=11, max_changes=600, initial_customers=50, batch_size=25, journal=second)
    assert [c.op for c in first] == [c.op for c in second]
    assert first == second
    assert dump(first_url) == dump(second_url)

    other: list[Change] = []
    simulate(third_url, seed=12, max_changes=600, initial_customers=50, batch_size=25, journal=other)
    assert [c.op for c in other] != [c.op for c in first]
    assert dump(third_url) != dump(first_url)


def test_integrity_holds_under_heavy_deletes(pg_url: str) -> None:
    summary = simulate(pg_url, seed=3, max_changes=3000, batch_size=20, initial_customers=100, weights=HEAVY_DELETES)
    assert summary.changes == 3000 and summary.failed == 0
    assert summary.operations[Operation.DELETE_CUSTOMER] > 450
    assert summary.operations[Operation.DELETE_ADDRESS] > 450
    check_integrity(pg_url)
    assert summary.integrity_problems == []
    # The summary's row counts are the tables' real sizes.
    tables = dump(pg_url)
    assert summary.rows == {"customers": len(tables["customers"]), "addresses": len(tables["addresses"])}


def test_max_changes_is_exact_even_with_a_partial_last_batch(pg_url: str) -> None:
    journal: list[Change] = []
    summary = simulate(pg_url, seed=1, max_changes=37, batch_size=10, journal=journal)
    assert summary.changes == 37 == len(journal) and summary.stopped_by == "max_changes"


def test_duration_and_rate_are_honoured(pg_url: str) -> None:
    summary = simulate(pg_url, seed=1, duration=1.0, rate=40, max_changes=10_000)
    assert summary.stopped_by == "duration"
    assert 0.9 <= summary.changing_s < 1.6
    assert 30 <= summary.changes <= 42  # 40/s for one second, the first one at t=0


def test_restart_continues_ids_without_collisions(pg_url: str) -> None:
    first: list[Change] = []
    second: list[Change] = []
    simulate(pg_url, seed=5, max_changes=300, journal=first)
    clock_end = dump(pg_url)
    latest = max(row[-1] for row in clock_end["customers"])  # updated_at
    summary = simulate(pg_url, seed=5, max_changes=300, journal=second)
    assert summary.failed == 0
    old_max = max(c.customer_id for c in first if c.op is Operation.INSERT_CUSTOMER)
    new_ids = [c.customer_id for c in second if c.op is Operation.INSERT_CUSTOMER]
    assert new_ids and min(new_ids) > old_max
    # The simulated clock resumes after the newest timestamp instead of going back to the epoch.
    assert summary.clock_start is not None and summary.clock_start >= latest
    check_integrity(pg_url)


def test_initial_customers_tops_up_to_n(pg_url: str) -> None:
    first = simulate(pg_url, seed=2, max_changes=0, initial_customers=7000)
    assert first.initial_customers == 7000 and first.rows == {"customers": 7000, "addresses": 7000}
    again = simulate(pg_url, seed=2, max_changes=0, initial_customers=7000)
    assert again.initial_customers == 0
    check_integrity(pg_url)


def test_a_failed_change_set_is_rolled_back_counted_and_the_index_reloaded(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row deleted behind the simulator's back makes a change fail; the run carries on."""
    simulate(pg_url, seed=1, max_changes=0, initial_customers=3)
    calls = 0

    def load_with_a_phantom(conn: Connection) -> SourceState:
        nonlocal calls
        calls += 1
        state = load_state(conn)
        if calls == 1:  # as if customer c999999 was deleted by hand after we loaded it
            state.add_customer("c999999")
            state.add_address("a999999", "c999999", "billing")
        return state

    monkeypatch.setattr(runner, "load_state", load_with_a_phantom)
    weights = {**{op: 0 for op in Operation}, Operation.INSERT_CUSTOMER: 1, Operation.INSERT_ADDRESS: 50}
    summary = simulate(pg_url, seed=1, max_changes=40, batch_size=5, weights=weights)
    assert summary.failed >= 5 and summary.failed % 5 == 0
    assert summary.changes + summary.failed == 40 and calls >= 2
    check_integrity(pg_url)
