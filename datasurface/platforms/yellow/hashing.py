"""The all-columns row hash, computed in SQL.

It is ``hashtextextended(<encoding>, 0)``: a 64-bit ``bigint``, fixed width and stored in 8
bytes, and about three times cheaper to compute than ``md5``. 64 bits are ample because the
hash is only ever used for change detection: the merge compares the old and the new version
of the *same* key (matched on the primary-key columns themselves, never on a hash), so a
change goes unnoticed only if two versions of one key collide, a 2**-64 coincidence. Keys
are never hashed: matching keys by a hash would make a collision merge two different keys.

The encoding of a row is injective (two different rows never encode to the same string):

- Columns are taken in name order, so reordering columns in the model changes nothing.
- A non-NULL value contributes ``<tag>`` followed by ``quote_literal(value)``. The tag is a
  constant built here, ``<len(name)>:<name>=``, so it is self-delimiting whatever the
  column name contains. ``quote_literal`` doubles embedded quotes (and backslashes, in
  ``E'...'`` form), so the literal's closing quote is unambiguous: a value containing the
  "delimiter" or anything else cannot run into the next field. ``('ab','c')`` encodes as
  ``1:a='ab'1:b='c'`` and ``('a','bc')`` as ``1:a='a'1:b='bc'``.
- The explicit NULL marker is the *absence of the tagged field*: ``''`` contributes
  ``1:a=''`` while NULL contributes nothing. Absence (rather than a marker string) is
  deliberate: adding a nullable column to a dataset leaves the hash of every existing row
  unchanged while the new column is NULL, so schema evolution neither rewrites the live
  table nor creates a spurious new forensic version of every row.

Text renderings of dates, timestamps, intervals, floats and bytea depend on session
settings. Every session that computes hashes (the source session when a Postgres source
computes them inside its COPY, the merge session otherwise) first runs `hash_settings_sql`
so that a value always renders the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from .naming import quote_ident

__all__ = ["HASH_SETTINGS", "all_hash_sql", "hash_settings_sql"]

# Pinned renderings for hashing (SET LOCAL: they end with the transaction).
HASH_SETTINGS: dict[str, str] = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "1",
    "bytea_output": "hex",
}


def hash_settings_sql() -> list[str]:
    """``SET LOCAL`` statements to run in the transaction that computes hashes."""
    return [f"SET LOCAL {name} = '{value}'" for name, value in HASH_SETTINGS.items()]


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _field(column: str, alias: str | None) -> str:
    ref = quote_ident(column) if alias is None else f"{quote_ident(alias)}.{quote_ident(column)}"
    tag = _sql_string(f"{len(column)}:{column}=")
    return f"{tag} || quote_literal({ref})"


def all_hash_sql(columns: Sequence[str], alias: str | None = None) -> str:
    """SQL expression (bigint) hashing every column in `columns`; NULL columns contribute nothing.

    Never NULL: a row of all NULLs hashes the empty string.
    """
    if not columns:
        raise ValueError("all_hash_sql needs at least one column")
    fields = [f"coalesce({_field(c, alias)}, '')" for c in sorted(columns)]
    return "hashtextextended(" + " || ".join(fields) + ", 0)"
