"""A DataTransformer: workspace code that produces a new datastore."""

from __future__ import annotations

from dataclasses import dataclass

from datasurface.model.triggers import Trigger


@dataclass(slots=True)
class CodeReference:
    """`module:callable` inside `folder` (relative to the model) at `version`."""

    module: str
    callable: str
    version: str
    folder: str = "."


@dataclass(slots=True)
class DataTransformer:
    """Runs `code` against its workspace's views and writes datastore `output_store`
    (owned by the same team). `trigger` is a cron or `None` for "after the inputs commit"."""

    code: CodeReference
    output_store: str
    trigger: Trigger | None = None
