"""Which data platforms serve which DSG: `dsg_platform_mapping.json`.

The central team owns this file. A DSG may be served by several platforms at once (for
example while it migrates from one to another).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from datasurface.errors import DataSurfaceError


class AssignmentStatus(StrEnum):
    PROVISIONING = "PROVISIONING"
    PROVISIONED = "PROVISIONED"
    DECOMMISSIONING = "DECOMMISSIONING"
    DECOMMISSIONED = "DECOMMISSIONED"


#: The only status moves allowed between two versions of the mapping.
ALLOWED_STATUS_MOVES: dict[AssignmentStatus, frozenset[AssignmentStatus]] = {
    AssignmentStatus.PROVISIONING: frozenset({AssignmentStatus.PROVISIONED}),
    AssignmentStatus.PROVISIONED: frozenset({AssignmentStatus.DECOMMISSIONING}),
    AssignmentStatus.DECOMMISSIONING: frozenset({AssignmentStatus.DECOMMISSIONED}),
    AssignmentStatus.DECOMMISSIONED: frozenset(),
}


@dataclass(slots=True)
class DSGPlatformAssignment:
    workspace: str
    dsg: str
    platform: str
    status: AssignmentStatus = AssignmentStatus.PROVISIONING
    documentation: str = ""

    def key(self) -> tuple[str, str, str]:
        return (self.workspace, self.dsg, self.platform)

    def is_active(self) -> bool:
        """Active assignments get pipelines: everything until decommissioned."""
        return self.status is not AssignmentStatus.DECOMMISSIONED

    def to_json(self) -> dict[str, str]:
        out = {"workspace": self.workspace, "dsg": self.dsg, "platform": self.platform, "status": self.status.value}
        if self.documentation:
            out["documentation"] = self.documentation
        return out


class AssignmentFormatError(DataSurfaceError, ValueError):
    """The mapping file is not in the expected shape; the message names the entry."""


@dataclass(slots=True)
class PlatformAssignments:
    assignments: list[DSGPlatformAssignment] = field(default_factory=list)

    def for_dsg(self, workspace: str, dsg: str) -> list[DSGPlatformAssignment]:
        return [a for a in self.assignments if a.workspace == workspace and a.dsg == dsg]

    def for_platform(self, platform: str) -> list[DSGPlatformAssignment]:
        return [a for a in self.assignments if a.platform == platform and a.is_active()]

    def to_json(self) -> dict[str, Any]:
        return {"assignments": [a.to_json() for a in self.assignments]}

    @staticmethod
    def from_json(data: Any) -> PlatformAssignments:
        """Parse the decoded JSON document; raise AssignmentFormatError naming the bad entry."""
        if not isinstance(data, dict) or not isinstance(data.get("assignments"), list):
            raise AssignmentFormatError('expected an object {"assignments": [ ... ]}')
        result = PlatformAssignments()
        for index, entry in enumerate(data["assignments"]):
            where = f"assignments[{index}]"
            if not isinstance(entry, dict):
                raise AssignmentFormatError(f"{where}: expected an object")
            missing = [k for k in ("workspace", "dsg", "platform") if not isinstance(entry.get(k), str)]
            if missing:
                raise AssignmentFormatError(f"{where}: missing or non-string field(s) {', '.join(missing)}")
            raw_status = entry.get("status", AssignmentStatus.PROVISIONING.value)
            try:
                status = AssignmentStatus(raw_status)
            except ValueError:
                allowed = ", ".join(s.value for s in AssignmentStatus)
                raise AssignmentFormatError(f"{where}: unknown status {raw_status!r} (use one of {allowed})") from None
            unknown = set(entry) - {"workspace", "dsg", "platform", "status", "documentation"}
            if unknown:
                raise AssignmentFormatError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
            result.assignments.append(
                DSGPlatformAssignment(
                    entry["workspace"], entry["dsg"], entry["platform"], status, str(entry.get("documentation", ""))
                )
            )
        return result

    @staticmethod
    def from_text(text: str) -> PlatformAssignments:
        return PlatformAssignments.from_json(json.loads(text))
