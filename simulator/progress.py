"""Progress on stderr: one line redrawn in place on a terminal, a plain line now and then otherwise.

Redirected output (logs of `make up-local`, CI) gets a line every `log_interval` seconds
instead of carriage returns that would pile up into one unreadable line.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

TTY_REFRESH_S = 0.2
LOG_INTERVAL_S = 10.0


class Progress:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False, log_interval: float = LOG_INTERVAL_S) -> None:
        self._stream = stream or sys.stderr
        self._quiet = quiet
        self._tty = self._stream.isatty()
        self._interval = TTY_REFRESH_S if self._tty else log_interval
        self._last = time.monotonic()
        self._drawn = 0  # length of the line currently drawn on the terminal

    def update(self, done: int, failed: int, elapsed: float, target: int | None) -> None:
        now = time.monotonic()
        if self._quiet or now - self._last < self._interval:
            return
        self._last = now
        rate = done / elapsed if elapsed > 0 else 0.0
        of = f"/{target}" if target is not None else ""
        line = f"simulate: {done}{of} changes, {rate:.0f}/s, {elapsed:.0f} s" + (f", {failed} failed" if failed else "")
        if self._tty:
            pad = max(0, self._drawn - len(line))
            self._stream.write("\r" + line + " " * pad)
            self._drawn = len(line)
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def _clear(self) -> None:
        if self._drawn:
            self._stream.write("\r" + " " * self._drawn + "\r")
            self._drawn = 0

    def note(self, message: str) -> None:
        """An informational line, suppressed by --quiet."""
        if not self._quiet:
            self.say(message)

    def say(self, message: str) -> None:
        """A message that must not be lost in the progress line (warnings are shown even with --quiet)."""
        self._clear()
        self._stream.write(message + "\n")
        self._stream.flush()

    def finish(self) -> None:
        self._clear()
        self._stream.flush()
