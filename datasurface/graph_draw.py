"""Draw the pipeline graph as a picture (matplotlib, imported lazily: a notebooks extra).

Three columns, left to right: datastores, the ingestion streams of each platform, and the
workspace DSGs they feed. Graphviz would lay it out better but needs a system binary; this
needs nothing beyond `pip install datasurface[notebooks]`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datasurface.graph import PlatformGraph

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_COLOURS = {"store": "#d8e8f8", "stream": "#fbe3c4", "dsg": "#d9f0d3"}


def draw_graph(graphs: list[PlatformGraph], title: str = "Pipeline graph") -> Figure:
    import matplotlib.pyplot as plt

    stores = sorted({s.store for g in graphs for s in g.streams})
    streams = [(g.platform.name, s.stream) for g in graphs for s in g.streams]
    # DSGs in the order their streams appear, so arrows cross as little as possible.
    dsgs = list(dict.fromkeys((d.workspace, d.dsg) for g in graphs for s in g.streams for d in s.dsgs))
    rows = max(len(stores), len(streams), len(dsgs), 1)
    fig, ax = plt.subplots(figsize=(12, 1.2 + 0.9 * rows))
    ax.set_axis_off()
    ax.set_xlim(-0.6, 2.6)
    ax.set_ylim(-0.8, rows - 0.2)
    ax.set_title(title)

    def place(items: list[Any], column: int, kind: str, label: Any) -> dict[Any, tuple[float, float]]:
        positions: dict[Any, tuple[float, float]] = {}
        offset = (rows - len(items)) / 2
        for index, item in enumerate(items):
            xy = (float(column), rows - 1 - index - offset)
            positions[item] = xy
            ax.text(*xy, label(item), ha="center", va="center", fontsize=9,
                    bbox={"boxstyle": "round,pad=0.4", "facecolor": _COLOURS[kind], "edgecolor": "#555"})  # fmt: skip
        return positions

    store_at = place(stores, 0, "store", lambda s: f"Datastore\n{s}")
    stream_at = place(streams, 1, "stream", lambda ps: f"{ps[0]}\nstream {ps[1]}")
    dsg_at = place(dsgs, 2, "dsg", lambda wd: f"{wd[0]}\nDSG {wd[1]}")

    def arrow(start: tuple[float, float], end: tuple[float, float]) -> None:
        ax.annotate("", xy=(end[0] - 0.28, end[1]), xytext=(start[0] + 0.28, start[1]),
                    arrowprops={"arrowstyle": "->", "color": "#444"})  # fmt: skip

    for g in graphs:
        for s in g.streams:
            arrow(store_at[s.store], stream_at[(g.platform.name, s.stream)])
            for d in s.dsgs:
                arrow(stream_at[(g.platform.name, s.stream)], dsg_at[(d.workspace, d.dsg)])
    fig.tight_layout()
    return fig
