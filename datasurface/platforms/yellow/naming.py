"""The one naming service for Yellow's physical names.

Every table, index, view and metadata table name is built here from a *logical tuple*: the
model names it derives from plus a fixed kind tag, for example
``("yellow_prod", "crm", "customers", "stg")``.

Rules (ARCHITECTURE.md, "Contracts"):

- The result is a legal *unquoted* Postgres identifier, ``[a-z_][a-z0-9_]*``, at most 63
  bytes (NAMEDATALEN - 1; longer names are silently truncated by Postgres, which would make
  two names collide).
- Deterministic: the same tuple always gives the same name.
- Collision-free: two tuples that differ other than in letter case never give the same
  name. Case is folded first: lint keeps every model name unique ignoring case (as
  Postgres folds unquoted identifiers), so `Store1` stays readable as `store1`.

How collision-freedom is achieved:

- A *natural* name joins the parts with a double underscore. It is used only when every
  part is already a "simple" name (``[a-z0-9]+`` words joined by single underscores: no
  upper case, no leading, trailing or double underscores) and the result fits. Splitting a
  natural name on ``__`` gives the parts back, so two different tuples can never share one:
  ``("a_b", "c") -> "a_b__c"`` while ``("a", "b_c") -> "a__b_c"``.
- Every other tuple gets a *hashed* name: a sanitised, shortened readable prefix, then
  ``___`` (three underscores, which no natural name contains) and 10 hex digits of the
  SHA-256 of the JSON encoding of the full, unshortened, case-folded tuple. JSON is an
  unambiguous encoding of a list of strings, so only a 40-bit hash collision could map two
  tuples to one hashed name, and a hashed name can never equal a natural name.

Generated SQL must still quote every identifier (`quote_ident`): names of dataset columns
come straight from the model and are not passed through this service.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal

__all__ = [
    "MAX_IDENTIFIER_LENGTH",
    "batch_metrics_table",
    "config_table",
    "index_name",
    "is_legal_identifier",
    "merge_table",
    "physical_name",
    "qualified",
    "quote_ident",
    "staging_table",
    "view_name",
]

MAX_IDENTIFIER_LENGTH = 63
HASH_HEX_DIGITS = 10
_HASH_SEPARATOR = "___"

_LEGAL = re.compile(r"[a-z_][a-z0-9_]*\Z")
_SIMPLE_PART = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*\Z")
_ILLEGAL_CHARS = re.compile(r"[^a-z0-9_]+")
_UNDERSCORE_RUNS = re.compile(r"_{2,}")


def is_legal_identifier(name: str) -> bool:
    """True when `name` is a lower-case unquoted Postgres identifier of at most 63 bytes."""
    return bool(_LEGAL.match(name)) and len(name.encode()) <= MAX_IDENTIFIER_LENGTH


def quote_ident(name: str) -> str:
    """Double-quote an identifier for generated SQL (embedded quotes doubled).

    Always quote: dataset column names come from the model and may be reserved words or
    mixed case.
    """
    if not name or "\x00" in name:
        raise ValueError(f"Identifier {name!r} is empty or contains a NUL byte")
    return '"' + name.replace('"', '""') + '"'


def qualified(name: str, schema: str | None = None) -> str:
    """A quoted, optionally schema-qualified name."""
    return quote_ident(name) if schema is None else f"{quote_ident(schema)}.{quote_ident(name)}"


def _digest(parts: tuple[str, ...]) -> str:
    encoded = json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()[:HASH_HEX_DIGITS]


def _sanitise(text: str) -> str:
    lowered = _ILLEGAL_CHARS.sub("_", text.lower())
    return _UNDERSCORE_RUNS.sub("_", lowered).strip("_")


def physical_name(*parts: str) -> str:
    """The physical name for a logical tuple of names (see the module docstring).

    >>> physical_name("yellow", "crm", "customers", "stg")
    'yellow__crm__customers__stg'
    >>> physical_name("Yellow", "crm")
    'yellow__crm___...'  # doctest: +SKIP
    """
    if not parts:
        raise ValueError("physical_name needs at least one part")
    # Lint makes model names unique ignoring case, so folding case loses nothing and keeps
    # names like `Store1` readable (`store1`) instead of hashed.
    parts = tuple(p.lower() for p in parts)
    if all(_SIMPLE_PART.match(p) for p in parts):
        natural = "__".join(parts)
        if natural[0] not in "0123456789" and len(natural) <= MAX_IDENTIFIER_LENGTH:
            return natural
    suffix = _HASH_SEPARATOR + _digest(parts)
    prefix = "__".join(s for s in (_sanitise(p) for p in parts) if s) or "n"
    if prefix[0] in "0123456789":
        prefix = "n" + prefix
    # Strip trailing underscores so the separator stays exactly three underscores long.
    prefix = prefix[: MAX_IDENTIFIER_LENGTH - len(suffix)].rstrip("_") or "n"
    return prefix + suffix


def staging_table(platform: str, store: str, dataset: str) -> str:
    """Staging table of one dataset: rows of the open batch, tagged with the batch id."""
    return physical_name(platform, store, dataset, "stg")


def merge_table(platform: str, store: str, dataset: str, *, forensic: bool = False) -> str:
    """Merge table of one dataset: live (SCD1) or forensic (SCD2, batch_in / batch_out)."""
    return physical_name(platform, store, dataset, "hist" if forensic else "live")


def batch_metrics_table(platform: str) -> str:
    """The platform's batch table: one row per stream and batch, with its `BatchState`."""
    return physical_name(platform, "batch_metrics")


def config_table(platform: str) -> str:
    """The platform's DAG configuration table: one row per ingestion stream."""
    return physical_name(platform, "dag_config")


def index_name(table: str, suffix: str) -> str:
    """An index (or constraint) on `table`, e.g. ``index_name(t, "key")``."""
    return physical_name(table, "ix", suffix)


def view_name(
    platform: str,
    workspace: str,
    dsg: str,
    store: str,
    dataset: str,
    kind: Literal["live", "history"] = "live",
) -> str:
    """A consumer view of one dataset sink of a workspace's DSG on a platform."""
    if kind not in ("live", "history"):
        raise ValueError(f"view kind must be 'live' or 'history', not {kind!r}")
    return physical_name(platform, workspace, dsg, store, dataset, "v" if kind == "live" else "vh")
