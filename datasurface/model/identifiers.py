"""Which names are legal. Model names end up as SQL identifiers and environment-variable
prefixes, so they are checked once here and memoised (large models repeat column names)."""

from __future__ import annotations

import re
from functools import lru_cache

_SQL_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Postgres truncates longer identifiers; column names are used as physical names as they are.
MAX_COLUMN_NAME_LENGTH = 63

#: Column names the engine adds itself; a dataset may not use this prefix.
RESERVED_COLUMN_PREFIX = "ds_surf_"


@lru_cache(maxsize=65536)
def is_sql_identifier(name: str) -> bool:
    return _SQL_IDENTIFIER.fullmatch(name) is not None


@lru_cache(maxsize=4096)
def is_env_prefix(name: str) -> bool:
    return _ENV_PREFIX.fullmatch(name) is not None
