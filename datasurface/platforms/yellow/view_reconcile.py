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

Reconcilers of one platform are serialised by a transaction-level advisory lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from .batch_metadata import create_batch_tables, stream_lock_key
from .naming import batch_metrics_table, qualified, quote_ident
from .projection import PhysicalColumn, read_table_columns
from .views import HISTORY_EXTRA_COLUMNS, ViewSpec, sql_string_literal, view_marker, view_select_sql

__all__ = ["ViewOutcome", "ViewStatus", "drop_dependent_views", "reconcile_views", "views_exist"]

ViewStatus = Literal["created", "updated", "recreated", "unchanged", "pending", "failed"]


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


def reconcile_views(engine: Engine, platform: str, specs: Sequence[ViewSpec]) -> list[ViewOutcome]:
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
            except DBAPIError as exc:
                first = str(exc.orig or exc).strip().splitlines()[0]
                outcomes.append(ViewOutcome(spec, "failed", f"{spec.where}: {first}"))
            except ValueError as exc:  # a name that may not be embedded in DDL
                outcomes.append(ViewOutcome(spec, "failed", f"{spec.where}: {exc}"))
    return outcomes


def _schema_of(conn: Connection, table: str) -> str | None:
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


def _reconcile_one(conn: Connection, spec: ViewSpec, metrics_schema: str) -> ViewOutcome:
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


def _comment(conn: Connection, spec: ViewSpec) -> str | None:
    value = conn.execute(text("SELECT obj_description(to_regclass(:rel), 'pg_class')"), {"rel": spec.sql_name}).scalar()
    return None if value is None else str(value)


def _grants(conn: Connection, spec: ViewSpec) -> list[str]:
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


def views_exist(conn: Connection, qualified_names: Sequence[str]) -> dict[str, bool]:
    """Which of these `schema.view` names exist, in one query."""
    if not qualified_names:
        return {}
    rows = conn.execute(
        text("SELECT q, to_regclass(q) IS NOT NULL FROM unnest(CAST(:qs AS text[])) AS q"),
        {"qs": list(qualified_names)},
    )
    return {str(q): bool(found) for q, found in rows}


def drop_dependent_views(conn: Connection, table: str) -> list[str]:
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
