"""The kinds of change the simulator makes and how often each is picked (`--weights`)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from datasurface.errors import DataSurfaceError


class Operation(StrEnum):
    INSERT_CUSTOMER = "insert_customer"  # a new customer with its billing address
    UPDATE_CUSTOMER = "update_customer"
    INSERT_ADDRESS = "insert_address"  # a new shipping address of an existing customer
    UPDATE_ADDRESS = "update_address"  # billing or shipping: the customer moved
    DELETE_ADDRESS = "delete_address"  # shipping addresses only: billing is never deleted alone
    DELETE_CUSTOMER = "delete_customer"  # the customer and all its addresses


# Inserts outweigh deletes so the tables grow slowly, which is what a source usually does.
DEFAULT_WEIGHTS: dict[Operation, int] = {
    Operation.INSERT_CUSTOMER: 25,
    Operation.UPDATE_CUSTOMER: 25,
    Operation.INSERT_ADDRESS: 15,
    Operation.UPDATE_ADDRESS: 20,
    Operation.DELETE_ADDRESS: 8,
    Operation.DELETE_CUSTOMER: 7,
}


class WeightsError(DataSurfaceError, ValueError):
    """`--weights` is malformed; the message says which part and what is allowed."""


def parse_weights(text: str, base: Mapping[Operation, int] = DEFAULT_WEIGHTS) -> dict[Operation, int]:
    """`"delete_customer=30,insert_address=0"` overrides the named weights of `base`."""
    weights = dict(base)
    names = ", ".join(op.value for op in Operation)
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise WeightsError(f"weight '{part}' is not NAME=INTEGER (names: {names})")
        try:
            op = Operation(name.strip())
        except ValueError:
            raise WeightsError(f"unknown operation '{name.strip()}' (names: {names})") from None
        try:
            weight = int(value)
        except ValueError:
            raise WeightsError(f"weight of '{op.value}' is '{value}', not an integer") from None
        if weight < 0:
            raise WeightsError(f"weight of '{op.value}' is {weight}; weights must be >= 0")
        weights[op] = weight
    if weights[Operation.INSERT_CUSTOMER] == 0:
        # With no inserts, deletes would eventually empty the tables and leave nothing to do.
        raise WeightsError("the weight of 'insert_customer' must be > 0")
    return weights
