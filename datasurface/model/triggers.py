"""When an ingestion stream starts a new batch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Trigger:
    def describe(self) -> str:
        raise NotImplementedError


@dataclass(slots=True)
class CronTrigger(Trigger):
    """Start a batch on a five-field cron schedule, evaluated in UTC."""

    cron: str

    def describe(self) -> str:
        return f"cron:{self.cron}"


@dataclass(slots=True)
class ExternallyTriggered(Trigger):
    """Batches start only when something outside triggers the stream."""

    def describe(self) -> str:
        return "external"
