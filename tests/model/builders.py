"""A small, valid ecosystem that tests break one rule at a time."""

from __future__ import annotations

from dataclasses import dataclass

from datasurface import model as m
from datasurface.platforms.yellow.platform import YellowDataPlatform


@dataclass
class Bundle:
    eco: m.Ecosystem
    assignments: m.PlatformAssignments

    # Shortcuts to the objects tests break most often.
    @property
    def zone(self) -> m.GovernanceZone:
        return self.eco.zones[0]

    @property
    def producer(self) -> m.Team:
        return self.zone.teams[0]

    @property
    def consumer(self) -> m.Team:
        return self.zone.teams[1]

    @property
    def store(self) -> m.Datastore:
        return self.producer.datastores[0]

    @property
    def dataset(self) -> m.Dataset:
        return self.store.datasets[0]

    @property
    def workspace(self) -> m.Workspace:
        return self.consumer.workspaces[0]


def people_dataset(name: str = "people") -> m.Dataset:
    return m.Dataset(
        name,
        m.DDLTable(
            columns=[
                m.DDLColumn("id", m.Integer(), nullable=False),
                m.DDLColumn("name", m.VarChar(50)),
                m.DDLColumn("balance", m.Decimal(12, 2)),
            ],
            primary_key=["id"],
        ),
    )


def valid_bundle() -> Bundle:
    source = m.PostgresDatabase("hr_db", host="db", database="hr")
    store = m.Datastore(
        "hr",
        datasets=[people_dataset("people"), people_dataset("contractors")],
        capture=m.SQLSnapshotIngestion(
            source=source, credential=m.Credential("hr_cred"), trigger=m.CronTrigger("*/5 * * * *")
        ),
    )
    ws = m.Workspace(
        "analytics",
        container=m.DataPlatformManagedDataContainer("managed"),
        dsgs=[
            m.DatasetGroup("live", [m.DatasetSink("hr", "people")], m.Milestoning.LIVE_ONLY),
            m.DatasetGroup("history", [m.DatasetSink("hr", "people")], m.Milestoning.FORENSIC),
        ],
    )
    zone = m.GovernanceZone(
        "emea",
        team_declarations=[
            m.TeamDeclaration("producers", m.GitHubRepository("acme/producers")),
            m.TeamDeclaration("consumers", m.GitHubRepository("acme/consumers")),
        ],
        teams=[m.Team("producers", datastores=[store]), m.Team("consumers", workspaces=[ws])],
        policies=m.ZonePolicies(allowed_platforms=["live_p", "forensic_p"], allowed_containers=["hr_db", "managed"]),
    )
    eco = m.Ecosystem(
        "acme",
        owning_repo=m.GitHubRepository("acme/eco"),
        zone_declarations=[m.GovernanceZoneDeclaration("emea", m.GitHubRepository("acme/emea"))],
        zones=[zone],
        platforms=[
            YellowDataPlatform("live_p", milestoning=m.Milestoning.LIVE_ONLY),
            YellowDataPlatform("forensic_p", milestoning=m.Milestoning.FORENSIC),
        ],
    )
    assignments = m.PlatformAssignments(
        [
            m.DSGPlatformAssignment("analytics", "live", "live_p", m.AssignmentStatus.PROVISIONED),
            m.DSGPlatformAssignment("analytics", "history", "forensic_p", m.AssignmentStatus.PROVISIONED),
        ]
    )
    return Bundle(eco, assignments)
