"""DAG docs and owners generated from the model (no Airflow imports: plain strings).

A stream DAG's docs name its store, datasets, owning team, the DSGs it feeds and the
compiled model's hash; its owner is the store's owning team (Airflow shows owners as a
filterable column). A pack DAG lists every member the same way; its owners are the
members' teams.
"""

from __future__ import annotations

from datasurface.platforms.yellow.stream_config import PackConfig, StreamConfig


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


def pack_owner(config: PackConfig) -> str:
    teams = sorted({m.team for m in config.members if m.team})
    return ",".join(teams) or "datasurface"


def pack_doc_md(config: PackConfig) -> str:
    lines = [
        f"### Pack `{config.pack}` on Yellow platform `{config.platform}`: {len(config.members)} stream(s)",
        "",
        f"Schedule: {f'cron `{config.cron}` (its most frequent member)' if config.cron else 'external only'};"
        f" pool `{config.pool}` ({config.pool_slots} pack run(s) at once). {_model_line(config.model_hash)}",
        "",
        "| Stream | Store | Datasets | Team | Consumers | Trigger | Priority |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in config.members:
        lines.append(
            "| "
            + " | ".join(
                _cell(x)
                for x in (
                    m.stream,
                    m.store,
                    ", ".join(m.datasets),
                    m.team,
                    ", ".join(m.consumers) or "none",
                    f"cron {m.cron}" if m.cron else "external",
                    str(m.priority),
                )
            )
            + " |"
        )
    return "\n".join(lines)
