"""DAG configuration rows: one per ingestion stream, in a table named after the platform.

The merge handler writes them (`sync_config_rows`); the Airflow DAG factory reads them
(`read_config_rows`) and builds one DAG per row. A row holds everything the DAG needs and
credentials by *name* only: the Secret a pod reads them from and the variables they fill.

With packs (`YellowDataPlatform.pack_size` > 0, see `packs`), each stream's config knows its
pack (`pack`), and `sync_config_rows` writes ONE row per pack (`PackConfig`, kind "pack",
keyed `pack:<key>`) instead of one per member: the factory reads 1,000 rows, not 100,000,
for 100,000 streams in packs of 100. Dedicated streams keep their own row.

The same table holds one row per DataTransformer (`transformer_config.TransformerConfig`,
`kind` "transformer", keyed `transformer:<workspace>`: a colon never appears in a stream
name, so the keys can't collide). Version 1 rows predate `kind` and are read as streams.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict

from datasurface.graph import IngestionStream, PlatformGraph, build_graph
from datasurface.model.assignments import PlatformAssignments
from datasurface.model.credential import Credential
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.ingestion import DataTransformerOutput, SQLSnapshotIngestion

from .dag_docs import pack_doc_md, pack_owner
from .kube_names import credential_secret_name
from .naming import config_table, quote_ident
from .packs import PackPlan, assign_packs, most_frequent_cron
from .pgconn import AnyConnection, text
from .platform import YellowDataPlatform

if TYPE_CHECKING:
    from .transformer_config import TransformerConfig


RowConfig: TypeAlias = "StreamConfig | TransformerConfig | PackConfig"

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
    #: The pack running this stream (None: a DAG of its own), with its Airflow pool.
    pack: PackRef | None = None
    #: For the DAG's docs and owner: the store's owning team, the DSGs it feeds
    #: ("workspace/dsg") and the compiled model's hash (None when loaded from eco.py).
    team: str = ""
    consumers: list[str] = []
    model_hash: str | None = None

    @property
    def dag_id(self) -> str:
        return dag_id_for(self.platform, self.stream)

    @property
    def row_key(self) -> str:
        return self.stream

    def job_args(self) -> list[str]:
        """The job command's arguments after `datasurface`."""
        return ["job", "run", "--model", self.models_dir, "--platform", self.platform, "--stream", self.stream]


class PackRef(BaseModel):
    """Which pack a stream belongs to, and the pack's share of the merge database."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    pool: str  # the Airflow pool of the platform's merge database
    pool_slots: int  # pack runs at once against that database (YellowDataPlatform.max_active_packs)


class PackConfig(JobLaunchConfig):
    """Everything the DAG factory needs to build one pack's DAG."""

    version: int = CONFIG_VERSION
    kind: Literal["pack"] = "pack"
    platform: str
    pack: str
    cron: str | None  # the most frequent member's cron; None: triggered externally only
    pool: str
    pool_slots: int
    members: list[str]  # the member streams (their configs are the model's, not the DAG's)
    owner: str  # the members' teams (`dag_docs.pack_owner`)
    doc_md: str  # the DAG's docs, rendered when the row is written (`dag_docs.pack_doc_md`)
    model_hash: str | None = None

    @property
    def dag_id(self) -> str:
        return pack_dag_id_for(self.platform, self.pack)

    @property
    def row_key(self) -> str:
        return PACK_ROW_PREFIX + self.pack

    def job_args(self) -> list[str]:
        """The pack command's arguments after `datasurface`."""
        return ["job", "run-pack", "--model", self.models_dir, "--platform", self.platform, "--pack", self.pack]


PACK_ROW_PREFIX = "pack:"


def pack_dag_id_for(platform: str, pack: str) -> str:
    return f"datasurface__{platform}__pack__{pack}"


def pack_pool_name(merge_database: str) -> str:
    """One Airflow pool per merge database: it caps the pack runs against that database."""
    return f"datasurface_merge__{merge_database}"


def dag_id_for(platform: str, stream: str) -> str:
    return f"datasurface__{platform}__{stream}"


def stream_asset_uri(platform: str, stream: str) -> str:
    """The Airflow asset a stream's DAG updates when a batch commits: what transformers reading
    the stream are scheduled on. Lower-cased like physical names; `datasurface://` is not a
    scheme Airflow normalises, so the URI is used exactly as built."""
    return f"datasurface://{platform.lower()}/{stream.lower()}"


def dataset_asset_uri(platform: str, store: str, dataset: str) -> str:
    """The Airflow asset of one dataset on a platform: an event per committed batch, its
    extras carrying the batch id and row counts (pack DAGs record them)."""
    return f"datasurface://{platform.lower()}/{store.lower()}/{dataset.lower()}"


TRANSFORMER_KEY_PREFIX = "transformer:"


def transformer_row_key(workspace: str) -> str:
    return TRANSFORMER_KEY_PREFIX + workspace


def transformer_dag_id_for(platform: str, workspace: str) -> str:
    return f"datasurface__{platform}__transformer__{workspace}"


def dag_id_for_row(platform: str, row_key: str) -> str:
    """The DAG id a config row builds, from its key alone (no parsing of the row needed)."""
    if row_key.startswith(TRANSFORMER_KEY_PREFIX):
        return transformer_dag_id_for(platform, row_key.removeprefix(TRANSFORMER_KEY_PREFIX))
    if row_key.startswith(PACK_ROW_PREFIX):
        return pack_dag_id_for(platform, row_key.removeprefix(PACK_ROW_PREFIX))
    return dag_id_for(platform, row_key)


def build_stream_configs(
    eco: Ecosystem,
    assignments: PlatformAssignments,
    platform: YellowDataPlatform,
    models_dir: str,
    *,
    model_hash: str | None = None,
) -> list[StreamConfig]:
    """One config per stream of `platform`, each knowing its pack (pure: reads the model only)."""
    (graph,) = build_graph(eco, assignments, platform.name)
    plan = stream_pack_plan(eco, platform, graph.streams)
    pack_of = plan.pack_of()
    pool = pack_pool_name(platform.merge_database.name)
    return [
        _config(
            eco,
            platform,
            stream,
            models_dir,
            PackRef(key=pack_of[stream.stream], pool=pool, pool_slots=platform.max_active_packs)
            if stream.stream in pack_of
            else None,
            model_hash,
        )
        for stream in graph.streams
    ]


def stream_pack_plan(eco: Ecosystem, platform: YellowDataPlatform, streams: Sequence[IngestionStream]) -> PackPlan:
    """The platform's packs. A transformer's output stream is always dedicated: its DAG is
    the one the transformer's DAG triggers after each run."""
    outputs = {s.stream for s in streams if _is_transformer_output(eco, s.store)}
    return assign_packs((s.stream for s in streams), platform.pack_size, [*platform.dedicated_streams, *outputs])


def stream_packs(eco: Ecosystem, graphs: Sequence[PlatformGraph]) -> dict[tuple[str, str], str | None]:
    """(platform, stream) -> its pack key (None: a DAG of its own), for `graph --json`."""
    out: dict[tuple[str, str], str | None] = {}
    for g in graphs:
        pack_of = (
            stream_pack_plan(eco, g.platform, g.streams).pack_of() if isinstance(g.platform, YellowDataPlatform) else {}
        )
        for s in g.streams:
            out[(g.platform.name, s.stream)] = pack_of.get(s.stream)
    return out


def _is_transformer_output(eco: Ecosystem, store_name: str) -> bool:
    store = eco.datastore(store_name)
    return store is not None and isinstance(store.capture, DataTransformerOutput)


def _config(
    eco: Ecosystem,
    platform: YellowDataPlatform,
    stream: IngestionStream,
    models_dir: str,
    pack: PackRef | None,
    model_hash: str | None,
) -> StreamConfig:
    store = eco.datastore(stream.store)
    credentials = [platform.merge_credential]
    if store is not None and isinstance(store.capture, SQLSnapshotIngestion):
        credentials.append(store.capture.credential)
    unique = {c.name: c for c in credentials}
    entry = eco.stores().get(stream.store)
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
        pack=pack,
        team=entry.team.name if entry is not None else "",
        consumers=[f"{d.workspace}/{d.dsg}" for d in stream.dsgs],
        model_hash=model_hash,
    )


def dag_rows(configs: Sequence[RowConfig]) -> list[RowConfig]:
    """The rows the factory reads: streams without a pack as they are, and one `PackConfig`
    per pack in place of its members (in the order the packs first appear)."""
    rows: list[RowConfig] = []
    packs: dict[str, list[StreamConfig]] = {}
    for config in configs:
        if isinstance(config, StreamConfig) and config.pack is not None:
            if config.pack.key not in packs:
                packs[config.pack.key] = []
                rows.append(config)  # placeholder: replaced by the pack's row below
            packs[config.pack.key].append(config)
        else:
            rows.append(config)
    return [
        _pack_config(packs[row.pack.key]) if isinstance(row, StreamConfig) and row.pack is not None else row
        for row in rows
    ]


def _pack_config(members: list[StreamConfig]) -> PackConfig:
    first = members[0]
    assert first.pack is not None
    unique = {ref.name: ref for m in members for ref in m.credentials}
    cron = most_frequent_cron(m.cron for m in members)
    return PackConfig(
        platform=first.platform,
        pack=first.pack.key,
        cron=cron,
        pool=first.pack.pool,
        pool_slots=first.pack.pool_slots,
        members=[m.stream for m in members],
        owner=pack_owner(members),
        doc_md=pack_doc_md(first.pack.key, first.platform, cron, first.pack.pool, first.pack.pool_slots, members),
        model_hash=first.model_hash,
        launcher=first.launcher,
        job_image=first.job_image,
        namespace=first.namespace,
        models_dir=first.models_dir,
        credentials=sorted(unique.values(), key=lambda r: r.name),
    )


# -- the config table --------------------------------------------------------------------------


def create_config_table(conn: AnyConnection, platform: str) -> None:
    conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {quote_ident(config_table(platform))} ("
            " stream text PRIMARY KEY,"
            " config jsonb NOT NULL,"
            " updated_at timestamptz NOT NULL)"
        )
    )


def sync_config_rows(
    conn: AnyConnection, platform: str, configs: Sequence[RowConfig], at: dt.datetime
) -> tuple[int, int, int]:
    """Make the table hold exactly `configs` (streams and transformers; packed streams as
    one row per pack, see `dag_rows`): (inserted, updated, deleted). Unchanged rows keep
    their `updated_at`, so the factory can tell what changed."""
    configs = dag_rows(configs)
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


def read_config_rows(conn: AnyConnection, platform: str) -> list[tuple[str, str]]:
    """(row key, config JSON text) pairs: the factory validates each row on its own so that
    one bad row can't hide the others. Text, not decoded: the factory's cache is written from
    it as it is (decoding and re-encoding 1,000 pack rows cost 0.1 s of every DAG parse)."""
    table = quote_ident(config_table(platform))
    return [
        (row.stream, row.config)
        for row in conn.execute(text(f"SELECT stream, config::text AS config FROM {table} ORDER BY stream"))  # noqa: S608
    ]
