"""Backwards compatibility of data contracts: these rules bind every repository, owners too.

Consumers build on a dataset's schema and the engine keeps its history, so a change may only
add (nullable columns, new datasets) or widen (see `type_widening.py`). Anything else needs
a new dataset and the deprecation path:

1. the owner marks the dataset (or datastore) `DeprecationStatus.DEPRECATED`; consumers' sinks
   then fail lint unless they set `allow_deprecated=True`, which tells them to move;
2. every consumer removes its sinks (or moves to the replacement dataset);
3. in a later change, once no sink uses it, the owner removes it.

Datastores are matched by name across the whole ecosystem (names are unique), so the rules
hold even if a datastore moves between teams (ownership rejects that separately).
"""

from __future__ import annotations

from collections import defaultdict

from datasurface.model.changes.owners import Owner, Owners
from datasurface.model.changes.report import ChangeProblem, ChangeReport, Section
from datasurface.model.dataset import Dataset
from datasurface.model.datastore import Datastore
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.lifecycle import DeprecationStatus
from datasurface.model.problems import Severity, path_of
from datasurface.model.schema import DataType, DDLTable
from datasurface.model.type_widening import TypeChange, classify_type_change, describe_widenings

_MAX_USERS_LISTED = 5


class _Users:
    """Which workspace DSGs of the proposed model read each datastore and dataset."""

    def __init__(self, eco: Ecosystem) -> None:
        self.by_dataset: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.by_store: dict[str, list[str]] = defaultdict(list)
        for zone in eco.zones:
            for team in zone.teams:
                for ws in team.workspaces:
                    for dsg in ws.dsgs:
                        where = path_of(("Team", team.name), ("Workspace", ws.name), ("DSG", dsg.name))
                        for sink in dsg.sinks:
                            self.by_dataset[(sink.store, sink.dataset)].append(where)
                            if where not in self.by_store[sink.store]:
                                self.by_store[sink.store].append(where)


def check_compatibility(base: Ecosystem, proposed: Ecosystem, report: ChangeReport) -> None:
    owners = Owners(base, proposed)
    users = _Users(proposed)
    new_stores = proposed.stores()
    for name, entry in base.stores().items():
        owner = owners.team(entry.zone.name, entry.team.name)
        spath = path_of(("Team", entry.team.name), ("Datastore", name))
        new_entry = new_stores.get(name)
        if new_entry is None:
            _store_removed(spath, entry.store, users, owner, report)
            continue
        for dataset in entry.store.datasets:
            new_dataset = new_entry.store.dataset(dataset.name)
            dpath = f"{spath} / Dataset '{dataset.name}'"
            if new_dataset is None:
                _dataset_removed(dpath, entry.store, dataset, users, owner, report)
            else:
                _schema(dpath, dataset.schema, new_dataset.schema, owner, report)


def _error(report: ChangeReport, rule: str, path: str, message: str, owner: Owner, instead: str) -> None:
    """`instead` says what the owner's repository can do instead of the rejected change."""
    report.problems.append(
        ChangeProblem(
            Section.COMPATIBILITY,
            Severity.ERROR,
            f"compat/{rule}",
            path,
            f"{message}; no repository may make this change, it breaks the data contract; "
            f"instead {owner.label()} may {instead}",
            owner.short(),
        )
    )


def _users_text(users: list[str]) -> str:
    shown = "; ".join(users[:_MAX_USERS_LISTED])
    more = len(users) - _MAX_USERS_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _store_removed(spath: str, store: Datastore, users: _Users, owner: Owner, report: ChangeReport) -> None:
    using = users.by_store.get(store.name, [])
    if using:
        _error(
            report,
            "removed-while-used",
            spath,
            f"datastore removed while workspaces still use it ({_users_text(using)})",
            owner,
            "remove it once those workspaces have removed their sinks",
        )
    all_deprecated = bool(store.datasets) and all(d.deprecation is DeprecationStatus.DEPRECATED for d in store.datasets)
    if store.deprecation is not DeprecationStatus.DEPRECATED and not all_deprecated:
        _error(
            report,
            "removed-without-deprecation",
            spath,
            "datastore removed without being deprecated in the base model",
            owner,
            "first mark it DEPRECATED in its own change, wait for consumers to move off, then remove it",
        )


def _dataset_removed(
    dpath: str, store: Datastore, dataset: Dataset, users: _Users, owner: Owner, report: ChangeReport
) -> None:
    using = users.by_dataset.get((store.name, dataset.name), [])
    if using:
        _error(
            report,
            "removed-while-used",
            dpath,
            f"dataset removed while workspaces still use it ({_users_text(using)})",
            owner,
            "remove it once those workspaces have removed their sinks",
        )
    deprecated = DeprecationStatus.DEPRECATED in (dataset.deprecation, store.deprecation)
    if not deprecated:
        _error(
            report,
            "removed-without-deprecation",
            dpath,
            "dataset removed without being deprecated in the base model",
            owner,
            "first mark it DEPRECATED in its own change, wait for consumers to move off, then remove it",
        )


def _schema(dpath: str, old: DDLTable, new: DDLTable, owner: Owner, report: ChangeReport) -> None:
    new_dataset = "publish a new dataset with the new schema and deprecate this one"
    if old.primary_key != new.primary_key:
        _error(
            report,
            "primary-key-changed",
            dpath,
            f"primary key changed from {old.primary_key} to {new.primary_key}; rows are matched and "
            "kept in history by key",
            owner,
            new_dataset,
        )
    for col in old.columns:
        cpath = f"{dpath} / Column '{col.name}'"
        new_col = new.column(col.name)
        if new_col is None:
            _error(report, "column-removed", cpath, "column removed; consumers may read it", owner, new_dataset)
            continue
        _type_change(cpath, col.type, new_col.type, owner, report)
        if col.nullable and not new_col.nullable:
            _error(
                report,
                "nullability-tightened",
                cpath,
                "column changed from NULL to NOT NULL; existing rows and history may hold NULLs",
                owner,
                "keep the column nullable (NOT NULL -> NULL is allowed, not the reverse)",
            )
    for col in new.columns:
        if old.column(col.name) is None and not col.nullable:
            _error(
                report,
                "new-column-not-nullable",
                f"{dpath} / Column '{col.name}'",
                "new column is NOT NULL; rows already ingested and kept in history have no value for it",
                owner,
                "add the column with nullable=True",
            )


def _type_change(cpath: str, old_type: DataType, new_type: DataType, owner: Owner, report: ChangeReport) -> None:
    verdict = classify_type_change(old_type, new_type)
    old, new = old_type.sql(), new_type.sql()
    if verdict in (TypeChange.SAME, TypeChange.WIDENING):
        return
    if verdict is TypeChange.TIME_ZONE:
        _error(
            report,
            "timestamp-time-zone-changed",
            cpath,
            f"type changed from {old} to {new}: the stored values would change meaning (wall-clock time vs "
            "absolute instant), which is not a widening",
            owner,
            "add a new nullable column with the other timestamp type (or publish a new dataset)",
        )
        return
    kind = "narrowed" if verdict is TypeChange.NARROWING else "changed to an unrelated type"
    allowed = ", ".join(describe_widenings(old_type)) or "none"
    _error(
        report,
        "type-narrowed" if verdict is TypeChange.NARROWING else "type-changed",
        cpath,
        f"type {kind}: {old} -> {new}; types may only widen (from {old}: {allowed})",
        owner,
        "widen the type instead, or add a new nullable column with the new type",
    )
