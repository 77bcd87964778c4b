"""Engines for model containers, with credentials taken from the environment by name.

A credential named `crm_db` is read from `CRM_DB_USER` / `CRM_DB_PASSWORD`. Only the names
ever appear in messages and logs; the URL with the password never leaves this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from datasurface.errors import DataSurfaceError
from datasurface.model.containers import PostgresDatabase, SQLDatabase
from datasurface.model.credential import Credential

from . import pgconn
from .pgconn import AnyEngine

if TYPE_CHECKING:
    from sqlalchemy import Engine as SQLAlchemyEngine
    from sqlalchemy.engine import ExceptionContext


class CredentialError(DataSurfaceError):
    """A credential's environment variables are missing."""


class ConnectionFailedError(DataSurfaceError):
    """A database could not be reached or refused the credential's login; the message names
    which database (its role in the job, name, host and port) and what to fix. Callers that
    treat a failed database as data (the DAG factory falling back to its cache, `views list`
    marking a database unchecked, the merge handler recording a platform's error) catch it
    beside the driver's errors."""


# Fragments of driver messages (psycopg, PyMySQL) that mean "the login was refused".
_LOGIN_REFUSED = (
    "password authentication failed",
    "authentication failed",
    "does not exist",  # role "x" does not exist (the database's absence is reported the same way)
    "access denied for user",
    "no password supplied",
)


def credential_values(credential: Credential, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(user, password) of a USER_PASSWORD credential. The password may be empty (trust auth)."""
    source = os.environ if env is None else env
    user_var, password_var = credential.env_names()
    user = source.get(user_var)
    if not user:
        raise CredentialError(
            f"Credential '{credential.name}': environment variable {user_var} is not set "
            f"(set {user_var} and {password_var})"
        )
    return user, source.get(password_var, "")


def engine_for(
    container: SQLDatabase,
    credential: Credential,
    env: Mapping[str, str] | None = None,
    *,
    role: str = "database",
    **kwargs: object,
) -> SQLAlchemyEngine:
    """A SQLAlchemy engine on `container`, logged in with `credential` from the environment.

    `role` says what the database is to the caller ("Platform 'p' / Stream 's': source
    database"): a failed connection raises `ConnectionFailedError` naming it, the
    container, host and port, so a wrong source port and a wrong merge port read differently.
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url

    user, password = credential_values(credential, env)
    url = make_url(container.sqlalchemy_url()).set(username=user, password=password or None)
    # hide_parameters keeps bound values (which may be customer data) out of error messages.
    engine = create_engine(url, hide_parameters=True, pool_pre_ping=True, **kwargs)
    refused = _connect_failure(container, credential, role)

    def translate(ctx: ExceptionContext) -> None:
        if ctx.connection is not None or ctx.is_pre_ping:
            return  # not a failed connect (or a pre-ping the pool recovers from itself)
        raise refused(ctx.original_exception) from None

    event.listen(engine, "handle_error", translate)
    return engine


def job_engine_for(
    container: SQLDatabase,
    credential: Credential,
    env: Mapping[str, str] | None = None,
    *,
    role: str = "database",
    pool_size: int | None = None,
) -> AnyEngine:
    """The job path's engine: psycopg alone for Postgres (see `pgconn` for why), SQLAlchemy
    for every other database. Failed connections raise `ConnectionFailedError` as in
    `engine_for`."""
    if not isinstance(container, PostgresDatabase):
        kwargs: dict[str, object] = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": 300}
        return engine_for(container, credential, env, role=role, **(kwargs if pool_size else {}))
    user, password = credential_values(credential, env)
    return pgconn.Engine(
        "",
        connect_args=pgconn.connect_params(
            container.host, container.effective_port(), container.database, user, password
        ),
        pool_size=pool_size,
        on_connect_error=_connect_failure(container, credential, role),
    )


def _connect_failure(
    container: SQLDatabase, credential: Credential, role: str
) -> Callable[[BaseException], ConnectionFailedError]:
    user_var, password_var = credential.env_names()
    where = f"{role} '{container.name}' at {container.host}:{container.effective_port()}"

    def failure(original: BaseException) -> ConnectionFailedError:
        detail = " ".join(str(original).split())
        if any(fragment in detail.lower() for fragment in _LOGIN_REFUSED):
            return ConnectionFailedError(
                f"{where}: the login with credential '{credential.name}' was refused ({detail}); "
                f"set {user_var} and {password_var} to a user and password that database accepts"
            )
        return ConnectionFailedError(
            f"{where}: cannot connect ({detail}); check that the server runs and that the host and port "
            f"of '{container.name}' in the model are right"
        )

    return failure
