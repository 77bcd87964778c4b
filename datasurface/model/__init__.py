"""The DataSurface model: a pure Python DSL with no database, Airflow or Kubernetes imports.

Everything a model author needs is importable from here.
"""

from datasurface.model.assignments import (
    AssignmentStatus,
    DSGPlatformAssignment,
    PlatformAssignments,
)
from datasurface.model.containers import (
    DataContainer,
    DataPlatformManagedDataContainer,
    DB2Database,
    MySQLDatabase,
    OracleDatabase,
    PostgresDatabase,
    SQLDatabase,
    SQLServerDatabase,
)
from datasurface.model.credential import Credential, CredentialType
from datasurface.model.dataset import DataClassification, Dataset
from datasurface.model.datastore import Datastore
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.ingestion import (
    CaptureMetaData,
    DataTransformerOutput,
    IngestionConsistency,
    SQLSnapshotIngestion,
)
from datasurface.model.lifecycle import DeprecationStatus, ProductionStatus
from datasurface.model.platform import DataPlatform
from datasurface.model.problems import Problem, ProblemList, Severity
from datasurface.model.repository import GitHubRepository, LocalGitRepository, Repository
from datasurface.model.schema import (
    BigInt,
    Binary,
    Boolean,
    Char,
    DataType,
    Date,
    DDLColumn,
    DDLTable,
    Decimal,
    Double,
    Float,
    Integer,
    Interval,
    Json,
    SmallInt,
    Text,
    Timestamp,
    VarChar,
)
from datasurface.model.team import Team, TeamDeclaration
from datasurface.model.transformer import CodeReference, DataTransformer
from datasurface.model.triggers import CronTrigger, ExternallyTriggered, Trigger
from datasurface.model.workspace import DatasetGroup, DatasetSink, Milestoning, Workspace
from datasurface.model.zone import GovernanceZone, GovernanceZoneDeclaration, ZonePolicies

__all__ = [
    "AssignmentStatus",
    "BigInt",
    "Binary",
    "Boolean",
    "CaptureMetaData",
    "Char",
    "CodeReference",
    "Credential",
    "CredentialType",
    "CronTrigger",
    "DB2Database",
    "DDLColumn",
    "DDLTable",
    "DSGPlatformAssignment",
    "DataClassification",
    "DataContainer",
    "DataPlatform",
    "DataPlatformManagedDataContainer",
    "DataTransformer",
    "DataTransformerOutput",
    "DataType",
    "Dataset",
    "DatasetGroup",
    "DatasetSink",
    "Datastore",
    "Date",
    "Decimal",
    "DeprecationStatus",
    "Double",
    "Ecosystem",
    "ExternallyTriggered",
    "Float",
    "GitHubRepository",
    "GovernanceZone",
    "GovernanceZoneDeclaration",
    "IngestionConsistency",
    "Integer",
    "Interval",
    "Json",
    "LocalGitRepository",
    "Milestoning",
    "MySQLDatabase",
    "OracleDatabase",
    "PlatformAssignments",
    "PostgresDatabase",
    "Problem",
    "ProblemList",
    "ProductionStatus",
    "Repository",
    "SQLDatabase",
    "SQLServerDatabase",
    "SQLSnapshotIngestion",
    "Severity",
    "SmallInt",
    "Team",
    "TeamDeclaration",
    "Text",
    "Timestamp",
    "Trigger",
    "VarChar",
    "Workspace",
    "ZonePolicies",
]
