"""DAG configuration rows: one per ingestion stream, in a table named after the platform.

The merge handler writes them (`sync_config_rows`); the Airflow DAG factory reads them
(`read_config_rows`) and builds one DAG per row. A row holds everything the DAG needs and
credentials by *name* only: the Secret a pod reads them from and the variables they fill.

The same table holds one row per DataTransformer (`transformer_config.TransformerConfig`,
`kind` "transformer", keyed `transformer:<workspace>`: a colon never appears in a stream
name, so the keys can't collide). Version 1 rows predate `kind` and are read as streams.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, text

from datasurface.graph import IngestionStream, build_graph
from datasurface.model.assignments import PlatformAssignments
from datasurface.model.credential import Credential
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.ingestion import SQLSnapshotIngestion

from .kube_names import credential_secret_name
from .naming import config_table, quote_ident
from .platform import YellowDataPlatform

if TYPE_CHECKING:
    from .transformer_config import TransformerConfig

#: 2 added `kind` and transformer rows; version 1 rows (no `kind`) still parse as streams.
CONFIG_VERSION = 2


class CredentialRef(BaseModel):
    """A credential by name: the Kubernetes Secret holding it and the env vars it fills."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    secret: str
    env: dict[str, str]  # env var -> key in the Secret

    @staticmethod
    def of(credential: Credential) -> CredentialRef:
        env = {var: var.rsplit("_", 1)[-1] for var in credential.env_names()}
        return CredentialRef(name=credential.name, secret=credential_secret_name(credential.name), env=env)


class JobLaunchConfig(BaseModel):
    """How a row's job runs: launcher, image, namespace, models folder and credentials (by
    name). Shared by stream and transformer rows, which the DAG factory launches alike."""

    model_config = ConfigDict(extra="forbid")

    launcher: Literal["kubernetes", "local"]
    job_image: str
    namespace: str
    models_dir: str
    credentials: list[CredentialRef]


class StreamConfig(JobLaunchConfig):
    """Everything the DAG factory needs to build one stream's DAG."""

    version: int = CONFIG_VERSION
    kind: Literal["stream"] = "stream"
    platform: str
    stream: str
    store: str
    datasets: list[str]
    cron: str | None  # None: externally triggered
    priority: int = 0

    @property
    def dag_id(self) -> str:
        return dag_id_for(self.platform, self.stream)

    @property
    def row_key(self) -> str:
        return self.stream

    def job_args(self) -> list[str]:
        """The job command's arguments after `datasurface`."""
        return ["job", "run", "--model", self.models_dir, "--platform", self.platform, "--stream", self.stream]


def dag_id_for(platform: str, stream: str) -> str:
    return f"datasurface__{platform}__{stream}"


def stream_asset_uri(platform: str, stream: str) -> str:
    """The Airflow asset a stream's DAG updates when a batch commits: what transformers reading
    the stream are scheduled on. Lower-cased like physical names; `datasurface://` is not a
    scheme Airflow normalises, so the URI is used exactly as built."""
    return f"datasurface://{platform.lower()}/{stream.lower()}"


TRANSFORMER_KEY_PREFIX = "transformer:"


def transformer_row_key(workspace: str) -> str:
    return TRANSFORMER_KEY_PREFIX + workspace


def transformer_dag_id_for(platform: str, workspace: str) -> str:
    return f"datasurface__{platform}__transformer__{workspace}"


def dag_id_for_row(platform: str, row_key: str) -> str:
    """The DAG id a config row builds, from its key alone (no parsing of the row needed)."""
    if row_key.startswith(TRANSFORMER_KEY_PREFIX):
        return transformer_dag_id_for(platform, row_key.removeprefix(TRANSFORMER_KEY_PREFIX))
    return dag_id_for(platform, row_key)


def build_stream_configs(
    eco: Ecosystem, assignments: PlatformAssignments, platform: YellowDataPlatform, models_dir: str
) -> list[StreamConfig]:
    """One config per stream of `platform` (pure: reads the model only)."""
    (graph,) = build_graph(eco, assignments, platform.name)
    return [_config(eco, platform, stream, models_dir) for stream in graph.streams]


def _config(eco: Ecosystem, platform: YellowDataPlatform, stream: IngestionStream, models_dir: str) -> StreamConfig:
    store = eco.datastore(stream.store)
    credentials = [platform.merge_credential]
    if store is not None and isinstance(store.capture, SQLSnapshotIngestion):
        credentials.append(store.capture.credential)
    unique = {c.name: c for c in credentials}
    return StreamConfig(
        platform=platform.name,
        stream=stream.stream,
        store=stream.store,
        datasets=list(stream.datasets),
        cron=stream.cron,
        priority=stream.priority,
        launcher=platform.launcher.value,
        job_image=platform.job_image,
        namespace=platform.namespace,
        models_dir=models_dir,
        credentials=[CredentialRef.of(c) for c in unique.values()],
    )


# -- the config table --------------------------------------------------------------------------


def create_config_table(conn: Connection, platform: str) -> None:
    conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {quote_ident(config_table(platform))} ("
            " stream text PRIMARY KEY,"
            " config jsonb NOT NULL,"
            " updated_at timestamptz NOT NULL)"
        )
    )


def sync_config_rows(
    conn: Connection, platform: str, configs: Sequence[StreamConfig | TransformerConfig], at: dt.datetime
) -> tuple[int, int, int]:
    """Make the table hold exactly `configs` (streams and transformers): (inserted, updated,
    deleted). Unchanged rows keep their `updated_at`, so the factory can tell what changed."""
    table = quote_ident(config_table(platform))
    create_config_table(conn, platform)
    existing = {
        row.stream: row.config
        for row in conn.execute(text(f"SELECT stream, config FROM {table}"))  # noqa: S608 - quoted name
    }
    wanted = {c.row_key: c.model_dump(mode="json") for c in configs}
    inserted = updated = 0
    for stream, config in wanted.items():
        if stream not in existing:
            inserted += 1
        elif existing[stream] != config:
            updated += 1
        else:
            continue
        conn.execute(
            text(
                f"INSERT INTO {table} (stream, config, updated_at) VALUES (:s, CAST(:c AS jsonb), :at)"  # noqa: S608
                " ON CONFLICT (stream) DO UPDATE SET config = EXCLUDED.config, updated_at = EXCLUDED.updated_at"
            ),
            {"s": stream, "c": json.dumps(config, sort_keys=True), "at": at},
        )
    gone = sorted(set(existing) - set(wanted))
    if gone:
        conn.execute(text(f"DELETE FROM {table} WHERE stream = ANY(:g)"), {"g": gone})  # noqa: S608
    return inserted, updated, len(gone)


def read_config_rows(conn: Connection, platform: str) -> list[tuple[str, Any]]:
    """(row key, raw config JSON) pairs: the factory validates each row on its own so that
    one bad row can't hide the others."""
    table = quote_ident(config_table(platform))
    return [
        (row.stream, row.config)
        for row in conn.execute(text(f"SELECT stream, config FROM {table} ORDER BY stream"))  # noqa: S608
    ]
