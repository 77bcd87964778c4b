"""Backwards compatibility, table-driven, both directions. Every case is proposed by the
owning team itself (acme/sales-team), so only the contract rules can reject it."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from datasurface.model import (
    BigInt,
    Char,
    Dataset,
    Datastore,
    DataType,
    Date,
    DDLColumn,
    Decimal,
    DeprecationStatus,
    Double,
    Float,
    Integer,
    SmallInt,
    Text,
    Timestamp,
    VarChar,
)
from datasurface.model.changes import check_change
from datasurface.model.type_widening import TypeChange, classify_type_change, is_widening
from tests.governance import org

# (old type, new type, allowed?) -- each widening is also listed reversed.
TYPE_CASES: list[tuple[DataType, DataType, bool]] = [
    (SmallInt(), Integer(), True),
    (Integer(), SmallInt(), False),
    (SmallInt(), BigInt(), True),
    (Integer(), BigInt(), True),
    (BigInt(), Integer(), False),
    (Integer(), Decimal(10, 0), True),
    (Integer(), Decimal(9, 0), False),
    (Integer(), Decimal(12, 2), False),
    (BigInt(), Decimal(19, 0), True),
    (Decimal(10, 2), Decimal(12, 2), True),
    (Decimal(12, 2), Decimal(10, 2), False),
    (Decimal(10, 2), Decimal(12, 4), False),
    (Float(), Double(), True),
    (Double(), Float(), False),
    (VarChar(20), VarChar(40), True),
    (VarChar(40), VarChar(20), False),
    (Char(2), Char(3), True),
    (Char(3), Char(2), False),
    (Char(2), VarChar(2), True),
    (Char(3), VarChar(2), False),
    (VarChar(2), Char(2), False),
    (VarChar(200), Text(), True),
    (Char(2), Text(), True),
    (Text(), VarChar(200), False),
    (Timestamp(), Timestamp(with_time_zone=True), False),
    (Timestamp(with_time_zone=True), Timestamp(), False),
    (VarChar(20), Integer(), False),
    (Date(), Timestamp(), False),
    (Integer(), Double(), False),
    (Integer(), Integer(), True),
]


@pytest.mark.parametrize(("old", "new", "allowed"), TYPE_CASES, ids=lambda v: getattr(v, "sql", lambda: str(v))())
def test_type_widening_table(old: DataType, new: DataType, allowed: bool) -> None:
    assert is_widening(old, new) is allowed
    base, proposal = org.edit(), org.edit()
    org.dataset(base[0], "crm", "customers").schema.columns[2] = DDLColumn("email", old)
    org.dataset(proposal[0], "crm", "customers").schema.columns[2] = DDLColumn("email", new)
    report = check_change(base, proposal, org.SALES)
    assert report.may_merge is allowed, [str(p) for p in report.errors]
    if not allowed:
        [problem] = report.errors
        assert problem.path == "Team 'sales' / Datastore 'crm' / Dataset 'customers' / Column 'email'"
        expected = {
            TypeChange.NARROWING: "compat/type-narrowed",
            TypeChange.TIME_ZONE: "compat/timestamp-time-zone-changed",
            TypeChange.INCOMPATIBLE: "compat/type-changed",
        }[classify_type_change(old, new)]
        assert problem.rule == expected


Edit = Callable[[org.Model], object]


def _customers(m: org.Model) -> Dataset:
    return org.dataset(m[0], "crm", "customers")


def both(*edits: Edit) -> Edit:
    def run(m: org.Model) -> None:
        for e in edits:
            e(m)

    return run


def _store(m: org.Model) -> Datastore:
    store = m[0].datastore("crm")
    assert store is not None
    return store


def _set_deprecated(m: org.Model, dataset: str | None) -> None:
    store = m[0].datastore("crm")
    assert store is not None
    if dataset is None:
        store.deprecation = DeprecationStatus.DEPRECATED
    else:
        ds = store.dataset(dataset)
        assert ds is not None
        ds.deprecation = DeprecationStatus.DEPRECATED


def _drop_dataset(m: org.Model, name: str) -> None:
    store = m[0].datastore("crm")
    assert store is not None
    store.datasets = [d for d in store.datasets if d.name != name]


def _allow_deprecated(m: org.Model) -> None:
    """Step 1 of the deprecation path for a used dataset: the consumer accepts deprecated data."""
    for sink in org.team(m[0], "marketing").workspaces[0].dsgs[0].sinks:
        sink.allow_deprecated = True


def _drop_store(m: org.Model) -> None:
    org.team(m[0], "sales").datastores = []


def _drop_consumer(m: org.Model) -> None:
    org.team(m[0], "marketing").workspaces = []
    m[1].assignments = []


# (id, edit to the base, edit to the proposal, expected rules (empty = allowed), proposer)
CASES: list[tuple[str, Edit, Edit, set[str], str]] = [
    (
        "add nullable column",
        lambda m: None,
        lambda m: _customers(m).schema.columns.append(DDLColumn("tier", Integer())),
        set(),
        org.SALES,
    ),
    (
        "add not-null column",
        lambda m: None,
        lambda m: _customers(m).schema.columns.append(DDLColumn("tier", Integer(), nullable=False)),
        {"compat/new-column-not-nullable"},
        org.SALES,
    ),
    (
        "remove column",
        lambda m: None,
        lambda m: _customers(m).schema.columns.pop(2),
        {"compat/column-removed"},
        org.SALES,
    ),
    (
        "rename column",
        lambda m: None,
        lambda m: _customers(m).schema.columns.__setitem__(2, DDLColumn("mail", VarChar(200))),
        {"compat/column-removed"},
        org.SALES,
    ),
    (
        "relax NOT NULL -> NULL",
        lambda m: None,
        lambda m: setattr(_customers(m).schema.columns[1], "nullable", True),
        set(),
        org.SALES,
    ),
    (
        "tighten NULL -> NOT NULL",
        lambda m: None,
        lambda m: setattr(_customers(m).schema.columns[2], "nullable", False),
        {"compat/nullability-tightened"},
        org.SALES,
    ),
    (
        "extend primary key",
        lambda m: None,
        lambda m: setattr(_customers(m).schema, "primary_key", ["id", "name"]),
        {"compat/primary-key-changed"},
        org.SALES,
    ),
    (
        "change primary key",
        lambda m: None,
        lambda m: setattr(_customers(m).schema, "primary_key", ["name"]),
        {"compat/primary-key-changed"},
        org.SALES,
    ),
    ("reorder columns", lambda m: None, lambda m: _customers(m).schema.columns.reverse(), set(), org.SALES),
    (
        "add dataset",
        lambda m: None,
        lambda m: _store(m).datasets.append(Dataset("refunds", org.orders().schema)),
        set(),
        org.SALES,
    ),
    (
        "remove unused dataset, not deprecated",
        lambda m: None,
        lambda m: _drop_dataset(m, "orders"),
        {"compat/removed-without-deprecation"},
        org.SALES,
    ),
    (
        "remove unused dataset, deprecated in base",
        lambda m: _set_deprecated(m, "orders"),
        lambda m: _drop_dataset(m, "orders"),
        set(),
        org.SALES,
    ),
    (
        "deprecate and remove in one change",
        lambda m: None,
        both(lambda m: _set_deprecated(m, "orders"), lambda m: _drop_dataset(m, "orders")),
        {"compat/removed-without-deprecation"},
        org.SALES,
    ),
    (
        "remove used dataset, deprecated in base",
        lambda m: _set_deprecated(m, "customers"),
        lambda m: _drop_dataset(m, "customers"),
        {"compat/removed-while-used", "lint/sink-unknown-dataset"},
        org.SALES,
    ),
    (
        "remove dataset of a deprecated store",
        both(_allow_deprecated, lambda m: _set_deprecated(m, None)),
        lambda m: _drop_dataset(m, "orders"),
        set(),
        org.SALES,
    ),
    (
        "remove used store, not deprecated",
        lambda m: None,
        _drop_store,
        {"compat/removed-while-used", "compat/removed-without-deprecation", "lint/sink-unknown-store"},
        org.SALES,
    ),
    (
        "remove unused store, not deprecated",
        _drop_consumer,
        _drop_store,
        {"compat/removed-without-deprecation"},
        org.SALES,
    ),
    (
        "remove unused deprecated store",
        both(_drop_consumer, lambda m: _set_deprecated(m, None)),
        _drop_store,
        set(),
        org.SALES,
    ),
    (
        "deprecate a used dataset",
        lambda m: None,
        lambda m: _set_deprecated(m, "customers"),
        set(),  # lint warns the consumers; deprecating first is the documented path
        org.SALES,
    ),
    (
        "deprecate a used dataset the consumer allows",
        _allow_deprecated,
        lambda m: _set_deprecated(m, "customers"),
        set(),
        org.SALES,
    ),
    ("undeprecate a dataset", lambda m: _set_deprecated(m, "orders"), lambda m: None, set(), org.SALES),
]


@pytest.mark.parametrize(
    ("base_edit", "edit", "expected", "proposer"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_contract_rules(base_edit: Edit, edit: Edit, expected: set[str], proposer: str) -> None:
    base = org.edit()
    base_edit(base)
    proposal = copy.deepcopy(base)
    edit(proposal)
    report = check_change(base, proposal, proposer)
    assert {p.rule for p in report.errors} == expected, [str(p) for p in report.errors]


def test_compatibility_binds_the_central_repository_too() -> None:
    base = org.edit()
    proposal = copy.deepcopy(base)
    _customers(proposal).schema.columns.pop(2)
    report = check_change(base, proposal, org.CENTRAL)
    assert {"compat/column-removed", "ownership/team"} <= {p.rule for p in report.errors}
