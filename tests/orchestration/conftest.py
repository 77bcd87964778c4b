from __future__ import annotations

# The same source + merge database pair with the example model as the job tests.
from tests.job.conftest import stack

__all__ = ["stack"]
