"""Bootstrapping Yellow in ring levels.

Ring 0 renders the Kubernetes manifests of the sandbox from the model alone (no cluster, no
database, no secret values). Ring 1 runs where the merge database is reachable: it creates
the merge database and its tables and runs the first merge handler.
"""

from .ring0 import render_ring0, write_ring0
from .ring1 import Ring1Result, run_ring1
from .settings import BootstrapError, SandboxSettings, build_settings

__all__ = [
    "BootstrapError",
    "Ring1Result",
    "SandboxSettings",
    "build_settings",
    "render_ring0",
    "run_ring1",
    "write_ring0",
]
