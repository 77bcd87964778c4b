"""The result of checking a proposed model against the base model.

Each reason carries the object path, the rule and who may make the change instead, both in
its message (people read PR logs) and as separate fields (bots read `--json`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from datasurface.model.problems import Problem, ProblemList, Severity


class Section(StrEnum):
    """Why a change was rejected, in the order reasons are printed."""

    LINT = "lint"
    OWNERSHIP = "ownership"
    COMPATIBILITY = "compatibility"
    ASSIGNMENTS = "assignments"
    FILES = "files"


class Action(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class ChangeProblem:
    """One reason. `may_change` names the repository that may make (or fix) the change."""

    section: Section
    severity: Severity
    rule: str
    path: str
    message: str
    may_change: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.severity.value.upper()} [{self.rule}] {self.path}: {self.message}"
        if self.hint:
            text += f" (fix: {self.hint})"
        return text

    def to_problem(self) -> Problem:
        return Problem(self.severity, self.path, self.message, self.hint, self.rule)

    def to_json(self) -> dict[str, str]:
        return {
            "section": self.section.value,
            "severity": self.severity.value,
            "rule": self.rule,
            "path": self.path,
            "message": self.message,
            "may_change": self.may_change,
            "hint": self.hint,
        }


@dataclass(frozen=True, slots=True)
class ObjectChange:
    """One object the proposal adds, removes or changes, and whether the proposer owns it."""

    path: str
    action: Action
    what: str
    owner: str
    authorized: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "action": self.action.value,
            "what": self.what,
            "owner": self.owner,
            "authorized": self.authorized,
        }


@dataclass(slots=True)
class ChangeReport:
    repo: str
    branch: str | None
    base_name: str
    proposed_name: str
    #: What the proposer owns in the base model, e.g. "team 'sales'".
    roles: list[str] = field(default_factory=list)
    changes: list[ObjectChange] = field(default_factory=list)
    problems: list[ChangeProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[ChangeProblem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[ChangeProblem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def may_merge(self) -> bool:
        return not self.errors

    def by_section(self) -> dict[Section, list[ChangeProblem]]:
        out: dict[Section, list[ChangeProblem]] = {s: [] for s in Section}
        for problem in self.problems:
            out[problem.section].append(problem)
        return out

    def problem_list(self) -> ProblemList:
        """The reasons as a plain ProblemList (what `lint` returns), for callers that want one."""
        return ProblemList([p.to_problem() for p in self.problems])

    def proposer(self) -> str:
        return proposer_label(self.repo, self.branch)

    def summary(self) -> str:
        per_section = Counter(p.section for p in self.errors)
        counts = ", ".join(f"{per_section[s]} {s.value}" for s in Section if per_section[s])
        if self.may_merge:
            return (
                f"OK: the change may merge ({len(self.changes)} object change(s) by {self.proposer()}, "
                f"{len(self.warnings)} warning(s))"
            )
        return f"REJECTED: {len(self.errors)} reason(s) ({counts}), {len(self.warnings)} warning(s)"

    def to_json(self) -> dict[str, Any]:
        return {
            "may_merge": self.may_merge,
            "repo": self.repo,
            "branch": self.branch,
            "base": self.base_name,
            "proposed": self.proposed_name,
            "roles": list(self.roles),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "changes": [c.to_json() for c in self.changes],
            "problems": [p.to_json() for p in self.problems],
        }


def proposer_label(repo: str, branch: str | None) -> str:
    return f"{repo} (branch {branch})" if branch is not None else f"{repo} (any branch)"
