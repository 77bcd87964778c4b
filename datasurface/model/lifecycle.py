"""Production status and deprecation of datastores and datasets."""

from __future__ import annotations

from enum import StrEnum


class ProductionStatus(StrEnum):
    PRODUCTION = "production"
    NOT_PRODUCTION = "not_production"


class DeprecationStatus(StrEnum):
    """A deprecated dataset may still be used only by sinks that allow deprecated data;
    it may be removed once no workspace uses it."""

    NOT_DEPRECATED = "not_deprecated"
    DEPRECATED = "deprecated"
