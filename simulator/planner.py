"""Decide the next change: which operation, which row, which values.

Planning is separate from writing so that a change set whose transaction failed can be
written again exactly as planned (see `writer.py`), and so that the sequence of changes is a
pure function of the seed and the starting contents of the database.

Integrity rules kept here (the database's foreign key backs up the first):
- an address always belongs to an existing customer: a customer is deleted together with
  all its addresses, in one change;
- a customer always has exactly one billing address: it is inserted with the customer,
  updated in place (the customer moved) and deleted only with the customer; only shipping
  addresses are inserted or deleted on their own.
When an operation has no possible target (no customers yet, no shipping address to delete)
a fixed fallback is used instead, so the sequence stays deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulator.clock import SimulatedClock
from simulator.fake_data import RowFactory
from simulator.ids import ADDRESS_PREFIX, CUSTOMER_PREFIX, IdSequence
from simulator.operations import Operation
from simulator.state import BILLING, SHIPPING, SourceState


@dataclass(frozen=True, slots=True)
class Change:
    """One logical change; `customer` / `address` hold the full row (insert) or the new values (update)."""

    op: Operation
    customer_id: str
    address_id: str | None = None
    customer: Mapping[str, Any] = field(default_factory=dict)
    address: Mapping[str, Any] = field(default_factory=dict)


class Planner:
    def __init__(
        self,
        state: SourceState,
        weights: Mapping[Operation, int],
        rng: random.Random,
        clock: SimulatedClock,
        rows: RowFactory,
    ) -> None:
        self.state = state
        self._rng = rng
        self._clock = clock
        self._rows = rows
        self._ops = [op for op, w in weights.items() if w > 0]
        self._weights = [weights[op] for op in self._ops]
        self._handlers: dict[Operation, Callable[[datetime], Change]] = {
            Operation.INSERT_CUSTOMER: self.new_customer,
            Operation.UPDATE_CUSTOMER: self._update_customer,
            Operation.INSERT_ADDRESS: self._insert_address,
            Operation.UPDATE_ADDRESS: self._update_address,
            Operation.DELETE_ADDRESS: self._delete_address,
            Operation.DELETE_CUSTOMER: self._delete_customer,
        }
        self.customer_ids = IdSequence(CUSTOMER_PREFIX)
        self.address_ids = IdSequence(ADDRESS_PREFIX)
        self.resync(state)

    def resync(self, state: SourceState) -> None:
        """Adopt a freshly loaded state (start, or after a failed change set)."""
        self.state = state
        self.customer_ids.continue_after(state.customers)
        self.address_ids.continue_after(state.owner)
        self._clock.catch_up(state.latest_timestamp)

    def _feasible(self, op: Operation) -> Operation:
        s = self.state
        if op is Operation.DELETE_ADDRESS and len(s.shipping) == 0:
            op = Operation.INSERT_ADDRESS  # nothing to delete: add one instead
        if op is Operation.UPDATE_ADDRESS and len(s.billing) + len(s.shipping) == 0:
            op = Operation.INSERT_ADDRESS
        if op is not Operation.INSERT_CUSTOMER and len(s.customers) == 0:
            op = Operation.INSERT_CUSTOMER
        return op

    def next_change(self) -> Change:
        op = self._feasible(self._rng.choices(self._ops, weights=self._weights)[0])
        now = self._clock.advance()
        return self._handlers[op](now)

    def new_customer(self, now: datetime) -> Change:
        customer_id = self.customer_ids.next()
        address_id = self.address_ids.next()
        change = Change(
            Operation.INSERT_CUSTOMER,
            customer_id,
            address_id,
            customer=self._rows.customer(customer_id, now),
            address=self._rows.address(address_id, customer_id, BILLING, now),
        )
        self.state.add_customer(customer_id)
        self.state.add_address(address_id, customer_id, BILLING)
        return change

    def _pick_customer(self) -> str:
        return self.state.customers.pick(self._rng.randrange(len(self.state.customers)))

    def _update_customer(self, now: datetime) -> Change:
        return Change(Operation.UPDATE_CUSTOMER, self._pick_customer(), customer=self._rows.customer_update(now))

    def _insert_address(self, now: datetime) -> Change:
        customer_id = self._pick_customer()
        address_id = self.address_ids.next()
        self.state.add_address(address_id, customer_id, SHIPPING)
        return Change(
            Operation.INSERT_ADDRESS,
            customer_id,
            address_id,
            address=self._rows.address(address_id, customer_id, SHIPPING, now),
        )

    def _update_address(self, now: datetime) -> Change:
        s = self.state
        k = self._rng.randrange(len(s.billing) + len(s.shipping))
        address_id = s.billing.pick(k) if k < len(s.billing) else s.shipping.pick(k - len(s.billing))
        values = {**self._rows.address_fields(), "updated_at": now}
        return Change(Operation.UPDATE_ADDRESS, s.owner[address_id], address_id, address=values)

    def _delete_address(self, now: datetime) -> Change:
        s = self.state
        address_id = s.shipping.pick(self._rng.randrange(len(s.shipping)))
        customer_id = s.owner[address_id]
        s.remove_address(address_id)
        return Change(Operation.DELETE_ADDRESS, customer_id, address_id)

    def _delete_customer(self, now: datetime) -> Change:
        customer_id = self._pick_customer()
        self.state.remove_customer(customer_id)
        return Change(Operation.DELETE_CUSTOMER, customer_id)
