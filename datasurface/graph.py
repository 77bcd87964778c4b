"""The pipeline graph per data platform: which ingestion streams it runs and whom they feed.

An ingestion stream is a multi-dataset datastore (all of its needed datasets in one batch)
or one dataset of a single-dataset datastore. A platform ingests only what the DSGs assigned
to it need. The graph is pure: it reads the model and the assignments, nothing else.
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

    def to_json(self) -> dict[str, Any]:
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
        }


@dataclass(slots=True)
class PlatformGraph:
    platform: DataPlatform
    streams: list[IngestionStream]

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
        graphs.append(PlatformGraph(plat, sorted(streams.values(), key=lambda s: s.stream)))
    return graphs


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
