"""Run SQL on the local stack's Postgres and print the rows as a table. The HOWTOs use it, so
that they need no `psql`.

    python howto/sql.py "SELECT ..." ["SELECT ..." ...]    # the merge database
    python howto/sql.py --db source "SELECT ..."           # the source (customer) database
    python howto/sql.py --db postgres "CREATE DATABASE x"  # any database on the same server

Settings come from the environment the local stack uses (`python -m datasurface.local_stack
env`): DATASURFACE_MERGE_HOST/PORT/DB, DATASURFACE_SOURCE_HOST/PORT/DB, POSTGRES_USER and
POSTGRES_PASSWORD, defaulting to the local stack on 127.0.0.1:${DATASURFACE_LOCAL_PG_PORT:-55432}.
Each statement runs in autocommit mode; the first error stops the run with exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

try:
    from sqlalchemy import URL, create_engine, text
    from sqlalchemy.exc import DBAPIError

    from datasurface.local_stack import DEFAULT_PORT, local_env
except ModuleNotFoundError as exc:  # a plain python3, before `make demo` created the virtualenv
    sys.exit(
        f"error: {exc}: howto/sql.py needs the project's virtualenv; run `make demo` (or `make venv`) first, "
        "then `source .venv/bin/activate`"
    )


def database_url(db: str) -> URL:
    settings = {**local_env(int(os.environ.get("DATASURFACE_LOCAL_PG_PORT", DEFAULT_PORT))), **os.environ}
    side = "SOURCE" if db == "source" else "MERGE"
    name = settings[f"DATASURFACE_{side}_DB"] if db in ("source", "merge") else db
    return URL.create(
        "postgresql+psycopg",
        username=settings.get("POSTGRES_USER") or "postgres",
        password=settings.get("POSTGRES_PASSWORD") or None,
        host=settings[f"DATASURFACE_{side}_HOST"],
        port=int(settings[f"DATASURFACE_{side}_PORT"]),
        database=name,
    )


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.append(f"({len(cells)} row{'' if len(cells) == 1 else 's'})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", default="merge", help="merge (default), source, or a database name")
    parser.add_argument("sql", nargs="+", help="statements, each run on its own")
    args = parser.parse_args(argv)
    engine = create_engine(database_url(args.db), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in args.sql:
                result = conn.execute(text(statement))
                if result.returns_rows:
                    print(format_table(list(result.keys()), result.all()))
                else:
                    print("OK")
    except DBAPIError as exc:
        print(f"error: {exc.orig}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
