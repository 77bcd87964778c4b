"""Helpers shared by the orchestration tests: CLI JSON, views and catalog reads."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, text

from tests.job.harness import Stack


def cli_json(stack: Stack, *args: str, expect: int = 0, extra_env: dict[str, str] | None = None) -> Any:
    done = stack.cli(*args, "--json", extra_env=extra_env)
    assert done.returncode == expect, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return json.loads(done.stdout)


def reconcile(stack: Stack, platform: str, expect: int = 0) -> Any:
    return cli_json(stack, "views", "reconcile", "--model", str(stack.model_dir), "--platform", platform, expect=expect)


def listed_views(stack: Stack) -> list[dict[str, Any]]:
    data = cli_json(stack, "views", "list", "--model", str(stack.model_dir))
    return list(data["views"])


def view_of(views: list[dict[str, Any]], platform: str, dataset: str, kind: str = "live_view") -> str:
    (entry,) = [v for v in views if v["platform"] == platform and v["dataset"] == dataset]
    return str(entry[kind]["qualified"])


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def columns(engine: Engine, qualified: str) -> list[str]:
    with engine.connect() as conn:
        result = conn.execute(text(f"SELECT * FROM {qualified} LIMIT 0"))
        return list(result.keys())


def consumer_views(engine: Engine) -> list[tuple[str, str, str]]:
    """(schema, view, definition) of every view outside the system schemas."""
    with engine.connect() as conn:
        return [
            (r[0], r[1], r[2])
            for r in conn.execute(
                text(
                    "SELECT schemaname, viewname, definition FROM pg_views"
                    " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
                )
            )
        ]
