"""Create and update consumer views (see `views` for what they are and where they live).

Per view, in its own SAVEPOINT so one failure doesn't undo the others:

- merge table missing                  -> pending (the stream's first batch creates it)
- merge table lacks a dataset column    -> pending (the next batch adds it); the old view stays
- same columns and the same definition  -> unchanged (nothing executed, no lock taken)
- new column list extends the old one   -> CREATE OR REPLACE VIEW
- anything else (a column gone, a type
  widened, columns reordered)            -> DROP VIEW + CREATE VIEW in the same transaction,
                                           its grants re-applied, so consumers never see it
                                           missing or without their privileges

Then the views this platform manages that no spec names any more (the sink, its DSG or its
workspace left the model, or the DSG's assignment to this platform ended) are dropped, each
reported as `dropped` with the reason, so consumers don't read a view that stopped moving. A
view is this platform's when its COMMENT is the marker `view_marker` wrote (`datasurface
<kind> view: platform=<name> ...`); views anyone else created are never touched. A view that
another object depends on is not dropped (no CASCADE): it is reported `failed`, naming it.

Reconcilers of one platform are serialised by a transaction-level advisory lock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .batch_metadata import create_batch_tables, stream_lock_key
from .naming import batch_metrics_table, qualified, quote_ident
from .pgconn import AnyConnection, AnyEngine, database_errors, first_line, text
from .projection import PhysicalColumn, read_table_columns
from .views import HISTORY_EXTRA_COLUMNS, ViewSpec, sql_string_literal, view_marker, view_select_sql

__all__ = ["ViewOutcome", "ViewStatus", "drop_dependent_views", "managed_views", "reconcile_views", "views_exist"]

ViewStatus = Literal["created", "updated", "recreated", "unchanged", "pending", "failed", "dropped"]

#: Parses `views.view_marker`; names are model identifiers (no blanks).
_MARKER = re.compile(
    r"^datasurface (?P<kind>live|history) view: platform=(?P<platform>\S+) workspace=(?P<workspace>\S+)"
    r" dsg=(?P<dsg>\S+) store=(?P<store>\S+) dataset=(?P<dataset>\S+) sql_sha256="
)


@dataclass(frozen=True, slots=True)
class ViewOutcome:
    spec: ViewSpec
    status: ViewStatus
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status not in ("pending", "failed")

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace": self.spec.workspace,
            "dsg": self.spec.dsg,
            "store": self.spec.store,
            "dataset": self.spec.dataset,
            "kind": self.spec.kind,
            "view": self.spec.qualified,
            "status": self.status,
            "reason": self.reason,
        }


def reconcile_views(engine: AnyEngine, platform: str, specs: Sequence[ViewSpec]) -> list[ViewOutcome]:
    """Bring every view in `specs` (all of one platform) up to date; one outcome per spec."""
    outcomes: list[ViewOutcome] = []
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": stream_lock_key(platform, "#views")})
        metrics_schema = ""
        if any(s.kind == "history" for s in specs):
            create_batch_tables(conn, platform)  # idempotent; history views join it
            metrics_schema = _schema_of(conn, batch_metrics_table(platform)) or ""
        for spec in specs:
            try:
                with conn.begin_nested():
                    outcomes.append(_reconcile_one(conn, spec, metrics_schema))
            except database_errors() as exc:
                first = first_line(exc)
                outcomes.append(ViewOutcome(spec, "failed", f"{spec.where}: {first}"))
            except ValueError as exc:  # a name that may not be embedded in DDL
                outcomes.append(ViewOutcome(spec, "failed", f"{spec.where}: {exc}"))
        outcomes += _drop_orphans(conn, platform, specs)
    return outcomes


def managed_views(conn: AnyConnection, platform: str) -> list[ViewSpec]:
    """The views whose COMMENT says this platform created them, as specs rebuilt from the
    marker (stream, merge table and columns unknown: enough to name and drop them)."""
    rows = conn.execute(
        text(
            "SELECT n.nspname, c.relname, d.description FROM pg_catalog.pg_class c"
            " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.objsubid = 0"
            "  AND d.classoid = 'pg_catalog.pg_class'::regclass"
            " WHERE c.relkind = 'v' AND d.description LIKE 'datasurface % view: platform=%'"
            " ORDER BY 1, 2"
        )
    ).all()
    found: list[ViewSpec] = []
    for schema, name, comment in rows:
        marker = _MARKER.match(str(comment))
        if marker is None or marker["platform"] != platform:
            continue  # another platform's view in the same database, or not ours at all
        found.append(
            ViewSpec(
                platform=platform,
                workspace=marker["workspace"],
                dsg=marker["dsg"],
                store=marker["store"],
                dataset=marker["dataset"],
                stream="",
                kind="history" if marker["kind"] == "history" else "live",
                schema=str(schema),
                name=str(name),
                merge_table="",
                forensic_table=False,
                columns=(),
            )
        )
    return found


def _drop_orphans(conn: AnyConnection, platform: str, specs: Sequence[ViewSpec]) -> list[ViewOutcome]:
    wanted = {(s.schema, s.name) for s in specs}
    outcomes: list[ViewOutcome] = []
    for orphan in managed_views(conn, platform):
        if (orphan.schema, orphan.name) in wanted:
            continue
        try:
            with conn.begin_nested():
                conn.execute(text(f"DROP VIEW {orphan.sql_name}"))
        except database_errors() as exc:
            first = first_line(exc)
            outcomes.append(
                ViewOutcome(
                    orphan,
                    "failed",
                    f"{orphan.where}: no sink of the model reads it on this platform any more, but it was not "
                    f"dropped: {first}; drop what depends on it, then reconcile again",
                )
            )
            continue
        outcomes.append(
            ViewOutcome(
                orphan,
                "dropped",
                f"{orphan.where}: dropped, no sink of the model reads it on this platform any more "
                "(the sink, its DSG or its workspace was removed, or the DSG is no longer assigned here)",
            )
        )
    return outcomes


def _schema_of(conn: AnyConnection, table: str) -> str | None:
    """The schema the engine's search path resolves `table` to (the job creates its tables
    unqualified), or None when it does not exist."""
    value = conn.execute(
        text(
            "SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.oid = to_regclass(:rel)"
        ),
        {"rel": quote_ident(table)},
    ).scalar()
    return None if value is None else str(value)


def _reconcile_one(conn: AnyConnection, spec: ViewSpec, metrics_schema: str) -> ViewOutcome:
    table_schema = _schema_of(conn, spec.merge_table)
    if table_schema is None:
        return ViewOutcome(
            spec,
            "pending",
            f"{spec.where}: merge table {spec.merge_table} does not exist yet; the first batch of stream "
            f"'{spec.stream}' creates it (`datasurface job run --platform {spec.platform} --stream {spec.stream}`), "
            "then run `datasurface views reconcile` again",
        )
    table_cols = read_table_columns(conn, spec.merge_table, table_schema)
    missing = [c for c in spec.columns if c not in table_cols]
    if missing:
        return ViewOutcome(
            spec,
            "pending",
            f"{spec.where}: merge table {spec.merge_table} has no column(s) {', '.join(missing)} yet; the next "
            f"batch of stream '{spec.stream}' adds them, then run `datasurface views reconcile` again",
        )
    wanted = [PhysicalColumn(c, table_cols[c].pg_type) for c in spec.columns]
    if spec.kind == "history":
        wanted += HISTORY_EXTRA_COLUMNS
    select = view_select_sql(spec, table_schema, metrics_schema)
    marker = view_marker(spec, select)
    existing = _signature(read_table_columns(conn, spec.name, spec.schema).values())
    if existing == _signature(wanted) and _comment(conn, spec) == marker:
        return ViewOutcome(spec, "unchanged")
    conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(spec.schema)}"))
    if not existing:
        conn.execute(text(f"CREATE VIEW {spec.sql_name} AS {select}"))
        status: ViewStatus = "created"
    elif _signature(wanted)[: len(existing)] == existing:
        # Postgres allows CREATE OR REPLACE only when the old columns stay, same names and
        # types, in the same order, with new ones appended.
        conn.execute(text(f"CREATE OR REPLACE VIEW {spec.sql_name} AS {select}"))
        status = "updated"
    else:
        grants = _grants(conn, spec)
        conn.execute(text(f"DROP VIEW {spec.sql_name}"))
        conn.execute(text(f"CREATE VIEW {spec.sql_name} AS {select}"))
        for grant in grants:
            conn.execute(text(grant))
        status = "recreated"
    conn.execute(text(f"COMMENT ON VIEW {spec.sql_name} IS {sql_string_literal(marker)}"))
    return ViewOutcome(spec, status)


def _signature(columns: Sequence[PhysicalColumn] | Any) -> list[tuple[str, str]]:
    return [(c.name, c.pg_type) for c in columns]


def _comment(conn: AnyConnection, spec: ViewSpec) -> str | None:
    value = conn.execute(text("SELECT obj_description(to_regclass(:rel), 'pg_class')"), {"rel": spec.sql_name}).scalar()
    return None if value is None else str(value)


def _grants(conn: AnyConnection, spec: ViewSpec) -> list[str]:
    """GRANT statements re-creating the view's privileges (except the owner's own)."""
    rows = conn.execute(
        text(
            "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, a.privilege_type,"
            " a.is_grantable"
            " FROM pg_catalog.pg_class c, aclexplode(c.relacl) a"
            " WHERE c.oid = to_regclass(:rel) AND a.grantee <> c.relowner"
        ),
        {"rel": spec.sql_name},
    )
    out = []
    for grantee, privilege, grantable in rows:
        if privilege not in _PRIVILEGES:
            continue
        who = "PUBLIC" if grantee is None else quote_ident(grantee)
        out.append(f"GRANT {privilege} ON {spec.sql_name} TO {who}" + (" WITH GRANT OPTION" if grantable else ""))
    return out


_PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"})


def views_exist(conn: AnyConnection, qualified_names: Sequence[str]) -> dict[str, bool]:
    """Which of these `schema.view` names exist, in one query."""
    if not qualified_names:
        return {}
    rows = conn.execute(
        text("SELECT q, to_regclass(q) IS NOT NULL FROM unnest(CAST(:qs AS text[])) AS q"),
        {"qs": list(qualified_names)},
    )
    return {str(q): bool(found) for q, found in rows}


def drop_dependent_views(conn: AnyConnection, table: str) -> list[str]:
    """Drop the views that read `table` (in the caller's transaction) and return their names.

    Postgres refuses `ALTER COLUMN ... TYPE` on a column a view uses, so a widening first
    drops the consumer views of that table; the caller reconciles them right after.
    """
    rows = conn.execute(
        text(
            "SELECT DISTINCT n.nspname, c.relname FROM pg_depend d"
            " JOIN pg_rewrite r ON r.oid = d.objid"
            " JOIN pg_class c ON c.oid = r.ev_class"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = to_regclass(:t) AND c.oid <> d.refobjid"
        ),
        {"t": quote_ident(table)},
    ).all()
    dropped = []
    for schema, name in rows:
        conn.execute(text(f"DROP VIEW IF EXISTS {qualified(name, schema)}"))
        dropped.append(f"{schema}.{name}")
    return dropped
