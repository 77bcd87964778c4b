"""The pipeline graph per data platform: which ingestion streams it runs, whom they feed,
and the DataTransformers that turn what they feed into new datastores.

An ingestion stream is a multi-dataset datastore (all of its needed datasets in one batch)
or one dataset of a single-dataset datastore. A platform ingests only what the DSGs assigned
to it need. A platform runs a workspace's DataTransformer when it ingests the transformer's
output store (someone assigned to it reads that store); the transformer reads the
workspace's DSGs on that platform. The graph is pure: it reads the model and the
assignments, nothing else.

`lineage()` flattens the graphs into nodes and edges, end to end:

    store -> stream -> DSG -> transformer -> store -> stream -> DSG ...

which `graph --json` prints and `graph_draw` renders as Mermaid or Graphviz. The JSON of a
stream is an open object: consumers must ignore keys they don't know, so that new facts
(the stream's pack, say) can be added without breaking them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datasurface.model.assignments import PlatformAssignments
from datasurface.model.datastore import Datastore
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.platform import DataPlatform
from datasurface.model.triggers import CronTrigger


@dataclass(frozen=True, slots=True)
class DSGRef:
    workspace: str
    dsg: str


@dataclass(slots=True)
class IngestionStream:
    platform: str
    stream: str
    store: str
    datasets: list[str]
    trigger: str
    cron: str | None
    multi_dataset: bool
    dsgs: list[DSGRef] = field(default_factory=list)
    priority: int = 0
    #: The workspace whose DataTransformer writes this stream's store; None for a source.
    fed_by_transformer: str | None = None

    def to_json(self) -> dict[str, Any]:
        fed_by: dict[str, str] = (
            {"kind": "transformer", "workspace": self.fed_by_transformer}
            if self.fed_by_transformer is not None
            else {"kind": "source", "store": self.store}
        )
        return {
            "platform": self.platform,
            "stream": self.stream,
            "store": self.store,
            "datasets": list(self.datasets),
            "trigger": self.trigger,
            "cron": self.cron,
            "multi_dataset": self.multi_dataset,
            "dsgs": [{"workspace": d.workspace, "dsg": d.dsg} for d in self.dsgs],
            "priority": self.priority,
            "fed_by": fed_by,
        }


@dataclass(slots=True)
class TransformerNode:
    """A workspace's DataTransformer as `platform` runs it: it reads the workspace's DSGs
    (fed by `input_streams`) and writes `output_store`, ingested as `output_stream`."""

    platform: str
    workspace: str
    output_store: str
    output_stream: str
    input_streams: list[str]
    inputs: list[DSGRef]
    trigger: str

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "workspace": self.workspace,
            "output_store": self.output_store,
            "output_stream": self.output_stream,
            "input_streams": list(self.input_streams),
            "inputs": [{"workspace": d.workspace, "dsg": d.dsg} for d in self.inputs],
            "trigger": self.trigger,
        }


@dataclass(slots=True)
class PlatformGraph:
    platform: DataPlatform
    streams: list[IngestionStream]
    transformers: list[TransformerNode] = field(default_factory=list)

    def stream(self, name: str) -> IngestionStream | None:
        for stream in self.streams:
            if stream.stream == name:
                return stream
        return None


def stream_name(store: Datastore, dataset: str) -> str:
    """`Store` for a multi-dataset store, `Store.dataset` for one dataset of a single-dataset store."""
    return store.name if store.is_multi_dataset() else f"{store.name}.{dataset}"


def build_graph(eco: Ecosystem, assignments: PlatformAssignments, platform: str | None = None) -> list[PlatformGraph]:
    """One graph per platform (or just `platform`), streams sorted by name for stable output.

    Assumes a model that lints clean: unknown names in assignments are skipped.
    """
    stores = eco.stores()
    workspaces = eco.workspaces()
    graphs: list[PlatformGraph] = []
    for plat in eco.platforms:
        if platform is not None and plat.name != platform:
            continue
        streams: dict[str, IngestionStream] = {}
        for assignment in assignments.for_platform(plat.name):
            ws_entry = workspaces.get(assignment.workspace)
            dsg = ws_entry.workspace.dsg(assignment.dsg) if ws_entry else None
            if ws_entry is None or dsg is None:
                continue
            for sink in dsg.sinks:
                store_entry = stores.get(sink.store)
                if store_entry is None or store_entry.store.dataset(sink.dataset) is None:
                    continue
                store = store_entry.store
                name = stream_name(store, sink.dataset)
                stream = streams.get(name)
                if stream is None:
                    stream = streams[name] = _new_stream(plat.name, name, store)
                if sink.dataset not in stream.datasets:
                    stream.datasets.append(sink.dataset)
                ref = DSGRef(assignment.workspace, assignment.dsg)
                if ref not in stream.dsgs:
                    stream.dsgs.append(ref)
                stream.priority = max(stream.priority, ws_entry.workspace.priority)
        for stream in streams.values():
            store = stores[stream.store].store
            order = {ds.name: i for i, ds in enumerate(store.datasets)}
            stream.datasets.sort(key=order.__getitem__)
        ordered = sorted(streams.values(), key=lambda s: s.stream)
        graphs.append(PlatformGraph(plat, ordered, _transformers(eco, plat.name, ordered)))
    return graphs


def _transformers(eco: Ecosystem, platform: str, streams: list[IngestionStream]) -> list[TransformerNode]:
    """The transformers `platform` runs: those whose output store one of its streams ingests."""
    nodes: list[TransformerNode] = []
    for name, entry in sorted(eco.workspaces().items()):
        transformer = entry.workspace.transformer
        if transformer is None:
            continue
        output = next((s for s in streams if s.store == transformer.output_store), None)
        if output is None:
            continue  # nobody on this platform reads the output: it doesn't run here
        output.fed_by_transformer = name
        inputs = [s for s in streams if any(d.workspace == name for d in s.dsgs)]
        refs = list(dict.fromkeys(d for s in inputs for d in s.dsgs if d.workspace == name))
        trigger = transformer.trigger
        nodes.append(
            TransformerNode(
                platform=platform,
                workspace=name,
                output_store=transformer.output_store,
                output_stream=output.stream,
                input_streams=[s.stream for s in inputs],
                inputs=refs,
                trigger=trigger.describe() if trigger is not None else "after its inputs commit",
            )
        )
    return nodes


@dataclass(frozen=True, slots=True)
class Node:
    """One box of the lineage picture. `id` is stable and unique across platforms."""

    id: str
    kind: str  # store | stream | dsg | transformer
    label: str
    platform: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "label": self.label, "platform": self.platform}


@dataclass(frozen=True, slots=True)
class Lineage:
    nodes: list[Node]
    edges: list[tuple[str, str]]

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [n.to_json() for n in self.nodes],
            "edges": [{"from": a, "to": b} for a, b in self.edges],
        }


def store_id(store: str) -> str:
    return f"store:{store}"


def stream_id(platform: str, stream: str) -> str:
    return f"stream:{platform}:{stream}"


def dsg_id(platform: str, ref: DSGRef) -> str:
    return f"dsg:{platform}:{ref.workspace}/{ref.dsg}"


def transformer_id(platform: str, workspace: str) -> str:
    return f"transformer:{platform}:{workspace}"


def lineage(graphs: list[PlatformGraph]) -> Lineage:
    """Nodes and edges, end to end (see the module docstring). Stores are shared between
    platforms; streams, DSGs and transformers belong to one platform (a DSG's data on two
    platforms is two sets of tables)."""
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str]] = []

    def add(node: Node) -> str:
        nodes.setdefault(node.id, node)
        return node.id

    def edge(a: str, b: str) -> None:
        if (a, b) not in edges:
            edges.append((a, b))

    for g in graphs:
        p = g.platform.name
        for s in g.streams:
            store = add(Node(store_id(s.store), "store", s.store))
            stream = add(Node(stream_id(p, s.stream), "stream", s.stream, p))
            edge(store, stream)
            for d in s.dsgs:
                edge(stream, add(Node(dsg_id(p, d), "dsg", f"{d.workspace}/{d.dsg}", p)))
        for t in g.transformers:
            node = add(Node(transformer_id(p, t.workspace), "transformer", f"{t.workspace} transformer", p))
            for d in t.inputs:
                edge(add(Node(dsg_id(p, d), "dsg", f"{d.workspace}/{d.dsg}", p)), node)
            edge(node, add(Node(store_id(t.output_store), "store", t.output_store)))
    return Lineage(list(nodes.values()), edges)


def _new_stream(platform: str, name: str, store: Datastore) -> IngestionStream:
    trigger = store.capture.batch_trigger() if store.capture is not None else None
    cron = trigger.cron if isinstance(trigger, CronTrigger) else None
    return IngestionStream(
        platform=platform,
        stream=name,
        store=store.name,
        datasets=[],
        trigger=trigger.describe() if trigger is not None else "external",
        cron=cron,
        multi_dataset=store.is_multi_dataset(),
    )
