"""Pure-Python parts: ids, weights, the index, the clock and the planner (no database)."""

from __future__ import annotations

import random

import pytest

from simulator.clock import EPOCH, SimulatedClock
from simulator.fake_data import RowFactory
from simulator.ids import IdSequence
from simulator.operations import DEFAULT_WEIGHTS, Operation, WeightsError, parse_weights
from simulator.planner import Planner
from simulator.state import IndexedIds, SourceState


def test_id_sequence_continues_after_the_highest_matching_id() -> None:
    seq = IdSequence("c")
    seq.continue_after(["c000002", "c999999", "c1000001", "x000009", "cabc", "a000005"])
    assert seq.next() == "c1000002"  # numeric, not text order; foreign ids ignored
    assert IdSequence("a").next() == "a000001"


def test_weights_override_and_errors() -> None:
    weights = parse_weights("delete_customer=40, insert_address=0")
    assert weights[Operation.DELETE_CUSTOMER] == 40 and weights[Operation.INSERT_ADDRESS] == 0
    assert weights[Operation.UPDATE_CUSTOMER] == DEFAULT_WEIGHTS[Operation.UPDATE_CUSTOMER]
    for bad, words in [
        ("bogus=1", "unknown operation 'bogus'"),
        ("delete_customer", "NAME=INTEGER"),
        ("delete_customer=x", "not an integer"),
        ("delete_customer=-1", ">= 0"),
        ("insert_customer=0", "must be > 0"),
    ]:
        with pytest.raises(WeightsError, match=words):
            parse_weights(bad)


def test_indexed_ids_remove_keeps_positions_consistent() -> None:
    ids = IndexedIds(["a", "b", "c", "d"])
    ids.remove("b")
    assert sorted(ids) == ["a", "c", "d"] and ids.pick(1) == "d"
    ids.remove("d")
    ids.add("e")
    assert list(ids) == ["a", "c", "e"] and "d" not in ids


def test_clock_is_reproducible_and_never_goes_back() -> None:
    a, b = SimulatedClock(random.Random(3)), SimulatedClock(random.Random(3))
    times = [a.advance() for _ in range(100)]
    assert times == [b.advance() for _ in range(100)]
    assert times[0] > EPOCH and times == sorted(times)
    a.catch_up(EPOCH)
    assert a.now == times[-1]


def _planner(seed: int, weights: dict[Operation, int] | None = None) -> Planner:
    rng = random.Random(seed)
    return Planner(SourceState(), weights or DEFAULT_WEIGHTS, rng, SimulatedClock(rng), RowFactory(seed, rng))


def test_planner_same_seed_same_changes_and_fallback_on_empty_state() -> None:
    one, two = _planner(9), _planner(9)
    first = [one.next_change() for _ in range(500)]
    assert first == [two.next_change() for _ in range(500)]
    assert first[0].op is Operation.INSERT_CUSTOMER  # nothing else is possible on an empty database
    other = _planner(10)
    assert [c.op for c in first] != [other.next_change().op for _ in range(500)]


def test_planner_keeps_one_billing_address_per_customer() -> None:
    weights = {**DEFAULT_WEIGHTS, Operation.DELETE_ADDRESS: 50, Operation.DELETE_CUSTOMER: 20}
    planner = _planner(4, weights)
    for _ in range(3000):
        planner.next_change()
    state = planner.state
    billing_owners = [state.owner[a] for a in state.billing]
    assert sorted(billing_owners) == sorted(state.customers)
    assert all(state.owner[a] in state.customers for a in state.shipping)
