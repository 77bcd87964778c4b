"""A fleet of small streams for pack tests and the pack benchmark: a generated model with N
one-table stores on one source database, all read live by one workspace on one Yellow
platform (`YellowFleet`), and set-based SQL to fill and change the source tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from datasurface.platforms.yellow import naming
from tests.db_env import database_env

PLATFORM = "YellowFleet"
WORKSPACE = "FleetConsumer"

ECO_TEMPLATE = """
import os

from datasurface.model import (
    Credential, CronTrigger, DataPlatformManagedDataContainer, Dataset, DatasetGroup, DatasetSink,
    Datastore, DDLColumn, DDLTable, Ecosystem, GitHubRepository, GovernanceZone,
    GovernanceZoneDeclaration, Integer, Milestoning, PostgresDatabase, SQLSnapshotIngestion, Team,
    TeamDeclaration, VarChar, Workspace, ZonePolicies,
)
from datasurface.platforms.yellow.platform import JobLauncher, YellowDataPlatform

N = __N__
SETTINGS = __SETTINGS__
CRONS = __CRONS__


def store_name(i):
    return f"F{i:05d}"


def createEcosystem():
    env = os.environ.get
    source = PostgresDatabase(
        name="fleet_db", host=env("DATASURFACE_SOURCE_HOST"), port=int(env("DATASURFACE_SOURCE_PORT")),
        database=env("DATASURFACE_SOURCE_DB"),
    )
    merge = PostgresDatabase(
        name="fleet_merge", host=env("DATASURFACE_MERGE_HOST"), port=int(env("DATASURFACE_MERGE_PORT")),
        database=env("DATASURFACE_MERGE_DB"),
    )
    platform = YellowDataPlatform(
        "YellowFleet", milestoning=Milestoning.LIVE_ONLY, merge_database=merge,
        merge_credential=Credential("postgres"), launcher=JobLauncher.LOCAL, **SETTINGS,
    )
    stores = [
        Datastore(
            store_name(i),
            datasets=[Dataset("items", DDLTable(
                columns=[DDLColumn("id", Integer(), nullable=False), DDLColumn("name", VarChar(40)),
                         DDLColumn("amount", Integer())],
                primary_key=["id"],
            ))],
            capture=SQLSnapshotIngestion(
                source=source, credential=Credential("fleet_db"), trigger=CronTrigger(CRONS[i % len(CRONS)]),
                table_names={"items": f"items_{i:05d}"},
            ),
        )
        for i in range(N)
    ]
    consumer = Workspace(
        "FleetConsumer",
        container=DataPlatformManagedDataContainer("fleet_managed"),
        dsgs=[DatasetGroup("All", sinks=[DatasetSink(s.name, "items") for s in stores],
                           milestoning=Milestoning.LIVE_ONLY)],
    )
    zone = GovernanceZone(
        "Z",
        team_declarations=[TeamDeclaration("fleet_team", GitHubRepository("fleet/team", "main"))],
        teams=[Team("fleet_team", datastores=stores, workspaces=[consumer])],
        policies=ZonePolicies(allowed_platforms=["YellowFleet"], allowed_containers=["fleet_db", "fleet_managed"]),
    )
    return Ecosystem(
        "FleetEco", owning_repo=GitHubRepository("fleet/eco", "main"),
        zone_declarations=[GovernanceZoneDeclaration("Z", GitHubRepository("fleet/zone", "main"))],
        zones=[zone], platforms=[platform],
    )
"""


def store_name(i: int) -> str:
    return f"F{i:05d}"


def source_table(i: int) -> str:
    return f"items_{i:05d}"


@dataclass
class Fleet:
    n: int
    source_url: str
    merge_url: str
    model_dir: Path
    env: dict[str, str]
    engines: dict[str, Engine] = field(default_factory=dict)

    def engine(self, url: str) -> Engine:
        if url not in self.engines:
            self.engines[url] = create_engine(url)
        return self.engines[url]

    @property
    def source(self) -> Engine:
        return self.engine(self.source_url)

    @property
    def merge(self) -> Engine:
        return self.engine(self.merge_url)

    def dispose(self) -> None:
        for engine in self.engines.values():
            engine.dispose()

    # -- source data ---------------------------------------------------------------------

    def fill(self, rows: list[int]) -> None:
        """Create every source table, table i holding ids 1..rows[i] (set-based)."""
        with self.source.begin() as conn:
            for i in range(self.n):
                t = source_table(i)
                conn.execute(text(f'DROP TABLE IF EXISTS "{t}"'))
                conn.execute(text(f'CREATE TABLE "{t}" (id integer PRIMARY KEY, name varchar(40), amount integer)'))
                conn.execute(
                    text(f"INSERT INTO \"{t}\" SELECT g, 'n' || g, g * 7 FROM generate_series(1, :r) g"),
                    {"r": rows[i]},
                )

    def change(self, round_: int, only: list[int] | None = None) -> None:
        """A few changes per table: 3 updates, 1 delete, 2 inserts (set-based)."""
        with self.source.begin() as conn:
            for i in only if only is not None else range(self.n):
                t = source_table(i)
                base = 100_000 * round_
                conn.execute(text(f'UPDATE "{t}" SET amount = amount + :r WHERE id IN (1, 2, 3)'), {"r": round_})
                conn.execute(text(f'DELETE FROM "{t}" WHERE id = (SELECT max(id) FROM "{t}" WHERE id < 100000)'))
                conn.execute(
                    text(f"INSERT INTO \"{t}\" VALUES (:a, 'new', 1), (:b, 'new', 2)"),
                    {"a": base + 1, "b": base + 2},
                )

    # -- results -------------------------------------------------------------------------

    def merge_rows(self, i: int) -> list[tuple[Any, ...]]:
        table = naming.merge_table(PLATFORM, store_name(i), "items", forensic=False)
        with self.merge.connect() as conn:
            return [tuple(r) for r in conn.execute(text(f'SELECT id, name, amount FROM "{table}" ORDER BY id'))]

    def source_rows(self, i: int) -> list[tuple[Any, ...]]:
        with self.source.connect() as conn:
            return [
                tuple(r) for r in conn.execute(text(f'SELECT id, name, amount FROM "{source_table(i)}" ORDER BY id'))
            ]

    def batches(self) -> list[tuple[Any, ...]]:
        table = naming.batch_metrics_table(PLATFORM)
        with self.merge.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    text(
                        f'SELECT stream, batch_id, state, rows_inserted, rows_updated, rows_deleted, rows_total FROM "{table}"'
                        " ORDER BY stream, batch_id"
                    )
                )
            ]

    # -- commands ------------------------------------------------------------------------

    def cli(
        self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "datasurface.cli", *args],
            capture_output=True,
            text=True,
            env={**os.environ, **self.env, **(extra_env or {})},
            timeout=timeout,
            check=False,
        )

    def run_pack(
        self, pack: str, *more: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.cli(
            "job",
            "run-pack",
            "--model",
            str(self.model_dir),
            "--platform",
            PLATFORM,
            "--pack",
            pack,
            "--json",
            *more,
            extra_env=extra_env,
        )


def result_json(out: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = out.stdout.strip().splitlines()
    assert lines, f"no output; stderr: {out.stderr[-2000:]}"
    data: dict[str, Any] = json.loads(lines[-1])
    return data


def make_fleet(
    source_url: str,
    merge_url: str,
    folder: Path,
    n: int,
    settings: dict[str, Any] | None = None,
    crons: tuple[str, ...] = ("* * * * *",),
) -> Fleet:
    """Write the fleet model for `n` stores into `folder` (source tables: see `Fleet.fill`)."""
    model_dir = folder / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    body = (
        ECO_TEMPLATE.replace("__N__", str(n))
        .replace("__SETTINGS__", repr(settings or {"pack_size": 10}))
        .replace("__CRONS__", repr(list(crons)))
    )
    (model_dir / "eco.py").write_text(body)
    (model_dir / "dsg_platform_mapping.json").write_text(
        json.dumps(
            {"assignments": [{"workspace": WORKSPACE, "dsg": "All", "platform": PLATFORM, "status": "PROVISIONED"}]}
        )
    )
    src, mrg = make_url(source_url), make_url(merge_url)
    env = {
        **database_env(source_url, merge_url),
        "POSTGRES_USER": mrg.username or "postgres",
        "POSTGRES_PASSWORD": mrg.password or "",
        "FLEET_DB_USER": src.username or "postgres",
        "FLEET_DB_PASSWORD": src.password or "",
    }
    return Fleet(n, source_url, merge_url, model_dir, env)
