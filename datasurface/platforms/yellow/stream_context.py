"""Resolve `--model/--platform/--stream` into everything a stream job needs.

Shared by `job run|status|reset`: load the model (a model folder, or a models folder whose
newest `model-*` folder is used), check it lints, find the Yellow platform and the stream in
its graph, and open engines with credentials from the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from datasurface.errors import DataSurfaceError
from datasurface.graph import IngestionStream, build_graph
from datasurface.model.dataset import Dataset
from datasurface.model.datastore import Datastore
from datasurface.model.ingestion import DataTransformerOutput, SQLSnapshotIngestion
from datasurface.model.lint import lint_ecosystem
from datasurface.model.loader import ECO_FILE, LoadedModel, load_model, newest_model_dir

from .connections import job_engine_for
from .job import JobBudget, StreamJob
from .pgconn import AnyEngine
from .platform import YellowDataPlatform
from .transformer_job import output_table
from .views import ViewSpec, plan_sink_views


class StreamLookupError(DataSurfaceError):
    """The platform or stream is not in the model, or the model can't be used."""


@dataclass(slots=True)
class StreamContext:
    model: LoadedModel
    platform: YellowDataPlatform
    stream: IngestionStream
    datasets: list[Dataset]
    capture: SQLSnapshotIngestion
    # The workspace whose DataTransformer writes this stream's source tables, if it does.
    transformer_workspace: str | None = None

    def view_specs(self) -> list[ViewSpec]:
        """The consumer views that read this stream's merge tables on this platform."""
        views = plan_sink_views(self.model.ecosystem, self.model.assignments, self.platform)
        return [spec for sv in views if sv.stream == self.stream.stream for spec in sv.specs()]

    def job(
        self,
        *,
        budget: JobBudget | None = None,
        env: Mapping[str, str] | None = None,
        engines: tuple[AnyEngine, AnyEngine] | None = None,
    ) -> StreamJob:
        """The stream's job, built the one way every runner uses: the platform's budget unless
        `budget` is given, the consumer views it keeps in step, and engines for the merge and
        source databases (made from `env`, or the given (merge, source) pair)."""
        merge, source = engines or (self.merge_engine(env), self.source_engine(env))
        return StreamJob(
            self.platform,
            self.stream,
            self.datasets,
            self.capture,
            merge,
            source,
            budget=budget,
            views=self.view_specs(),
        )

    def merge_engine(self, env: Mapping[str, str] | None = None) -> AnyEngine:
        return job_engine_for(
            self.platform.merge_database,
            self.platform.merge_credential,
            env,
            role=f"Platform '{self.platform.name}' / Stream '{self.stream.stream}': merge database",
        )

    def source_engine(self, env: Mapping[str, str] | None = None) -> AnyEngine:
        return job_engine_for(
            self.capture.source,
            self.capture.credential,
            env,
            role=f"Platform '{self.platform.name}' / Stream '{self.stream.stream}': source database",
        )


def resolve_model_dir(path: str | Path) -> Path:
    folder = Path(path)
    return folder if (folder / ECO_FILE).is_file() or not folder.is_dir() else newest_model_dir(folder)


def resolve_platform(model: LoadedModel, platform_name: str) -> YellowDataPlatform:
    platform = model.ecosystem.platform(platform_name)
    if platform is None:
        known = ", ".join(p.name for p in model.ecosystem.platforms) or "none"
        raise StreamLookupError(f"Platform '{platform_name}' is not in the model (platforms: {known})")
    if not isinstance(platform, YellowDataPlatform):
        raise StreamLookupError(f"Platform '{platform_name}' is a {type(platform).__name__}, not a Yellow platform")
    return platform


def transformer_output_capture(platform: YellowDataPlatform, store: Datastore) -> SQLSnapshotIngestion:
    """A transformer's output store is ingested as a snapshot of its output tables, which the
    transformer wrote into this platform's merge database."""
    return SQLSnapshotIngestion(
        source=platform.merge_database,
        credential=platform.merge_credential,
        table_names={ds.name: output_table(platform.name, store.name, ds.name) for ds in store.datasets},
    )


def load_stream(model_dir: str | Path, platform_name: str, stream_name: str) -> StreamContext:
    model = load_model(resolve_model_dir(model_dir))
    problems = lint_ecosystem(model.ecosystem, model.assignments)
    if problems.has_errors():
        first = problems.errors[0]
        raise StreamLookupError(
            f"the model in {model.directory} does not lint ({len(problems.errors)} error(s), first: {first}); "
            "the job runs only a clean model"
        )
    platform = resolve_platform(model, platform_name)
    (graph,) = build_graph(model.ecosystem, model.assignments, platform_name)
    stream = graph.stream(stream_name)
    if stream is None:
        known = ", ".join(s.stream for s in graph.streams) or "none"
        raise StreamLookupError(
            f"Platform '{platform_name}' has no stream '{stream_name}' (streams: {known}); "
            "see `datasurface graph MODEL_DIR --json`"
        )
    store = model.ecosystem.datastore(stream.store)
    assert store is not None  # the graph only names existing stores
    capture = store.capture
    workspace = None
    if isinstance(capture, DataTransformerOutput):
        workspace = capture.workspace
        capture = transformer_output_capture(platform, store)
    if not isinstance(capture, SQLSnapshotIngestion):
        raise StreamLookupError(f"Stream '{stream_name}': datastore '{store.name}' is not a SQL snapshot store")
    datasets = [ds for name in stream.datasets if (ds := store.dataset(name)) is not None]
    return StreamContext(model, platform, stream, datasets, capture, workspace)
