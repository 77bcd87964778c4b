"""Engines for model containers, with credentials taken from the environment by name.

A credential named `crm_db` is read from `CRM_DB_USER` / `CRM_DB_PASSWORD`. Only the names
ever appear in messages and logs; the URL with the password never leaves this module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from datasurface.errors import DataSurfaceError
from datasurface.model.containers import SQLDatabase
from datasurface.model.credential import Credential


class CredentialError(DataSurfaceError):
    """A credential's environment variables are missing."""


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
    container: SQLDatabase, credential: Credential, env: Mapping[str, str] | None = None, **kwargs: object
) -> Engine:
    """A SQLAlchemy engine on `container`, logged in with `credential` from the environment."""
    user, password = credential_values(credential, env)
    url = make_url(container.sqlalchemy_url()).set(username=user, password=password or None)
    # hide_parameters keeps bound values (which may be customer data) out of error messages.
    return create_engine(url, hide_parameters=True, pool_pre_ping=True, **kwargs)
