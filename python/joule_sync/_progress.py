"""A one-line progress bar on stderr: rows, rows/s and, when the total is known, ETA.

Small enough to own rather than depend on: exports measure progress in microseconds of
data covered (known up front from ``data_intervals``), not in rows (which the node only
estimates), and redraw at most a few times a second.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

REDRAW_SECONDS = 0.2


class Progress:
    """Progress of a read over ``total`` units (µs of data); ``update`` adds to it."""

    def __init__(self, label: str, total: int | None, *, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.rows = 0
        self._stream = stream if stream is not None else sys.stderr
        self._started = time.monotonic()
        self._drawn = 0.0

    def update(self, units: int, rows: int) -> None:
        self.done += units
        self.rows += rows
        now = time.monotonic()
        if now - self._drawn >= REDRAW_SECONDS:
            self._drawn = now
            self._draw(now, end="\r")

    def finish(self) -> None:
        if self.total is not None:
            self.done = self.total
        self._draw(time.monotonic(), end="\n")

    def line(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        rate = self.rows / elapsed
        text = f"{self.label}: {self.rows:,} rows, {rate:,.0f} rows/s, {elapsed:.1f} s"
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            eta = elapsed * (1 - fraction) / fraction if fraction > 0 else float("inf")
            bar = "#" * int(fraction * 20)
            text = f"{self.label} [{bar:<20}] {fraction:4.0%} {text[len(self.label) + 2 :]}"
            if fraction < 1:
                text += f", ETA {eta:.0f} s" if eta != float("inf") else ", ETA ?"
        return text

    def _draw(self, now: float, end: str) -> None:
        self._stream.write(self.line(now).ljust(100) + end)
        self._stream.flush()
