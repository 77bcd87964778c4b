"""The simulator's integrity rules, checked in SQL against what is actually in the database."""

from __future__ import annotations

from sqlalchemy import Connection, text

# Each query counts the rows breaking one rule; all must be 0.
_RULES: dict[str, str] = {
    "addresses without their customer": (
        "select count(*) from addresses a where not exists (select 1 from customers c where c.id = a.customer_id)"
    ),
    "customers without exactly one billing address": (
        "select count(*) from customers c where (select count(*) from addresses a "
        "where a.customer_id = c.id and a.address_type = 'billing') <> 1"
    ),
    "addresses of an unknown type": "select count(*) from addresses where address_type not in ('billing', 'shipping')",
}


def integrity_problems(conn: Connection) -> list[str]:
    problems = []
    for rule, sql in _RULES.items():
        count = int(conn.execute(text(sql)).scalar_one())
        if count:
            problems.append(f"{count} {rule}")
    return problems


def row_counts(conn: Connection) -> dict[str, int]:
    return {
        table: int(conn.execute(text(f"select count(*) from {table}")).scalar_one())  # noqa: S608 - fixed names
        for table in ("customers", "addresses")
    }
