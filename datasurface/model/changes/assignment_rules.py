"""Guard rails on `dsg_platform_mapping.json`: these bind the ecosystem's owners too.

A platform builds tables, views and DAGs for every active assignment, and consumers rely on
them, so assignments follow one life cycle (`ALLOWED_STATUS_MOVES`), one step per change,
so that each platform sees every step and can build or clean up:

    (new) -> PROVISIONING -> PROVISIONED -> DECOMMISSIONING -> DECOMMISSIONED -> (removed)

- a new assignment starts at PROVISIONING: the platform must build before consumers use it;
- only a DECOMMISSIONED assignment may be removed: every other status means the platform
  may still hold resources for it (PROVISIONING ones are already active, see `is_active`);
- a DSG may have several assignments at once, which is how it migrates: add the new platform,
  wait until it is PROVISIONED, then decommission the old one.
"""

from __future__ import annotations

from datasurface.model.assignments import ALLOWED_STATUS_MOVES, AssignmentStatus, PlatformAssignments
from datasurface.model.changes.owners import Owner
from datasurface.model.changes.report import ChangeProblem, ChangeReport, Section
from datasurface.model.problems import Severity, path_of

_LIFE_CYCLE = "PROVISIONING -> PROVISIONED -> DECOMMISSIONING -> DECOMMISSIONED"


def check_assignment_moves(
    base: PlatformAssignments, proposed: PlatformAssignments, eco_owner: Owner, report: ChangeReport
) -> None:
    before = {a.key(): a for a in base.assignments}
    after = {a.key(): a for a in proposed.assignments}

    def error(rule: str, key: tuple[str, str, str], message: str, instead: str) -> None:
        report.problems.append(
            ChangeProblem(
                Section.ASSIGNMENTS,
                Severity.ERROR,
                f"assignment/{rule}",
                path_of(("Assignment", "/".join(key))),
                f"{message}; assignments move only {_LIFE_CYCLE}, one step per change, whoever proposes it; "
                f"instead {eco_owner.label()} may {instead}",
                eco_owner.short(),
            )
        )

    for key, old in before.items():
        new = after.get(key)
        if new is None:
            if old.status is not AssignmentStatus.DECOMMISSIONED:
                error(
                    "removed-before-decommissioned",
                    key,
                    f"{old.status.value} assignment removed; the platform may still serve it",
                    _next_step(old.status),
                )
        elif new.status is not old.status and new.status not in ALLOWED_STATUS_MOVES[old.status]:
            error(
                "illegal-status-move",
                key,
                f"status moved {old.status.value} -> {new.status.value}",
                _next_step(old.status),
            )
    for key, new in after.items():
        if key not in before and new.status is not AssignmentStatus.PROVISIONING:
            error(
                "new-not-provisioning",
                key,
                f"new assignment starts at {new.status.value}",
                "add it with status PROVISIONING and move it to PROVISIONED in a later change",
            )


def _next_step(status: AssignmentStatus) -> str:
    moves = sorted(s.value for s in ALLOWED_STATUS_MOVES[status])
    if not moves:
        return "remove the DECOMMISSIONED assignment"
    return f"move it from {status.value} to {' or '.join(moves)}"
