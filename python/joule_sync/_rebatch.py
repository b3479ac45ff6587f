"""The one re-batcher: rows as the network cut them, regrouped into arrays of a fixed size.

Every consumer that wants batches (chunked reads, DataFrame chunks, file writers) takes them
from here, so what it makes does not depend on how the node or the network split the body.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt

from . import codec


def rebatch(
    blocks: Iterable[tuple[npt.NDArray[np.void], bool]], rows: int
) -> Iterator[codec.Decoded]:
    """Regroup pipe blocks into arrays of exactly ``rows`` rows (the last one holds the rest),
    keeping the interval ends: a break after a chunk's last row is that chunk's end ``rows``.
    """
    parts: list[npt.NDArray[np.void]] = []
    ends: list[int] = []
    count = 0
    for data, end_of_interval in blocks:
        parts.append(data)
        count += len(data)
        if end_of_interval:
            ends.append(count)
        while count >= rows:
            joined = np.concatenate(parts) if len(parts) > 1 else parts[0]
            yield codec.Decoded(joined[:rows], [e for e in ends if e <= rows])
            # the rest is a view: the next chunk's concatenate copies it out
            parts = [joined[rows:]] if count > rows else []
            ends = [e - rows for e in ends if e > rows]
            count -= rows
    if parts:
        yield codec.Decoded(np.concatenate(parts), ends)
