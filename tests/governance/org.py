"""A small organisation's model history, built in Python, step by step.

The central data team (`acme/data-platform`) creates the ecosystem and declares two zones
owned by two other repositories; each zone declares its teams; teams add datastores and
workspaces; the central team assigns the consumer's DSG to a platform. `model(step)` builds
the model as it stands after `step`; `AUTHOR[step]` is the repository that made that step.
"""

from __future__ import annotations

import copy
from datetime import timedelta

from datasurface.model import (
    AssignmentStatus,
    BigInt,
    Credential,
    DataPlatformManagedDataContainer,
    Dataset,
    DatasetGroup,
    DatasetSink,
    Datastore,
    DDLColumn,
    DDLTable,
    Decimal,
    DSGPlatformAssignment,
    Ecosystem,
    GitHubRepository,
    GovernanceZone,
    GovernanceZoneDeclaration,
    Milestoning,
    PlatformAssignments,
    PostgresDatabase,
    SQLSnapshotIngestion,
    Team,
    TeamDeclaration,
    Timestamp,
    VarChar,
    Workspace,
    ZonePolicies,
)
from datasurface.platforms.yellow.platform import YellowDataPlatform

CENTRAL = "acme/data-platform"
EMEA = "acme/zone-emea"
AMER = "acme/zone-amer"
SALES = "acme/sales-team"
MARKETING = "acme/marketing-team"
FINANCE = "acme/finance-team"
FORK = "mallory/data-platform"
KNOWN = (CENTRAL, EMEA, AMER, SALES, MARKETING, FINANCE)

CREATED, ZONES_DECLARED, EMEA_DEFINED, AMER_DEFINED, SALES_STORE, MARKETING_WORKSPACE, ASSIGNED, PROVISIONED = range(8)
LAST = PROVISIONED

#: Who made each step (the step's pull request came from this repository).
AUTHOR = {
    ZONES_DECLARED: CENTRAL,
    EMEA_DEFINED: EMEA,
    AMER_DEFINED: AMER,
    SALES_STORE: SALES,
    MARKETING_WORKSPACE: MARKETING,
    ASSIGNED: CENTRAL,
    PROVISIONED: CENTRAL,
}

Model = tuple[Ecosystem, PlatformAssignments]


def gh(repo: str) -> GitHubRepository:
    return GitHubRepository(repo, "main")


def customers() -> Dataset:
    return Dataset(
        "customers",
        DDLTable(
            [
                DDLColumn("id", BigInt(), nullable=False),
                DDLColumn("name", VarChar(100), nullable=False),
                DDLColumn("email", VarChar(200)),
                DDLColumn("created_at", Timestamp(), nullable=False),
            ],
            primary_key=["id"],
        ),
    )


def orders() -> Dataset:
    return Dataset(
        "orders",
        DDLTable(
            [
                DDLColumn("id", BigInt(), nullable=False),
                DDLColumn("customer_id", BigInt(), nullable=False),
                DDLColumn("amount", Decimal(12, 2)),
            ],
            primary_key=["id"],
        ),
    )


def crm_store() -> Datastore:
    return Datastore(
        "crm",
        datasets=[customers(), orders()],
        capture=SQLSnapshotIngestion(PostgresDatabase("crm_db", host="crm", database="crm"), Credential("crm")),
    )


def campaigns_workspace() -> Workspace:
    return Workspace(
        "campaigns",
        container=DataPlatformManagedDataContainer("managed"),
        dsgs=[DatasetGroup("live", [DatasetSink("crm", "customers")], Milestoning.LIVE_ONLY, timedelta(minutes=5))],
    )


def _emea(step: int) -> GovernanceZone:
    teams = []
    if step >= SALES_STORE:
        teams.append(Team("sales", datastores=[crm_store()]))
    if step >= MARKETING_WORKSPACE:
        teams.append(Team("marketing", workspaces=[campaigns_workspace()]))
    return GovernanceZone(
        "emea",
        team_declarations=[TeamDeclaration("sales", gh(SALES)), TeamDeclaration("marketing", gh(MARKETING))],
        teams=teams,
        policies=ZonePolicies(allowed_platforms=["YellowLive", "YellowForensic"]),
    )


def _amer() -> GovernanceZone:
    return GovernanceZone("amer", team_declarations=[TeamDeclaration("finance", gh(FINANCE))])


def model(step: int) -> Model:
    """The model after `step` (fresh objects every call, so tests may mutate them)."""
    eco = Ecosystem(
        "acme",
        owning_repo=gh(CENTRAL),
        live_repo=gh(CENTRAL),
        platforms=[
            YellowDataPlatform("YellowLive", milestoning=Milestoning.LIVE_ONLY),
            YellowDataPlatform("YellowForensic", milestoning=Milestoning.FORENSIC),
        ],
    )
    if step >= ZONES_DECLARED:
        eco.zone_declarations = [
            GovernanceZoneDeclaration("emea", gh(EMEA)),
            GovernanceZoneDeclaration("amer", gh(AMER)),
        ]
    if step >= EMEA_DEFINED:
        eco.zones.append(_emea(step))
    if step >= AMER_DEFINED:
        eco.zones.append(_amer())
    assignments = PlatformAssignments()
    if step >= ASSIGNED:
        status = AssignmentStatus.PROVISIONED if step >= PROVISIONED else AssignmentStatus.PROVISIONING
        assignments.assignments.append(DSGPlatformAssignment("campaigns", "live", "YellowLive", status))
    return eco, assignments


def edit(step: int = LAST) -> Model:
    """A copy of the model after `step`, to be edited into a proposal."""
    return copy.deepcopy(model(step))


def team(eco: Ecosystem, name: str) -> Team:
    for zone in eco.zones:
        found = zone.team(name)
        if found is not None:
            return found
    raise KeyError(name)


def zone(eco: Ecosystem, name: str) -> GovernanceZone:
    found = eco.zone(name)
    assert found is not None
    return found


def dataset(eco: Ecosystem, store: str, name: str) -> Dataset:
    found = eco.datastore(store)
    assert found is not None
    ds = found.dataset(name)
    assert ds is not None
    return ds
