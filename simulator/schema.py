"""The customer database of the example model (`sandbox/model`): customers and addresses.

Defined with SQLAlchemy Core so the same tables can be created on Postgres and MariaDB.
Each customer has one billing address and any number of shipping addresses.
"""

from __future__ import annotations

from sqlalchemy import CHAR, Column, Date, DateTime, Engine, ForeignKey, MetaData, String, Table

metadata = MetaData()

customers = Table(
    "customers",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("email", String(200)),
    Column("phone", String(50)),
    Column("dob", Date),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

addresses = Table(
    "addresses",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("customer_id", String(20), ForeignKey("customers.id"), nullable=False, index=True),
    Column("address_type", String(10), nullable=False),  # 'billing' or 'shipping'
    Column("street", String(200), nullable=False),
    Column("city", String(100), nullable=False),
    Column("state", String(100)),
    Column("zip_code", String(20)),
    Column("country", CHAR(2), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)


def create_tables(engine: Engine) -> None:
    """Create the tables if they do not exist (idempotent)."""
    metadata.create_all(engine)
