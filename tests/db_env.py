"""The variables a sandbox-style model reads to find its source and merge databases."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def database_env(source_url: str, merge_url: str) -> dict[str, str]:
    """DATASURFACE_SOURCE_HOST/PORT/DB and DATASURFACE_MERGE_HOST/PORT/DB for two database
    URLs (credentials are each caller's own: their variable names follow its model)."""
    src, mrg = make_url(source_url), make_url(merge_url)
    return {
        "DATASURFACE_SOURCE_HOST": src.host or "127.0.0.1",
        "DATASURFACE_SOURCE_PORT": str(src.port or 5432),
        "DATASURFACE_SOURCE_DB": src.database or "",
        "DATASURFACE_MERGE_HOST": mrg.host or "127.0.0.1",
        "DATASURFACE_MERGE_PORT": str(mrg.port or 5432),
        "DATASURFACE_MERGE_DB": mrg.database or "",
    }
