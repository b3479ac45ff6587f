"""Whole ranges as one array: a growing buffer, or several connections at once.

``read_array`` decodes one streamed response straight into a single buffer that the
extension grows by ``realloc`` (which moves large buffers without copying them) on huge
pages, so the peak memory stays near the result.  ``read_partitioned`` splits a range into
time pieces holding similar amounts of data, reads them on parallel connections (the codec
releases the GIL) and joins them in order, restoring the interval breaks that fall between
pieces.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

from . import _data, codec
from ._arguments import read_params, require_count, stream_spec, time_range
from ._errors import ConnectionFailed, InvalidArgument
from ._models import DataStream
from ._pipes import flatten_rows
from ._read_core import DataBody, describe, open_data
from ._transport import Params, Transport


def read_array(transport: Transport, params: Params) -> tuple[codec.Decoded, int]:
    """Rows of ``GET /data`` with ``params`` and the decimation factor of the rows."""
    body = open_data(transport, params)
    try:
        return _decode_into_one_buffer(body, describe(params)), body.decimation
    finally:
        body.close()


def _decode_into_one_buffer(body: DataBody, name: str) -> codec.Decoded:
    decoder = codec.Decoder(body.layout)
    interval_ends: list[int] = []
    try:
        for chunk in body.chunks:
            interval_ends += decoder.feed_collect(chunk)
    except httpx.TransportError as exc:
        raise ConnectionFailed(
            f"the read of {name!r} broke off after {decoder.rows_decoded} rows "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    decoder.finish()  # a partial row left over is a truncated response: DataError
    return codec.Decoded(decoder.take_collected(), interval_ends)


def clip_intervals(
    intervals: Sequence[Sequence[int]], start: int | None, end: int | None
) -> list[tuple[int, int]]:
    """The parts of ``intervals`` within ``[start, end)`` (open bounds clip nothing)."""
    clipped = [
        (max(s, start if start is not None else s), min(e, end if end is not None else e))
        for s, e in intervals
    ]
    return [(s, e) for s, e in clipped if s < e]


def plan_partitions(
    intervals: Sequence[Sequence[int]], start: int | None, end: int | None, count: int
) -> list[tuple[int, int]]:
    """``count`` half-open time ranges covering the data in ``[start, end)``.

    Boundaries are placed so that each piece spans the same amount of time *with data*
    (gaps count for nothing), which gives similar row counts at a steady rate.
    """
    clipped = clip_intervals(intervals, start, end)
    if not clipped:
        return []
    total = sum(e - s for s, e in clipped)
    bounds = [clipped[0][0]]
    covered = 0
    spans = iter(clipped)
    s, e = next(spans)
    for i in range(1, count):
        target = total * i // count
        while covered + (e - s) < target:
            covered += e - s
            s, e = next(spans)
        bound = s + (target - covered)
        if bound > bounds[-1]:
            bounds.append(bound)
    bounds.append(clipped[-1][1])
    return list(itertools.pairwise(bounds))


def read_partitioned(
    transport: Transport,
    spec: Params,
    intervals: Sequence[Sequence[int]],
    start: int | None,
    end: int | None,
    count: int,
) -> codec.Decoded:
    """The rows of ``[start, end)`` read as ``count`` pieces over parallel connections."""
    pieces = plan_partitions(intervals, start, end, count)
    if not pieces:  # no data in range: one plain read says what an empty result looks like
        return read_array(transport, {**spec, **_bounds(start, end)})[0]
    with ThreadPoolExecutor(max_workers=len(pieces), thread_name_prefix="joule-sync read") as pool:
        results = list(
            pool.map(
                lambda piece: read_array(transport, {**spec, "start": piece[0], "end": piece[1]})[
                    0
                ],
                pieces,
            )
        )
    return join_pieces(results, intervals)


def _bounds(start: int | None, end: int | None) -> Params:
    return {k: v for k, v in (("start", start), ("end", end)) if v is not None}


def join_pieces(pieces: list[codec.Decoded], intervals: Sequence[Sequence[int]]) -> codec.Decoded:
    """Concatenate pieces in order, with an interval end wherever the node has a break
    between the last row of one piece and the first row of the next.

    Empties ``pieces``, dropping each piece once it is copied, so that the peak memory is
    the result and one piece, not the result and all of them.
    """
    starts = [s for s, _ in intervals]

    def interval_of(timestamp: int) -> int:
        return bisect.bisect_right(starts, timestamp) - 1

    ends: list[int] = []
    offset = 0
    last_timestamp: int | None = None
    for piece in pieces:
        if len(piece.data) and last_timestamp is not None:
            first = int(piece.data["timestamp"][0])
            if interval_of(first) != interval_of(last_timestamp) and (
                not ends or ends[-1] != offset
            ):
                ends.append(offset)
        ends += [offset + e for e in piece.interval_ends]
        offset += len(piece.data)
        if len(piece.data):
            last_timestamp = int(piece.data["timestamp"][-1])
    data = np.empty(offset, dtype=pieces[0].data.dtype)
    copied = 0
    while pieces:
        rows = pieces.pop(0).data
        data[copied : copied + len(rows)] = rows
        copied += len(rows)
    return codec.Decoded(data, ends)


def read_rows(
    transport: Transport,
    stream: DataStream | str | int,
    start: int | None,
    end: int | None,
    max_rows: int | None,
    partitions: int,
) -> tuple[codec.Decoded, int]:
    """Rows and decimation factor of a range, read whole or in parallel pieces."""
    require_count(partitions, "partitions")
    params = read_params(stream, start, end, max_rows)
    if partitions == 1:
        return read_array(transport, params)
    if max_rows is not None:
        raise InvalidArgument(
            "partitions cannot be combined with max_rows: each piece would be decimated on its own"
        )
    # the pieces' bounds are computed from these: integers, as the node requires
    bounds = time_range(start, end)
    first, last = bounds.get("start"), bounds.get("end")
    intervals = _data.intervals(transport, stream, first, last)
    return read_partitioned(transport, stream_spec(stream), intervals, first, last, partitions), 1


def read_range(
    transport: Transport,
    stream: DataStream | str | int,
    start: int | None = None,
    end: int | None = None,
    max_rows: int | None = None,
    flatten: bool = False,
    *,
    partitions: int = 1,
) -> npt.NDArray[Any]:
    """The whole range as one array of upstream's dtype (2-D when ``flatten``).

    Unlike upstream (which decimates to 10,000 rows unless told otherwise), every row
    comes back unless ``max_rows`` is given.  ``partitions=K`` reads K time pieces over K
    connections at once and joins them in order.
    """
    rows = read_rows(transport, stream, start, end, max_rows, partitions)[0].data
    return flatten_rows(rows) if flatten else rows
