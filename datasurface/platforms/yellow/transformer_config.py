"""DAG configuration rows for DataTransformers: one per transformer a Yellow platform runs.

A platform runs a workspace's transformer when the transformer's output store has a stream
on that platform: the transformer writes that platform's output tables, which the output
stream then ingests. Lint (`transformer-output-platform`) makes sure the workspace itself is
served there too, so its inputs are views on the same platform.

The row sits in the stream config table (see `stream_config`), keyed `transformer:<workspace>`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from datasurface.graph import PlatformGraph, build_graph
from datasurface.model.assignments import PlatformAssignments
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.triggers import CronTrigger

from .platform import YellowDataPlatform
from .stream_config import (
    CONFIG_VERSION,
    CredentialRef,
    JobLaunchConfig,
    PackConfig,
    StreamConfig,
    dag_id_for,
    stream_asset_uri,
    transformer_dag_id_for,
    transformer_row_key,
)


class TransformerConfig(JobLaunchConfig):
    """Everything the DAG factory needs to build one transformer's DAG."""

    version: int = CONFIG_VERSION
    kind: Literal["transformer"] = "transformer"
    platform: str
    workspace: str
    output_store: str
    output_stream: str  # the stream (on this platform) that ingests the output store
    input_streams: list[str]  # this platform's streams feeding the workspace
    code: str  # "module:callable@version", for the DAG's description only
    cron: str | None  # a CronTrigger's expression; it wins over after_inputs
    after_inputs: bool  # no trigger in the model: run each time any input stream commits

    @property
    def dag_id(self) -> str:
        return transformer_dag_id_for(self.platform, self.workspace)

    @property
    def row_key(self) -> str:
        return transformer_row_key(self.workspace)

    @property
    def output_dag_id(self) -> str:
        return dag_id_for(self.platform, self.output_stream)

    def input_asset_uris(self) -> list[str]:
        return [stream_asset_uri(self.platform, s) for s in self.input_streams]

    def job_args(self) -> list[str]:
        """The transformer command's arguments after `datasurface`. No `--ingest`: the DAG
        triggers the output stream's own DAG, so ingestion keeps its KEEP_WORKING handling."""
        return [
            "transformer",
            "run",
            "--model",
            self.models_dir,
            "--platform",
            self.platform,
            "--workspace",
            self.workspace,
        ]


DagConfig = StreamConfig | TransformerConfig | PackConfig


def parse_config(raw: Any) -> DagConfig:
    """Validate one raw row (a dict or its JSON text). Rows without `kind` are version 1
    stream rows. Raises pydantic's ValidationError, ValueError or TypeError."""
    data = json.loads(raw) if isinstance(raw, str | bytes) else raw
    if not isinstance(data, dict):
        raise TypeError(f"a config row is a JSON object, not {type(data).__name__}")
    if data.get("kind", "stream") == "transformer":
        return TransformerConfig.model_validate(data)
    if data.get("kind") == "pack":
        return PackConfig.model_validate(data)
    return StreamConfig.model_validate(data)


def build_transformer_configs(
    eco: Ecosystem, assignments: PlatformAssignments, platform: YellowDataPlatform, models_dir: str
) -> list[TransformerConfig]:
    """One config per transformer `platform` runs, sorted by workspace (pure: reads the model only)."""
    (graph,) = build_graph(eco, assignments, platform.name)
    configs: list[TransformerConfig] = []
    for name, entry in sorted(eco.workspaces().items()):
        transformer = entry.workspace.transformer
        if transformer is None:
            continue
        output = _stream_of_store(graph, transformer.output_store)
        if output is None:
            continue  # nobody reads the output on this platform: nothing to run here
        trigger = transformer.trigger
        code = transformer.code
        configs.append(
            TransformerConfig(
                platform=platform.name,
                workspace=name,
                output_store=transformer.output_store,
                output_stream=output,
                input_streams=[s.stream for s in graph.streams if any(d.workspace == name for d in s.dsgs)],
                code=f"{code.module}:{code.callable}@{code.version}",
                cron=trigger.cron if isinstance(trigger, CronTrigger) else None,
                after_inputs=trigger is None,
                launcher=platform.launcher.value,
                job_image=platform.job_image,
                namespace=platform.namespace,
                models_dir=models_dir,
                # The code reads views and writes tables in the merge database: nothing else.
                credentials=[CredentialRef.of(platform.merge_credential)],
            )
        )
    return configs


def _stream_of_store(graph: PlatformGraph, store: str) -> str | None:
    # A transformer output store is multi-dataset: one stream, named after the store.
    return next((s.stream for s in graph.streams if s.store == store), None)
