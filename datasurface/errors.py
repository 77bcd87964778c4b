"""The one error hierarchy of DataSurface.

Every failure a user can act on is a `DataSurfaceError`: its message names the object that is
wrong and, where there is one, the fix. `datasurface.cli.main` catches this base class once and
prints the message as a single `error:` line with exit code 1, so no traceback reaches a user
from any command. Library code raises the subclass that says which layer failed (loading a
model, a batch, a credential, ...); callers that need to tell them apart still can.

This module imports nothing from the rest of the package, so the model package (which must
not import database, Airflow or Kubernetes code) can use it too.
"""

from __future__ import annotations


class DataSurfaceError(Exception):
    """A problem the user can fix; `str()` is the whole message, naming object and fix."""

    #: The process exit code when this error ends a command.
    exit_code: int = 1
