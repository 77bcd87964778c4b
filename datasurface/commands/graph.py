"""`datasurface graph MODEL_DIR`: the ingestion streams each platform runs."""

from __future__ import annotations

import click

from datasurface.commands.common import echo_json, fail, load_or_fail
from datasurface.graph import PlatformGraph, build_graph
from datasurface.model.lint import lint_ecosystem
from datasurface.platforms.yellow.stream_config import stream_packs


@click.command("graph")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option("--platform", "platform", default=None, help="Only this data platform.")
@click.option("--json", "as_json", is_flag=True, help="Print every stream as a JSON object.")
@click.option("--dot", "as_dot", is_flag=True, help="Print a Graphviz DOT graph (stores -> streams -> DSGs).")
def graph_command(model_dir: str, platform: str | None, as_json: bool, as_dot: bool) -> None:
    """Show the pipeline graph of MODEL_DIR: per platform, each ingestion stream (a
    multi-dataset store, or `store.dataset` for a single-dataset store), its datasets, its
    trigger and the DSGs it feeds. The `stream` value is what `job run --stream` takes.

    The model must lint clean.
    """
    if as_json and as_dot:
        raise click.UsageError("choose one of --json and --dot")
    loaded = load_or_fail(model_dir)
    problems = lint_ecosystem(loaded.ecosystem, loaded.assignments)
    if problems.has_errors():
        fail(f"the model does not lint ({len(problems.errors)} error(s)); run `datasurface lint {model_dir}`")
    if platform is not None and loaded.ecosystem.platform(platform) is None:
        known = ", ".join(p.name for p in loaded.ecosystem.platforms)
        fail(f"Platform '{platform}' is not in the model (platforms: {known})")
    graphs = build_graph(loaded.ecosystem, loaded.assignments, platform)
    if as_json:
        packs = stream_packs(loaded.ecosystem, graphs)  # each stream's pack (None: its own DAG)
        echo_json(
            {
                "streams": [
                    {**s.to_json(), "pack": packs[(g.platform.name, s.stream)]} for g in graphs for s in g.streams
                ]
            }
        )
    elif as_dot:
        click.echo(to_dot(graphs))
    else:
        for g in graphs:
            click.echo(f"Platform '{g.platform.name}': {len(g.streams)} stream(s)")
            for s in g.streams:
                feeds = ", ".join(f"{d.workspace}/{d.dsg}" for d in s.dsgs)
                click.echo(f"  {s.stream}  [{s.trigger}]  datasets: {', '.join(s.datasets)}  feeds: {feeds}")


def to_dot(graphs: list[PlatformGraph]) -> str:
    """Stores feed streams, streams feed DSGs; one cluster per platform."""

    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph datasurface {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    for index, g in enumerate(graphs):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f"    label={q('Platform ' + g.platform.name)};")
        for s in g.streams:
            node = q(f"{g.platform.name}:{s.stream}")
            lines.append(f"    {node} [label={q(s.stream + chr(10) + s.trigger)}, shape=ellipse];")
            lines.append(f"    {q('store:' + s.store)} -> {node};")
            for d in s.dsgs:
                lines.append(f"    {node} -> {q(f'{d.workspace}/{d.dsg}')};")
        lines.append("  }")
    for store in sorted({s.store for g in graphs for s in g.streams}):
        lines.append(f"  {q('store:' + store)} [label={q(store)}, shape=cylinder];")
    lines.append("}")
    return "\n".join(lines)
