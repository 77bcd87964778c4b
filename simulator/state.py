"""The simulator's in-memory index of which customers and addresses exist.

Update and delete targets are picked uniformly by position (`pick(k)` with `k` from the
RNG), so the index must be ordered identically in every run with the same history: lists
and insertion-ordered dicts only, never sets (their order depends on string hashing, which
changes per process). Loaded once from the database, sorted by id in Python so the
database's collation cannot change the order; then kept in step with every change.
Memory is a few hundred bytes per row: fine at sandbox scale.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select

from simulator.schema import addresses, customers

BILLING = "billing"
SHIPPING = "shipping"


class IndexedIds:
    """A list of ids with O(1) add, remove (swap with the last) and pick by position."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._items: list[str] = []
        self._pos: dict[str, int] = {}
        for item in ids:
            self.add(item)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __contains__(self, item: object) -> bool:
        return item in self._pos

    def add(self, item: str) -> None:
        if item not in self._pos:
            self._pos[item] = len(self._items)
            self._items.append(item)

    def remove(self, item: str) -> None:
        pos = self._pos.pop(item)
        last = self._items.pop()
        if pos < len(self._items):
            self._items[pos] = last
            self._pos[last] = pos

    def pick(self, k: int) -> str:
        return self._items[k]


@dataclass
class SourceState:
    customers: IndexedIds = field(default_factory=IndexedIds)
    billing: IndexedIds = field(default_factory=IndexedIds)
    shipping: IndexedIds = field(default_factory=IndexedIds)
    # customer id -> its address ids, in insertion order (dict as an ordered set).
    addresses_of: dict[str, dict[str, None]] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)  # address id -> customer id
    latest_timestamp: datetime | None = None

    def add_customer(self, customer_id: str) -> None:
        self.customers.add(customer_id)
        self.addresses_of.setdefault(customer_id, {})

    def add_address(self, address_id: str, customer_id: str, address_type: str) -> None:
        (self.billing if address_type == BILLING else self.shipping).add(address_id)
        self.addresses_of.setdefault(customer_id, {})[address_id] = None
        self.owner[address_id] = customer_id

    def _forget_address(self, address_id: str) -> None:
        for ids in (self.shipping, self.billing):
            if address_id in ids:
                ids.remove(address_id)
        self.owner.pop(address_id, None)

    def remove_address(self, address_id: str) -> None:
        customer_id = self.owner.get(address_id)
        self._forget_address(address_id)
        if customer_id is not None:
            self.addresses_of[customer_id].pop(address_id, None)

    def remove_customer(self, customer_id: str) -> None:
        for address_id in self.addresses_of.pop(customer_id, {}):
            self._forget_address(address_id)
        self.customers.remove(customer_id)


def load_state(conn: Connection) -> SourceState:
    state = SourceState()
    for customer_id in sorted(conn.execute(select(customers.c.id)).scalars()):
        state.add_customer(customer_id)
    rows = conn.execute(select(addresses.c.id, addresses.c.customer_id, addresses.c.address_type)).all()
    for address_id, customer_id, address_type in sorted(rows):
        state.add_address(address_id, customer_id, address_type)
    latest = [
        conn.execute(select(func.max(customers.c.updated_at))).scalar(),
        conn.execute(select(func.max(addresses.c.updated_at))).scalar(),
    ]
    state.latest_timestamp = max((t for t in latest if t is not None), default=None)
    return state
