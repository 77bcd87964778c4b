"""Named points in the job where a test can kill or pause the process.

`DATASURFACE_KILL_AT=<point>[:<n>]` SIGKILLs the job the n-th time (default: first) it
reaches the point: no cleanup, no `finally`, exactly like an evicted or OOM-killed pod. This
is how the tests prove that a job killed anywhere and run again ends as an uninterrupted run.
`DATASURFACE_PAUSE_AT=<point>:<seconds>` sleeps there instead (concurrency tests hold a
stream's lock this way). Unset, `reach` costs two environment lookups.
"""

from __future__ import annotations

import os
import signal
import time

KILL_ENV = "DATASURFACE_KILL_AT"
PAUSE_ENV = "DATASURFACE_PAUSE_AT"

#: Every point the job marks, in the order a batch passes them.
POINTS = (
    "after-batch-start",
    "after-chunk",
    "after-ingest",
    "inside-merge",
    "after-commit",
)

_seen: dict[str, int] = {}


def reach(point: str) -> None:
    kill = os.environ.get(KILL_ENV)
    if kill:
        name, _, nth = kill.partition(":")
        if name == point:
            _seen[point] = _seen.get(point, 0) + 1
            if _seen[point] == int(nth or "1"):
                os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get(PAUSE_ENV)
    if pause:
        name, _, seconds = pause.partition(":")
        if name == point:
            time.sleep(float(seconds or "5"))
