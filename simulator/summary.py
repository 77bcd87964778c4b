"""What a run did: counts per operation, totals, timing and the tables' sizes at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulator.operations import Operation


@dataclass
class Summary:
    seed: int
    database: str  # host, port and database only: never the user or password
    operations: dict[Operation, int] = field(default_factory=lambda: dict.fromkeys(Operation, 0))
    failed: int = 0
    initial_customers: int = 0
    reconnects: int = 0
    elapsed_s: float = 0.0  # the whole run
    changing_s: float = 0.0  # the change phase only (after setup and the initial load)
    stopped_by: str = "max_changes"  # or "duration", "signal", "error"
    clock_start: datetime | None = None
    clock_end: datetime | None = None
    rows: dict[str, int] | None = None
    integrity_problems: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def changes(self) -> int:
        """Changes committed (failed ones are not counted)."""
        return sum(self.operations.values())

    @property
    def rate(self) -> float:
        return self.changes / self.changing_s if self.changing_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "seed": self.seed,
            "changes": self.changes,
            "failed": self.failed,
            "operations": {op.value: n for op, n in self.operations.items()},
            "initial_customers": self.initial_customers,
            "elapsed_seconds": round(self.elapsed_s, 3),
            "changes_per_second": round(self.rate, 1),
            "reconnects": self.reconnects,
            "stopped_by": self.stopped_by,
            "simulated_clock": {
                "start": self.clock_start.isoformat() if self.clock_start else None,
                "end": self.clock_end.isoformat() if self.clock_end else None,
            },
            "rows": self.rows,
            "integrity_problems": self.integrity_problems,
            "error": self.error,
        }

    def to_text(self) -> str:
        """The human summary for stdout; an error is reported separately on stderr."""
        lines = [
            f"simulated {self.changes} changes on {self.database} in {self.elapsed_s:.1f} s "
            f"({self.rate:.0f}/s), seed {self.seed}, stopped by {self.stopped_by}",
        ]
        if self.initial_customers:
            lines.append(f"  initial customers loaded: {self.initial_customers}")
        width = max(len(op.value) for op in Operation)
        lines += [f"  {op.value:<{width}}  {n}" for op, n in self.operations.items()]
        lines.append(f"  {'failed':<{width}}  {self.failed}")
        lines.append(f"  {'reconnects':<{width}}  {self.reconnects}")
        if self.rows is not None:
            lines.append("rows now: " + ", ".join(f"{t} {n}" for t, n in self.rows.items()))
        if self.clock_start and self.clock_end:
            lines.append(f"simulated time: {self.clock_start.isoformat()} .. {self.clock_end.isoformat()}")
        if self.rows is not None:
            lines.append("integrity: " + ("; ".join(self.integrity_problems) if self.integrity_problems else "ok"))
        return "\n".join(lines)
