"""DAG docs and owners generated from the model (no Airflow imports: plain strings).

A stream DAG's docs name its store, datasets, owning team, the DSGs it feeds and the
compiled model's hash; its owner is the store's owning team (Airflow shows owners as a
filterable column). A pack DAG lists every member the same way; its owners are the
members' teams. A pack's docs and owner are rendered when its config row is written (by
the merge handler), so the DAG factory reads one string per pack instead of validating
and formatting a hundred member records on every parse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .stream_config import StreamConfig


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _model_line(model_hash: str | None) -> str:
    return (
        f"Model hash: `{model_hash}`"
        if model_hash
        else "Model hash: none (loaded from eco.py, not a compiled manifest)"
    )


def stream_owner(config: StreamConfig) -> str:
    return config.team or "datasurface"


def stream_doc_md(config: StreamConfig) -> str:
    consumers = ", ".join(config.consumers) or "none"
    return "\n".join(
        [
            f"### Stream `{config.stream}` on Yellow platform `{config.platform}`",
            "",
            f"- Store: `{config.store}` (owning team: `{config.team or 'unknown'}`)",
            f"- Datasets: {', '.join(f'`{d}`' for d in config.datasets)}",
            f"- Consumers (workspace/DSG): {consumers}",
            f"- Trigger: {f'cron `{config.cron}`' if config.cron else 'external'}; priority {config.priority}",
            f"- {_model_line(config.model_hash)}",
        ]
    )


def pack_owner(members: Sequence[StreamConfig]) -> str:
    teams = sorted({m.team for m in members if m.team})
    return ",".join(teams) or "datasurface"


def pack_doc_md(
    pack: str, platform: str, cron: str | None, pool: str, pool_slots: int, members: Sequence[StreamConfig]
) -> str:
    model_hash = members[0].model_hash if members else None
    lines = [
        f"### Pack `{pack}` on Yellow platform `{platform}`: {len(members)} stream(s)",
        "",
        f"Schedule: {f'cron `{cron}` (its most frequent member)' if cron else 'external only'};"
        f" pool `{pool}` ({pool_slots} pack run(s) at once). {_model_line(model_hash)}",
        "",
        "| Stream | Store | Datasets | Team | Consumers | Trigger | Priority |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in members:
        cells = (
            m.stream,
            m.store,
            ", ".join(m.datasets),
            m.team,
            ", ".join(m.consumers) or "none",
            f"cron {m.cron}" if m.cron else "external",
            str(m.priority),
        )
        lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    return "\n".join(lines)
