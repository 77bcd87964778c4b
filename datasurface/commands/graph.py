"""`datasurface graph MODEL_DIR`: the ingestion streams and transformers each platform runs,
as text, JSON (streams, transformers, lineage nodes and edges), Mermaid or Graphviz DOT."""

from __future__ import annotations

import click

from datasurface.commands.common import echo_json, fail, load_or_fail
from datasurface.graph import build_graph, lineage
from datasurface.graph_draw import to_dot, to_mermaid
from datasurface.model.lint import lint_ecosystem
from datasurface.platforms.yellow.stream_config import stream_packs


@click.command("graph")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option("--platform", "platform", default=None, help="Only this data platform.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print streams, transformers and the lineage (nodes, edges) as JSON; objects may gain keys.",
)
@click.option("--mermaid", "as_mermaid", is_flag=True, help="Print a Mermaid flowchart (GitHub, JupyterLab render it).")
@click.option("--dot", "as_dot", is_flag=True, help="Print a Graphviz DOT graph of the same lineage.")
def graph_command(model_dir: str, platform: str | None, as_json: bool, as_mermaid: bool, as_dot: bool) -> None:
    """Show the pipeline graph of MODEL_DIR: per platform, each ingestion stream (a
    multi-dataset store, or `store.dataset` for a single-dataset store), its datasets, its
    trigger, what feeds it (the source, or a workspace's DataTransformer) and the DSGs it
    feeds; and each DataTransformer, the DSGs it reads and the store it writes. The `stream`
    value is what `job run --stream` takes.

    The model must lint clean.
    """
    if sum((as_json, as_mermaid, as_dot)) > 1:
        raise click.UsageError("choose one of --json, --mermaid and --dot")
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
                ],
                "transformers": [t.to_json() for g in graphs for t in g.transformers],
                **lineage(graphs).to_json(),
            }
        )
    elif as_mermaid:
        click.echo(to_mermaid(graphs))
    elif as_dot:
        click.echo(to_dot(graphs))
    else:
        for g in graphs:
            click.echo(
                f"Platform '{g.platform.name}': {len(g.streams)} stream(s), {len(g.transformers)} transformer(s)"
            )
            for s in g.streams:
                feeds = ", ".join(f"{d.workspace}/{d.dsg}" for d in s.dsgs)
                source = f"  fed by: {s.fed_by_transformer} transformer" if s.fed_by_transformer else ""
                click.echo(f"  {s.stream}  [{s.trigger}]  datasets: {', '.join(s.datasets)}  feeds: {feeds}{source}")
            for t in g.transformers:
                reads = ", ".join(f"{d.workspace}/{d.dsg}" for d in t.inputs)
                click.echo(f"  transformer {t.workspace}  [{t.trigger}]  reads: {reads}  writes: {t.output_store}")
