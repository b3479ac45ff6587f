"""A one-line progress bar on stderr: rows, rows/s and, when the total is known, ETA.

Small enough to own rather than depend on: exports measure progress in microseconds of
the time range covered (known up front from ``data_intervals``), not in rows (which the
node only estimates).  On a terminal the line is redrawn in place a few times a second;
elsewhere (a log file, a CI job) a new line is written every few seconds instead, so that
logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

REDRAW_SECONDS = 0.2
"""How often the line is redrawn in place on a terminal."""
LOG_SECONDS = 5.0
"""How often a new line is written when the output is not a terminal."""
BAR_WIDTH = 20


class Progress:
    """Progress of a read over ``total`` units (µs of the range); ``update`` adds to it."""

    def __init__(self, label: str, total: int | None, *, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.rows = 0
        self._stream = stream if stream is not None else sys.stderr
        self._interactive = self._stream.isatty()
        self._interval = REDRAW_SECONDS if self._interactive else LOG_SECONDS
        self._started = time.monotonic()
        self._drawn = self._started

    def update(self, units: int, rows: int) -> None:
        self.done += units
        self.rows += rows
        now = time.monotonic()
        if now - self._drawn >= self._interval:
            self._drawn = now
            self._draw(now, end="\r" if self._interactive else "\n")

    def finish(self) -> None:
        if self.total is not None:
            self.done = self.total
        self._draw(time.monotonic(), end="\n")

    def line(self, now: float) -> str:
        """``label [#####     ] 25% 1,000 rows, 500 rows/s, 2.0 s, ETA 6 s``."""
        elapsed = max(now - self._started, 1e-9)
        counts = f"{self.rows:,} rows, {self.rows / elapsed:,.0f} rows/s, {elapsed:.1f} s"
        if not self.total:
            return f"{self.label}: {counts}"
        fraction = min(self.done / self.total, 1.0)
        bar = "#" * int(fraction * BAR_WIDTH)
        text = f"{self.label} [{bar:<{BAR_WIDTH}}] {fraction:4.0%} {counts}"
        if fraction < 1:
            text += f", ETA {elapsed * (1 - fraction) / fraction:.0f} s" if fraction else ", ETA ?"
        return text

    def _draw(self, now: float, end: str) -> None:
        text = self.line(now)
        # pad over the longer line drawn before, which \r alone would leave visible
        self._stream.write((text.ljust(100) if self._interactive else text) + end)
        self._stream.flush()
