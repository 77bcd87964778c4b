"""The sandbox's example ecosystem.

A producer team owns a customer database (customers and their addresses) ingested as one
multi-dataset SQL snapshot stream; a consumer team's workspace reads it live and with full
forensic history through two Yellow platforms. The consumer workspace's DataTransformer
(`transformers/masking.py`) masks e-mail and phone into the team's own store
`MaskedCustomers`, which a second workspace, `MaskedConsumer`, reads live on YellowLive.
Hosts, ports and database names come from the environment (see `sandbox/.env.example`); the
defaults fit the kind cluster.
"""

from __future__ import annotations

import os
from datetime import timedelta

from datasurface.model import (
    Char,
    CodeReference,
    Credential,
    CronTrigger,
    DataClassification,
    DataPlatformManagedDataContainer,
    Dataset,
    DatasetGroup,
    DatasetSink,
    Datastore,
    DataTransformer,
    DataTransformerOutput,
    Date,
    DDLColumn,
    DDLTable,
    Ecosystem,
    GitHubRepository,
    GovernanceZone,
    GovernanceZoneDeclaration,
    IngestionConsistency,
    Milestoning,
    PostgresDatabase,
    ProductionStatus,
    SQLSnapshotIngestion,
    Team,
    TeamDeclaration,
    Timestamp,
    VarChar,
    Workspace,
    ZonePolicies,
)
from datasurface.platforms.yellow.platform import JobLauncher, YellowDataPlatform


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _customers() -> Dataset:
    return Dataset(
        "customers",
        DDLTable(
            columns=[
                DDLColumn("id", VarChar(20), nullable=False),
                DDLColumn("first_name", VarChar(100), nullable=False),
                DDLColumn("last_name", VarChar(100), nullable=False),
                DDLColumn("email", VarChar(200)),
                DDLColumn("phone", VarChar(50)),
                DDLColumn("dob", Date()),
                DDLColumn("created_at", Timestamp(), nullable=False),
                DDLColumn("updated_at", Timestamp(), nullable=False),
            ],
            primary_key=["id"],
        ),
        classification=DataClassification.PII,
    )


def _addresses() -> Dataset:
    return Dataset(
        "addresses",
        DDLTable(
            columns=[
                DDLColumn("id", VarChar(20), nullable=False),
                DDLColumn("customer_id", VarChar(20), nullable=False),
                DDLColumn("address_type", VarChar(10), nullable=False),
                DDLColumn("street", VarChar(200), nullable=False),
                DDLColumn("city", VarChar(100), nullable=False),
                DDLColumn("state", VarChar(100)),
                DDLColumn("zip_code", VarChar(20)),
                DDLColumn("country", Char(2), nullable=False),
                DDLColumn("updated_at", Timestamp(), nullable=False),
            ],
            primary_key=["id"],
        ),
        classification=DataClassification.PII,
    )


def _masked_customers() -> Dataset:
    """What `transformers/masking.py` writes: customers with e-mail and phone masked, the last
    name cut to an initial and no date of birth. Not PII any more, so other teams may read it."""
    return Dataset(
        "customers",
        DDLTable(
            columns=[
                DDLColumn("id", VarChar(20), nullable=False),
                DDLColumn("first_name", VarChar(100), nullable=False),
                DDLColumn("last_name", VarChar(100), nullable=False),
                DDLColumn("email", VarChar(200)),
                DDLColumn("phone", VarChar(50)),
                DDLColumn("dob", Date()),
                DDLColumn("updated_at", Timestamp(), nullable=False),
            ],
            primary_key=["id"],
        ),
    )


def createEcosystem() -> Ecosystem:
    customer_db = PostgresDatabase(
        name="customer_db",
        host=_env("DATASURFACE_SOURCE_HOST", "postgres"),
        port=int(_env("DATASURFACE_SOURCE_PORT", "5432")),
        database=_env("DATASURFACE_SOURCE_DB", "customer_db"),
    )
    merge_db = PostgresDatabase(
        name="yellow_merge",
        host=_env("DATASURFACE_MERGE_HOST", "postgres"),
        port=int(_env("DATASURFACE_MERGE_PORT", "5432")),
        database=_env("DATASURFACE_MERGE_DB", "datasurface_merge"),
    )
    launcher = JobLauncher(_env("DATASURFACE_LAUNCHER", JobLauncher.KUBERNETES.value))

    def yellow(name: str, milestoning: Milestoning) -> YellowDataPlatform:
        return YellowDataPlatform(
            name,
            milestoning=milestoning,
            merge_database=merge_db,
            merge_credential=Credential("postgres"),
            launcher=launcher,
            job_image=_env("DATASURFACE_JOB_IMAGE", "datasurface/datasurface:latest"),
            namespace=_env("DATASURFACE_NAMESPACE", "datasurface"),
            # Small streams share a pack: one DAG and one `job run-pack` process per pack
            # (0 gives every stream a DAG of its own). The transformer's output stream always
            # keeps its own DAG, which the transformer's DAG triggers.
            pack_size=int(_env("DATASURFACE_PACK_SIZE", "50")),
        )

    live = yellow("YellowLive", Milestoning.LIVE_ONLY)
    forensic = yellow("YellowForensic", Milestoning.FORENSIC)

    customer_store = Datastore(
        "Store1",
        datasets=[_customers(), _addresses()],
        capture=SQLSnapshotIngestion(
            source=customer_db,
            credential=Credential("customer_db"),
            trigger=CronTrigger("*/1 * * * *"),
            consistency=IngestionConsistency.MULTI_DATASET,
        ),
        production_status=ProductionStatus.NOT_PRODUCTION,
        documentation="The customer database: customers and their billing and shipping addresses.",
    )
    sinks = [DatasetSink("Store1", "customers"), DatasetSink("Store1", "addresses")]
    consumer = Workspace(
        "Consumer1",
        container=DataPlatformManagedDataContainer("yellow_managed"),
        dsgs=[
            DatasetGroup("LiveDSG", sinks=list(sinks), milestoning=Milestoning.LIVE_ONLY, latency=timedelta(minutes=1)),
            DatasetGroup(
                "ForensicDSG", sinks=list(sinks), milestoning=Milestoning.FORENSIC, latency=timedelta(minutes=10)
            ),
        ],
        # No trigger: it runs each time its inputs commit on a platform serving this workspace.
        transformer=DataTransformer(
            CodeReference("masking", "mask_customers", "1.0", "transformers"), "MaskedCustomers"
        ),
    )
    masked_store = Datastore(
        "MaskedCustomers",
        datasets=[_masked_customers()],
        capture=DataTransformerOutput("Consumer1"),
        production_status=ProductionStatus.NOT_PRODUCTION,
        documentation="Customers with e-mail and phone masked, written by Consumer1's transformer.",
    )
    masked_consumer = Workspace(
        "MaskedConsumer",
        container=DataPlatformManagedDataContainer("yellow_managed"),
        dsgs=[
            DatasetGroup(
                "MaskedDSG",
                sinks=[DatasetSink("MaskedCustomers", "customers")],
                milestoning=Milestoning.LIVE_ONLY,
                latency=timedelta(minutes=5),
            )
        ],
    )
    zone = GovernanceZone(
        "USA",
        team_declarations=[
            TeamDeclaration("customer_team", GitHubRepository("datasurface-sandbox/customer-team", "main")),
            TeamDeclaration("analytics_team", GitHubRepository("datasurface-sandbox/analytics-team", "main")),
        ],
        teams=[
            Team("customer_team", datastores=[customer_store]),
            Team("analytics_team", datastores=[masked_store], workspaces=[consumer, masked_consumer]),
        ],
        policies=ZonePolicies(
            allowed_platforms=["YellowLive", "YellowForensic"],
            allowed_containers=["customer_db", "yellow_managed"],
        ),
    )
    return Ecosystem(
        "SandboxEco",
        owning_repo=GitHubRepository("datasurface-sandbox/eco", "main"),
        live_repo=GitHubRepository("datasurface-sandbox/eco", "main"),
        zone_declarations=[GovernanceZoneDeclaration("USA", GitHubRepository("datasurface-sandbox/zone-usa", "main"))],
        zones=[zone],
        platforms=[live, forensic],
        documentation=(
            "The DataSurface sandbox: one producer, one consumer whose transformer masks customers for a "
            "second workspace, a live and a forensic platform."
        ),
    )
