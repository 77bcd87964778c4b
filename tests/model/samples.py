"""One fully populated sample instance of every model class, for tests that walk the model.

Every attribute holds a non-default value where possible so that a test which replaces one
attribute at a time really changes something.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from datasurface import model as m
from datasurface.model.containers import IdentifierRules
from datasurface.model.ecosystem import StoreEntry, WorkspaceEntry
from datasurface.model.loader import LoadedModel
from datasurface.model.problems import Problem
from datasurface.model.type_widening import WideningRule
from datasurface.platforms.yellow.platform import JobLauncher, YellowDataPlatform


def sample_instances() -> list[object]:
    cols = [
        m.DDLColumn("id", m.BigInt(), nullable=False),
        m.DDLColumn("name", m.VarChar(20)),
        m.DDLColumn("amount", m.Decimal(10, 2)),
    ]
    table = m.DDLTable(columns=cols, primary_key=["id"])
    dataset = m.Dataset("orders", table, m.DataClassification.PII, m.DeprecationStatus.DEPRECATED, "docs")
    source = m.PostgresDatabase("src", host="h", port=1, database="d")
    capture = m.SQLSnapshotIngestion(
        source=source,
        credential=m.Credential("cred", m.CredentialType.USER_PASSWORD),
        trigger=m.CronTrigger("* * * * *"),
        consistency=m.IngestionConsistency.SINGLE_DATASET,
        table_names={"orders": "t_orders"},
    )
    store = m.Datastore("store", [dataset], capture, m.ProductionStatus.PRODUCTION, m.DeprecationStatus.DEPRECATED, "d")
    transformer = m.DataTransformer(
        m.CodeReference("mod", "fn", "1.0", "code"), "out_store", m.CronTrigger("0 * * * *")
    )
    dsg = m.DatasetGroup("dsg", [m.DatasetSink("store", "orders", True)], m.Milestoning.FORENSIC, timedelta(minutes=3))
    container = m.DataPlatformManagedDataContainer("managed")
    ws = m.Workspace("ws", container, [dsg], transformer, 5, "docs")
    team_repo = m.GitHubRepository("acme/team", "dev")
    team = m.Team("team", [store], [ws], [source], "docs")
    zone = m.GovernanceZone(
        "zone", [m.TeamDeclaration("team", team_repo, ["team/**"])], [team], m.ZonePolicies(["p"], ["src"]), "docs"
    )
    platform = YellowDataPlatform(
        "p",
        "docs",
        m.Milestoning.FORENSIC,
        m.PostgresDatabase("merge", host="mh", port=2, database="md"),
        m.Credential("mc"),
        m.Credential("git", m.CredentialType.TOKEN),
        JobLauncher.LOCAL,
        "img:1",
        "ns",
        10,
        20,
        30,
    )
    eco = m.Ecosystem(
        "eco",
        m.GitHubRepository("acme/eco", "main"),
        m.LocalGitRepository("acme/live", "/tmp/x", "b"),
        [m.GovernanceZoneDeclaration("zone", m.GitHubRepository("acme/zone", "z"), ["zone/*.py"])],
        [zone],
        [platform],
        "docs",
    )
    assignment = m.DSGPlatformAssignment("ws", "dsg", "p", m.AssignmentStatus.PROVISIONED, "docs")
    return [
        *cols,
        table,
        dataset,
        source,
        m.MySQLDatabase("my", host="h", port=3, database="d"),
        m.SQLServerDatabase("ss", host="h", port=4, database="d"),
        m.OracleDatabase("or", host="h", port=5, database="d"),
        m.DB2Database("db2", host="h", port=6, database="d"),
        m.SQLDatabase("generic", host="h", port=7, database="d"),
        m.DataContainer("plain"),
        container,
        capture,
        m.CaptureMetaData(),
        m.DataTransformerOutput("ws"),
        store,
        transformer,
        transformer.code,
        dsg,
        dsg.sinks[0],
        ws,
        team_repo,
        m.LocalGitRepository("acme/local", "/p", "b"),
        m.Repository(),
        m.TeamDeclaration("team", team_repo, ["team/**"]),
        team,
        zone,
        zone.policies,
        eco.zone_declarations[0],
        platform,
        m.DataPlatform("plain", "docs"),
        eco,
        assignment,
        m.PlatformAssignments([assignment]),
        m.Credential("tok", m.CredentialType.TOKEN),
        m.CronTrigger("*/5 * * * *"),
        m.ExternallyTriggered(),
        m.Trigger(),
        m.SmallInt(),
        m.Integer(),
        m.BigInt(),
        m.Decimal(12, 3),
        m.Float(),
        m.Double(),
        m.VarChar(9),
        m.Char(3),
        m.Text(),
        m.Boolean(),
        m.Date(),
        m.Timestamp(with_time_zone=True),
        m.Interval(),
        m.Binary(),
        m.Json(),
        m.DataType(),
        m.ProblemList([Problem(m.Severity.ERROR, "p", "m", "h", "r")]),
        Problem(m.Severity.WARNING, "path", "msg", "hint", "rule"),
        StoreEntry(zone, team, store),
        WorkspaceEntry(zone, team, ws),
        m.Ecosystem("e2", team_repo),
        IdentifierRules(30, "upper", "[A-Z]+"),
        WideningRule(m.SmallInt, m.Integer, lambda old, new: True, "smallint to integer"),
        LoadedModel(eco, m.PlatformAssignments([assignment]), Path("/models/m")),
    ]
