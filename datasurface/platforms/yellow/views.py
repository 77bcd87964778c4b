# ruff: noqa: S608  # SQL text is built from quote_ident()ed names, constants and checked literals
"""Consumer views: what a workspace sees of the datasets its DSGs sink (the plan and its SQL).

Where views live
    One Postgres schema per (platform, workspace) in the platform's merge database,
    ``workspace_schema(platform, workspace) = physical_name(platform, workspace, "views")``.
    A DBA grants a consumer team ``USAGE`` on its workspace schema (plus ``SELECT`` on the
    views, or ``ALTER DEFAULT PRIVILEGES``) and nothing else; merge and staging tables stay
    in the engine's schema. The platform is part of the schema name because several
    platforms may share one merge database while serving the same workspace (a DSG can be
    assigned to two platforms during a migration).

View names
    ``view_in_schema(dsg, store, dataset, kind) = physical_name(dsg, store, dataset, "v"|"vh")``:
    the naming service's rules (lower case, at most 63 bytes, hashed suffix when a name is too
    long or not a simple identifier), unique inside the workspace schema because the schema
    already names platform and workspace. Nobody has to compute them: `views list --json`
    prints every fully qualified name.

What a view exposes
    live view     the dataset's columns only, no ``ds_surf_*`` column. On a LIVE_ONLY
                  platform it reads the live merge table; on a FORENSIC platform the open
                  versions (``ds_surf_batch_out = 2147483647``) of the forensic table.
    history view  (FORENSIC DSGs) the dataset's columns plus
                  ``ds_surf_batch_in``, ``ds_surf_batch_out``: the inclusive range of committed
                  batch ids in which the version was live (2147483647 while it still is), and
                  ``ds_surf_valid_from`` (commit time of batch_in) and ``ds_surf_valid_to``
                  (commit time of the first committed batch after batch_out; NULL while live),
                  both ``timestamptz``, joined set-based from the platform's batch table.
                  As of batch b:  ``ds_surf_batch_in <= b AND b <= ds_surf_batch_out``.
                  As of time t:   ``ds_surf_valid_from <= t AND (ds_surf_valid_to IS NULL OR t < ds_surf_valid_to)``.

The reconciler (`view_reconcile`) creates and updates the views; this module is pure.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from datasurface.graph import stream_name
from datasurface.model.assignments import PlatformAssignments
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.problems import path_of
from datasurface.model.workspace import Milestoning

from .naming import batch_metrics_table, merge_table, physical_name, qualified, quote_ident
from .platform import YellowDataPlatform
from .projection import BATCH_IN, BATCH_OUT, LIVE_BATCH_OUT, PhysicalColumn

__all__ = [
    "HISTORY_EXTRA_COLUMNS",
    "VALID_FROM",
    "VALID_TO",
    "SinkViews",
    "ViewKind",
    "ViewSpec",
    "plan_sink_views",
    "sql_string_literal",
    "view_in_schema",
    "view_marker",
    "view_select_sql",
    "workspace_schema",
]

ViewKind = Literal["live", "history"]

VALID_FROM = "ds_surf_valid_from"
VALID_TO = "ds_surf_valid_to"

#: The synthetic columns a history view adds after the dataset's columns, with their types.
HISTORY_EXTRA_COLUMNS: tuple[PhysicalColumn, ...] = (
    PhysicalColumn(BATCH_IN, "integer"),
    PhysicalColumn(BATCH_OUT, "integer"),
    PhysicalColumn(VALID_FROM, "timestamp with time zone"),
    PhysicalColumn(VALID_TO, "timestamp with time zone"),
)

# Model names are checked by lint; a literal we embed in DDL must in any case be one of these,
# so no quote, backslash or other escape can ever reach the SQL text.
_SAFE_LITERAL = re.compile(r"[A-Za-z0-9_.:/ =\-]*\Z")


def workspace_schema(platform: str, workspace: str) -> str:
    """The schema holding a workspace's views on a platform (see the module docstring)."""
    return physical_name(platform, workspace, "views")


def view_in_schema(dsg: str, store: str, dataset: str, kind: ViewKind) -> str:
    """A view's name inside its workspace schema."""
    if kind not in ("live", "history"):
        raise ValueError(f"view kind must be 'live' or 'history', not {kind!r}")
    return physical_name(dsg, store, dataset, "v" if kind == "live" else "vh")


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """One consumer view to create: where it lives, what it reads, which columns it shows."""

    platform: str
    workspace: str
    dsg: str
    store: str
    dataset: str
    stream: str
    kind: ViewKind
    schema: str
    name: str
    merge_table: str
    forensic_table: bool
    columns: tuple[str, ...]  # the dataset's columns, in model order

    @property
    def qualified(self) -> str:
        """`schema.view`: both parts are legal unquoted identifiers, so this is usable SQL."""
        return f"{self.schema}.{self.name}"

    @property
    def sql_name(self) -> str:
        return qualified(self.name, self.schema)

    @property
    def where(self) -> str:
        """The object path used in messages."""
        return (
            path_of(
                ("Platform", self.platform),
                ("Workspace", self.workspace),
                ("DSG", self.dsg),
                ("Store", self.store),
                ("Dataset", self.dataset),
            )
            + f" ({self.kind} view {self.qualified})"
        )

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "schema": self.schema, "name": self.name, "qualified": self.qualified}


@dataclass(frozen=True, slots=True)
class SinkViews:
    """The views of one sink of one DSG of one workspace on one platform."""

    platform: str
    workspace: str
    dsg: str
    store: str
    dataset: str
    stream: str
    milestoning: Milestoning
    merge_table: str
    live: ViewSpec
    history: ViewSpec | None

    def specs(self) -> list[ViewSpec]:
        return [self.live] if self.history is None else [self.live, self.history]


def plan_sink_views(eco: Ecosystem, assignments: PlatformAssignments, platform: YellowDataPlatform) -> list[SinkViews]:
    """Every view the platform owes its active assignments, sorted for stable output.

    Pure: reads the model only. Assumes a model that lints clean (unknown names are skipped,
    as the pipeline graph does).
    """
    forensic_table = platform.milestoning is Milestoning.FORENSIC
    stores = eco.stores()
    workspaces = eco.workspaces()
    out: dict[tuple[str, str, str, str], SinkViews] = {}
    for assignment in assignments.for_platform(platform.name):
        ws_entry = workspaces.get(assignment.workspace)
        dsg = ws_entry.workspace.dsg(assignment.dsg) if ws_entry else None
        if ws_entry is None or dsg is None:
            continue
        schema = workspace_schema(platform.name, assignment.workspace)
        for sink in dsg.sinks:
            store_entry = stores.get(sink.store)
            dataset = store_entry.store.dataset(sink.dataset) if store_entry else None
            if store_entry is None or dataset is None:
                continue
            table = merge_table(platform.name, sink.store, sink.dataset, forensic=forensic_table)
            stream = stream_name(store_entry.store, sink.dataset)
            columns = tuple(dataset.schema.column_names())

            live = ViewSpec(
                platform=platform.name,
                workspace=assignment.workspace,
                dsg=dsg.name,
                store=sink.store,
                dataset=sink.dataset,
                stream=stream,
                kind="live",
                schema=schema,
                name=view_in_schema(dsg.name, sink.store, sink.dataset, "live"),
                merge_table=table,
                forensic_table=forensic_table,
                columns=columns,
            )
            history = replace(live, kind="history", name=view_in_schema(dsg.name, sink.store, sink.dataset, "history"))
            forensic_dsg = dsg.milestoning is Milestoning.FORENSIC and forensic_table
            key = (assignment.workspace, dsg.name, sink.store, sink.dataset)
            out[key] = SinkViews(
                platform=platform.name,
                workspace=assignment.workspace,
                dsg=dsg.name,
                store=sink.store,
                dataset=sink.dataset,
                stream=stream,
                milestoning=dsg.milestoning,
                merge_table=table,
                live=live,
                history=history if forensic_dsg else None,
            )
    return [out[k] for k in sorted(out)]


def sql_string_literal(value: str) -> str:
    """A SQL string literal for a *model name* embedded in DDL (view bodies and comments can't
    take bind parameters). Only a restricted alphabet is accepted, so escaping can't go wrong."""
    if not _SAFE_LITERAL.match(value):
        raise ValueError(f"refusing to embed {value!r} in SQL: only letters, digits and _.:/ =- are allowed")
    return "'" + value.replace("'", "''") + "'"


def view_select_sql(spec: ViewSpec, table_schema: str, metrics_schema: str) -> str:
    """The view's SELECT. Dataset columns are projected by name, so synthetic columns of the
    merge table never leak; every identifier is quoted."""
    table = qualified(spec.merge_table, table_schema)
    cols = [quote_ident(c) for c in spec.columns]
    if spec.kind == "live":
        select = f"SELECT {', '.join(cols)} FROM {table}"
        if spec.forensic_table:
            select += f" WHERE {quote_ident(BATCH_OUT)} = {LIVE_BATCH_OUT}"
        return select
    metrics = qualified(batch_metrics_table(spec.platform), metrics_schema)
    # One scan of the stream's committed batches gives each batch's commit time and the commit
    # time of the next committed batch (lead): the end of validity of a version closed there.
    # FAILED batches are skipped, so validity never ends at a batch that never happened.
    batches = (
        f"SELECT batch_id, ended_at AS committed_at, lead(ended_at) OVER (ORDER BY batch_id) AS next_committed_at"
        f" FROM {metrics} WHERE stream = {sql_string_literal(spec.stream)} AND state = 'COMMITTED'"
    )
    h = [f"h.{c}" for c in cols]
    return (
        f"WITH b AS ({batches}) "
        f"SELECT {', '.join(h)}, h.{quote_ident(BATCH_IN)}, h.{quote_ident(BATCH_OUT)},"
        f" bi.committed_at AS {quote_ident(VALID_FROM)}, bo.next_committed_at AS {quote_ident(VALID_TO)}"
        f" FROM {table} h"
        f" LEFT JOIN b bi ON bi.batch_id = h.{quote_ident(BATCH_IN)}"
        f" LEFT JOIN b bo ON bo.batch_id = h.{quote_ident(BATCH_OUT)} AND h.{quote_ident(BATCH_OUT)} <> {LIVE_BATCH_OUT}"
    )


def view_marker(spec: ViewSpec, select_sql: str) -> str:
    """The view's COMMENT: who owns it and a hash of its definition. A rerun with the same
    hash and columns leaves the view alone (no lock taken, grants untouched)."""
    digest = hashlib.sha256(select_sql.encode()).hexdigest()[:16]
    return (
        f"datasurface {spec.kind} view: platform={spec.platform} workspace={spec.workspace} dsg={spec.dsg}"
        f" store={spec.store} dataset={spec.dataset} sql_sha256={digest}"
    )
