"""The merge handler: clone, lint, publish a model folder, sync DAG config rows and views."""

from .handler import MergeHandlerError, MergeHandlerResult, ModelRefused, PlatformSync, run_merge_handler

__all__ = ["MergeHandlerError", "MergeHandlerResult", "ModelRefused", "PlatformSync", "run_merge_handler"]
