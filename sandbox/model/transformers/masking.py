"""The sandbox's example DataTransformer: customers with e-mail and phone masked.

Runs inside the transformer's transaction: it reads the workspace's live view of
`Store1.customers` and fills the output table of `MaskedCustomers.customers`. Set-based SQL:
the rows never pass through Python.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text


def mask_customers(ctx: Any) -> None:
    source = ctx.input("Store1", "customers")
    target = ctx.output("customers")
    # Keep the e-mail's domain and the phone's last two digits: enough for analytics, no PII.
    ctx.connection.execute(
        text(
            f"INSERT INTO {target} (id, first_name, last_name, email, phone, dob, updated_at) "  # noqa: S608
            "SELECT id, first_name, left(last_name, 1) || '.', "
            "CASE WHEN email IS NULL THEN NULL ELSE '***@' || split_part(email, '@', 2) END, "
            "CASE WHEN phone IS NULL THEN NULL ELSE '***' || right(phone, 2) END, "
            f"NULL, updated_at FROM {source}"
        )
    )
