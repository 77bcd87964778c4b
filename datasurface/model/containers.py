"""Data containers: where data lives. SQL sources and the platform-managed workspace container.

A container builds its SQLAlchemy URL *without* credentials: the engine adds the user and
password from the environment at run time, so no rendered artefact ever holds a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(slots=True)
class DataContainer:
    """Base of every container. `name` is how zone policies refer to it."""

    name: str

    def kind(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, slots=True)
class IdentifierRules:
    """How an engine treats unquoted identifiers: the longest legal one and its case folding."""

    max_length: int
    folds_to: str  # "lower", "upper" or "none"
    pattern: str = r"[A-Za-z_][A-Za-z0-9_$]*"

    def is_legal(self, identifier: str) -> bool:
        return len(identifier) <= self.max_length and re.fullmatch(self.pattern, identifier) is not None


@dataclass(slots=True)
class SQLDatabase(DataContainer):
    """A database reached through SQLAlchemy."""

    host: str = "localhost"
    port: int = 0
    database: str = ""

    #: SQLAlchemy dialect+driver; subclasses set it.
    DRIVER = ""
    DEFAULT_PORT = 0
    IDENTIFIERS = IdentifierRules(max_length=63, folds_to="lower")

    def effective_port(self) -> int:
        return self.port or self.DEFAULT_PORT

    def sqlalchemy_url(self) -> str:
        """URL without user or password, e.g. `postgresql+psycopg://db:5432/sales`."""
        return f"{self.DRIVER}://{self.host}:{self.effective_port()}/{quote(self.database, safe='')}"

    def identifier_rules(self) -> IdentifierRules:
        return self.IDENTIFIERS


@dataclass(slots=True)
class PostgresDatabase(SQLDatabase):
    DRIVER = "postgresql+psycopg"
    DEFAULT_PORT = 5432
    IDENTIFIERS = IdentifierRules(max_length=63, folds_to="lower")


@dataclass(slots=True)
class MySQLDatabase(SQLDatabase):
    """MySQL or MariaDB."""

    DRIVER = "mysql+pymysql"
    DEFAULT_PORT = 3306
    IDENTIFIERS = IdentifierRules(max_length=64, folds_to="none")


@dataclass(slots=True)
class SQLServerDatabase(SQLDatabase):
    DRIVER = "mssql+pyodbc"
    DEFAULT_PORT = 1433
    IDENTIFIERS = IdentifierRules(max_length=128, folds_to="none", pattern=r"[A-Za-z_@#][A-Za-z0-9_@#$]*")


@dataclass(slots=True)
class OracleDatabase(SQLDatabase):
    """Oracle; `database` is the service name."""

    DRIVER = "oracle+oracledb"
    DEFAULT_PORT = 1521
    IDENTIFIERS = IdentifierRules(max_length=128, folds_to="upper", pattern=r"[A-Za-z][A-Za-z0-9_$#]*")

    def sqlalchemy_url(self) -> str:
        return f"{self.DRIVER}://{self.host}:{self.effective_port()}/?service_name={quote(self.database)}"


@dataclass(slots=True)
class DB2Database(SQLDatabase):
    DRIVER = "db2+ibm_db"
    DEFAULT_PORT = 50000
    IDENTIFIERS = IdentifierRules(max_length=128, folds_to="upper")


@dataclass(slots=True)
class DataPlatformManagedDataContainer(DataContainer):
    """The workspace's data lives wherever its data platform puts it (Yellow: views in the
    merge database)."""
