"""Credentials are referenced by name only; values come from the environment at run time."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CredentialType(StrEnum):
    USER_PASSWORD = "user_password"
    TOKEN = "token"


@dataclass(slots=True)
class Credential:
    """A named secret. At run time `<NAME>_USER`/`<NAME>_PASSWORD` or `<NAME>_TOKEN` hold it."""

    name: str
    type: CredentialType = CredentialType.USER_PASSWORD

    def env_names(self) -> list[str]:
        prefix = self.name.upper()
        if self.type is CredentialType.TOKEN:
            return [f"{prefix}_TOKEN"]
        return [f"{prefix}_USER", f"{prefix}_PASSWORD"]
