"""The lineage picture as text: Mermaid (`graph --mermaid`) and Graphviz DOT (`graph --dot`).

Mermaid rather than a drawn image: GitHub and JupyterLab render a ```mermaid block natively
(a notebook shows it with `IPython.display.Markdown`), the layout engine places boxes and
arrows (a hand-placed matplotlib drawing missed its boxes), and the text diffs in review.
Both renderers draw `graph.lineage()`: stores (shared) outside, one box per platform holding
its streams, DSGs and transformers, so a transformer's output store visibly feeds the next
stream.
"""

from __future__ import annotations

from datasurface.graph import Lineage, Node, PlatformGraph, lineage

#: Mermaid shape per node kind: (open, close).
_MERMAID_SHAPES = {
    "store": ('[("', '")]'),
    "stream": ('(["', '"])'),
    "dsg": ('["', '"]'),
    "transformer": ('{{"', '"}}'),
}
_MERMAID_CLASSES = {
    "store": "fill:#d8e8f8,stroke:#555",
    "stream": "fill:#fbe3c4,stroke:#555",
    "dsg": "fill:#d9f0d3,stroke:#555",
    "transformer": "fill:#eadcf5,stroke:#555",
}
_DOT_SHAPES = {"store": "cylinder", "stream": "ellipse", "dsg": "box", "transformer": "hexagon"}


def _mermaid_text(text: str) -> str:
    """A label inside "...": Mermaid has no backslash escapes, only entity codes."""
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _groups(lin: Lineage) -> tuple[list[Node], dict[str, list[Node]]]:
    shared = [n for n in lin.nodes if n.platform is None]
    by_platform: dict[str, list[Node]] = {}
    for node in lin.nodes:
        if node.platform is not None:
            by_platform.setdefault(node.platform, []).append(node)
    return shared, by_platform


def to_mermaid(graphs: list[PlatformGraph], title: str | None = None) -> str:
    """A Mermaid flowchart, left to right. Node ids are n0, n1, ... (Mermaid ids can't hold
    the ':' and '/' of lineage ids); labels carry the names."""
    lin = lineage(graphs)
    ids = {node.id: f"n{i}" for i, node in enumerate(lin.nodes)}
    lines: list[str] = []
    if title:
        lines += ["---", f"title: {title}", "---"]
    lines.append("flowchart LR")

    def node_line(node: Node, indent: str) -> str:
        opening, closing = _MERMAID_SHAPES[node.kind]
        prefix = {"store": "", "stream": "stream ", "dsg": "DSG ", "transformer": ""}[node.kind]
        return f"{indent}{ids[node.id]}{opening}{_mermaid_text(prefix + node.label)}{closing}:::{node.kind}"

    shared, by_platform = _groups(lin)
    lines += [node_line(n, "  ") for n in shared]
    for index, (platform, nodes) in enumerate(by_platform.items()):
        lines.append(f'  subgraph p{index}["Platform {_mermaid_text(platform)}"]')
        lines += [node_line(n, "    ") for n in nodes]
        lines.append("  end")
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in lin.edges]
    lines += [f"  classDef {kind} {style}" for kind, style in _MERMAID_CLASSES.items()]
    return "\n".join(lines)


def to_markdown(graphs: list[PlatformGraph], title: str | None = None) -> str:
    """The Mermaid flowchart in a fenced block, for a README or a notebook's Markdown output."""
    return f"```mermaid\n{to_mermaid(graphs, title)}\n```"


def to_dot(graphs: list[PlatformGraph]) -> str:
    """The same lineage as a Graphviz DOT graph; one cluster per platform."""

    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lin = lineage(graphs)
    lines = ["digraph datasurface {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    shared, by_platform = _groups(lin)
    for node in shared:
        lines.append(f"  {q(node.id)} [label={q(node.label)}, shape={_DOT_SHAPES[node.kind]}];")
    for index, (platform, nodes) in enumerate(by_platform.items()):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f"    label={q('Platform ' + platform)};")
        for node in nodes:
            lines.append(f"    {q(node.id)} [label={q(node.label)}, shape={_DOT_SHAPES[node.kind]}];")
        lines.append("  }")
    lines += [f"  {q(a)} -> {q(b)};" for a, b in lin.edges]
    lines.append("}")
    return "\n".join(lines)
