"""Rows for tests: deterministic values that exercise each element type."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from joule_sync import codec


def make_rows(
    layout: str, count: int, *, start: int = 1_700_000_000_000_000, step: int = 1000, seed: int = 0
) -> npt.NDArray[np.void]:
    """``count`` rows of ``layout``, ``step`` µs apart, with values that exercise the type."""
    rows = np.zeros(count, dtype=codec.layout_dtype(layout))
    rows["timestamp"] = start + np.arange(count, dtype=np.int64) * step
    rng = np.random.default_rng(seed)
    element = rows.dtype["data"].base
    if element.kind == "f":
        rows["data"] = rng.standard_normal(rows["data"].shape) * 1000
    else:
        info = np.iinfo(element)
        rows["data"] = rng.integers(info.min, info.max, rows["data"].shape, endpoint=True)
    return rows
