"""Problems found in a model: what lint and the change checker report."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. `path` names the object, for example `Team 'sales' / Datastore 'crm'`."""

    severity: Severity
    path: str
    message: str
    hint: str = ""
    rule: str = ""

    def __str__(self) -> str:
        text = f"{self.severity.value.upper()}: {self.path}: {self.message}"
        if self.hint:
            text += f" (fix: {self.hint})"
        return text

    def to_json(self) -> dict[str, str]:
        return {
            "severity": self.severity.value,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "rule": self.rule,
        }


@dataclass(slots=True)
class ProblemList:
    """Collects problems; rules append through `error` and `warning`."""

    items: list[Problem] = field(default_factory=list)

    def error(self, rule: str, path: str, message: str, hint: str = "") -> None:
        self.items.append(Problem(Severity.ERROR, path, message, hint, rule))

    def warning(self, rule: str, path: str, message: str, hint: str = "") -> None:
        self.items.append(Problem(Severity.WARNING, path, message, hint, rule))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity is Severity.WARNING]

    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.items)

    def __len__(self) -> int:
        return len(self.items)


def path_of(*parts: tuple[str, str]) -> str:
    """Join (kind, name) pairs into an object path: `Team 'a' / Datastore 'b'`."""
    return " / ".join(f"{kind} '{name}'" for kind, name in parts)
