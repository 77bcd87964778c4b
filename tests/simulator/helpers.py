"""Shared by the simulator tests: run in-process, dump tables, check integrity in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from simulator.operations import DEFAULT_WEIGHTS, Operation
from simulator.planner import Change
from simulator.runner import Simulator, SimulatorConfig
from simulator.source import make_engine
from simulator.summary import Summary


def simulate(url: str, *, journal: list[Change] | None = None, **options: Any) -> Summary:
    options.setdefault("rate", 0)
    options.setdefault("create_tables", True)
    config = SimulatorConfig(**options)
    engine = make_engine(make_url(url), config.reconnect_timeout)
    summary = Simulator(engine, config, journal=journal).run()
    assert summary.error is None, summary.error
    return summary


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {
                table: [tuple(r) for r in conn.execute(text(f"select * from {table} order by id"))]
                for table in ("customers", "addresses")
            }
    finally:
        engine.dispose()


def check_integrity(url: str) -> None:
    """The rules in plain SQL, written independently of simulator.integrity."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            orphans = conn.execute(
                text(
                    "select count(*) from addresses a left join customers c on c.id = a.customer_id where c.id is null"
                )
            ).scalar_one()
            bad_billing = conn.execute(
                text(
                    "select count(*) from customers c left join ("
                    "  select customer_id, count(*) n from addresses where address_type = 'billing' group by customer_id"
                    ") b on b.customer_id = c.id where coalesce(b.n, 0) <> 1"
                )
            ).scalar_one()
            assert orphans == 0, f"{orphans} addresses without their customer"
            assert bad_billing == 0, f"{bad_billing} customers without exactly one billing address"
    finally:
        engine.dispose()


HEAVY_DELETES = {
    **DEFAULT_WEIGHTS,
    Operation.DELETE_CUSTOMER: 30,
    Operation.DELETE_ADDRESS: 30,
    Operation.INSERT_ADDRESS: 25,
}
