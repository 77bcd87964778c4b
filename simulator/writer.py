"""Write planned changes to the source database.

Every statement is idempotent (inserts skip rows that already exist; updates set absolute
values; deletes of missing rows do nothing), so a change set can be written again after a
connection error even when the first attempt's COMMIT reached the server but its answer
did not: the result is the same as writing it once. Statements are small and per row: this
is an OLTP-style source, not the engine's data path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Insert, Table, delete, update
from sqlalchemy.dialects import postgresql

from simulator.operations import Operation
from simulator.planner import Change
from simulator.schema import addresses, customers
from simulator.state import SHIPPING


def _insert_if_absent(table: Table, dialect: str) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["id"])
    if dialect in ("mysql", "mariadb"):
        return table.insert().prefix_with("IGNORE")
    return table.insert()  # other databases: a replayed insert fails and the change set counts as failed


class ChangeWriter:
    def __init__(self, dialect: str) -> None:
        self._insert_customer = _insert_if_absent(customers, dialect)
        self._insert_address = _insert_if_absent(addresses, dialect)

    def apply(self, conn: Connection, changes: Sequence[Change]) -> None:
        """Write `changes` on `conn`; the caller owns the transaction (one per change set)."""
        for change in changes:
            self._apply_one(conn, change)

    def _apply_one(self, conn: Connection, change: Change) -> None:
        op = change.op
        if op is Operation.INSERT_CUSTOMER:
            conn.execute(self._insert_customer, [dict(change.customer)])
            conn.execute(self._insert_address, [dict(change.address)])
        elif op is Operation.UPDATE_CUSTOMER:
            conn.execute(update(customers).where(customers.c.id == change.customer_id).values(**change.customer))
        elif op is Operation.INSERT_ADDRESS:
            conn.execute(self._insert_address, [dict(change.address)])
        elif op is Operation.UPDATE_ADDRESS:
            conn.execute(update(addresses).where(addresses.c.id == change.address_id).values(**change.address))
        elif op is Operation.DELETE_ADDRESS:
            # The type guard makes "never delete a billing address alone" hold in SQL too.
            conn.execute(
                delete(addresses).where(addresses.c.id == change.address_id, addresses.c.address_type == SHIPPING)
            )
        elif op is Operation.DELETE_CUSTOMER:
            conn.execute(delete(addresses).where(addresses.c.customer_id == change.customer_id))
            conn.execute(delete(customers).where(customers.c.id == change.customer_id))
        else:  # pragma: no cover - every Operation is handled above
            raise AssertionError(op)

    def bulk_insert_customers(self, conn: Connection, changes: Iterable[Change]) -> None:
        """Insert new customers with their billing addresses: two executemany statements."""
        batch = list(changes)
        customer_rows: list[dict[str, Any]] = [dict(c.customer) for c in batch]
        address_rows: list[dict[str, Any]] = [dict(c.address) for c in batch]
        if customer_rows:
            conn.execute(self._insert_customer, customer_rows)
            conn.execute(self._insert_address, address_rows)
