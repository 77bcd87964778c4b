"""Config rows for the DAG factory: from the merge database, else the last good copy on disk.

One connection and one query per platform, whatever the number of streams. A successful read
is cached per platform (atomically, and only when it changed); when the database can't be
reached, or a platform's config table is missing, the cached rows are used instead so that a
database outage never makes the DAGs disappear. Rows are validated one by one: a bad row is
logged and skipped, never hiding the others.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg
from pydantic import ValidationError

from datasurface.platforms.yellow.naming import config_table, quote_ident
from datasurface.platforms.yellow.pgconn import Engine, connect_params, text
from datasurface.platforms.yellow.stream_config import read_config_rows
from datasurface.platforms.yellow.transformer_config import DagConfig, parse_config

from .settings import PLATFORMS_ENV, FactorySettings, SettingsError

log = logging.getLogger("datasurface.airflow.factory")

#: (row key, config): JSON text from the database, decoded JSON from the cache.
RawRows = list[tuple[str, Any]]
#: (row key, config JSON text), as the database holds them.
DatabaseRows = list[tuple[str, str]]
CACHE_VERSION = 1


def load_raw_rows(settings: FactorySettings) -> dict[str, RawRows]:
    """Raw (stream, config) rows per platform: the database's, or the cache's where it fails."""
    fresh: dict[str, DatabaseRows] = {}
    if not settings.platforms:
        log.warning("%s is empty: no stream DAGs", PLATFORMS_ENV)
        return {}
    try:
        fresh = _read_database(settings)
    except (SettingsError, psycopg.Error) as exc:
        # First line only: driver errors run to many lines; URLs here never hold a password.
        log.warning("merge database unavailable (%s); using cached DAG config", str(exc).splitlines()[0])
    rows: dict[str, RawRows] = {}
    for platform in settings.platforms:
        if platform in fresh:
            rows[platform] = fresh[platform]
            _write_cache(settings.cache_dir, platform, fresh[platform])
        else:
            rows[platform] = _read_cache(settings.cache_dir, platform)
    return rows


def _read_database(settings: FactorySettings) -> dict[str, DatabaseRows]:
    db = settings.merge_db_url()
    timeout = max(1, round(settings.db_timeout_s))
    connect_args = connect_params(db.host, db.port, db.database, db.username, db.password)
    # Fail fast: a parse that hangs on a dead database hits dagbag_import_timeout and loses
    # every DAG of the file, which is exactly what the cache is there to prevent.
    connect_args.update(connect_timeout=timeout, options=f"-c statement_timeout={timeout * 1000}")
    engine = Engine("", connect_args=connect_args)
    found: dict[str, DatabaseRows] = {}
    try:
        with engine.connect() as conn:
            for platform in settings.platforms:
                table = quote_ident(config_table(platform))
                # to_regclass, not a failing SELECT: an error would abort the transaction.
                if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
                    log.warning("platform '%s': no config table %s yet; using cached DAG config", platform, table)
                    continue
                found[platform] = read_config_rows(conn, platform)
    finally:
        engine.dispose()
    return found


def parse_rows(platform: str, rows: Iterable[tuple[str, Any]]) -> list[DagConfig]:
    """Validated stream and transformer configs; each bad row is logged (naming platform and
    row key) and skipped."""
    configs: list[DagConfig] = []
    for key, raw in rows:
        try:
            config = parse_config(raw)
        except (ValidationError, ValueError, TypeError) as exc:
            log.error("Platform '%s' / %s: bad config row skipped: %s", platform, _what(key), _one_line(exc))
            continue
        if config.platform != platform or config.row_key != key:
            log.error(
                "Platform '%s' / %s: config row names platform '%s' / %s; skipped",
                platform,
                _what(key),
                config.platform,
                _what(config.row_key),
            )
            continue
        configs.append(config)
    return configs


def _what(key: str) -> str:
    """`Stream 'Store1'` or `Transformer 'Consumer1'`, for messages naming a row."""
    kind, sep, workspace = key.partition(":")
    return f"Transformer '{workspace}'" if sep and kind == "transformer" else f"Stream '{key}'"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


# -- the cache ---------------------------------------------------------------------------------


def cache_file(cache_dir: Path, platform: str) -> Path:
    # Platform names are model identifiers; quote_ident-free, but keep the file name tame.
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in platform)
    return cache_dir / f"{safe}.json"


def _write_cache(cache_dir: Path, platform: str, rows: DatabaseRows) -> None:
    path = cache_file(cache_dir, platform)
    # Rows from the database are JSON text already: spliced in as they are, not re-encoded.
    body = (
        f'{{"platform":{json.dumps(platform)},"version":{CACHE_VERSION},"rows":['
        + ",".join(f"[{json.dumps(key)},{config}]" for key, config in rows)
        + "]}"
    ).encode()
    try:
        # Unchanged (the common case: the dag-processor parses every few seconds): spare the
        # disk. Bytes, and the size first: 1,000 pack rows are a 12 MB file.
        if path.is_file() and path.stat().st_size == len(body) and path.read_bytes() == body:
            return
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Write beside the target, then rename: a reader sees the old file or the new one.
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        # A read-only or full disk must not cost the DAGs we just read successfully.
        log.warning("platform '%s': could not write DAG config cache %s: %s", platform, path, exc)


def _read_cache(cache_dir: Path, platform: str) -> RawRows:
    path = cache_file(cache_dir, platform)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION or data.get("platform") != platform:
            raise ValueError("unexpected cache format")
        rows = [(str(stream), config) for stream, config in data["rows"]]
    except FileNotFoundError:
        log.error("platform '%s': no DAG config from the database and no cache at %s: no DAGs", platform, path)
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("platform '%s': unreadable DAG config cache %s (%s): no DAGs", platform, path, exc)
        return []
    log.warning("platform '%s': building %d DAG(s) from the cache %s", platform, len(rows), path)
    return rows
