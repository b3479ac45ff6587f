"""A data stream's rows, short of reading and writing them: intervals, deletes, consolidation
and decimation (the rows themselves go through ``_read_core``, ``_pipes`` and ``_whole_reads``).
"""

from __future__ import annotations

from ._arguments import stream_spec, time_range, timestamp
from ._errors import InvalidArgument
from ._models import DataStream, NodeJSON, intervals_from_json
from ._transport import Transport


def delete(
    transport: Transport,
    stream: DataStream | str | int,
    start: int | None = None,
    end: int | None = None,
) -> None:
    """Delete a stream's rows in ``[start, end)`` (all of them by default).

    An interval break is left where the rows were.
    """
    params = {**stream_spec(stream), **time_range(start, end)}
    transport.ok("DELETE", "/data", params=params)


def intervals(
    transport: Transport,
    stream: DataStream | str | int,
    start: int | None = None,
    end: int | None = None,
) -> list[list[int]]:
    """The ``[start, end]`` of each run of data without a break, within the bounds."""
    params = {**stream_spec(stream), **time_range(start, end)}
    return intervals_from_json(transport.json("GET", "/data/intervals.json", params=params))


def consolidate(
    transport: Transport,
    stream: DataStream | str | int,
    max_gap: int,
    start: int | None = None,
    end: int | None = None,
) -> int:
    """Remove interval breaks where the gap is at most ``max_gap`` µs; returns how many."""
    gap = timestamp(max_gap, "max_gap", dated=False)
    if gap <= 0:
        raise InvalidArgument(f"max_gap must be > 0 µs, not {max_gap!r}")
    params = {**stream_spec(stream), **time_range(start, end), "max_gap": gap}
    answer = transport.json("POST", "/data/consolidate.json", params=params)
    return NodeJSON(answer, "consolidate").required("num_consolidated", int)


def decimate(transport: Transport, stream: DataStream | str | int) -> None:
    """Rebuild all of a stream's decimation levels from its rows."""
    transport.ok("POST", "/data/decimate.json", params=stream_spec(stream))


def drop_decimations(transport: Transport, stream: DataStream | str | int) -> None:
    """Drop a stream's decimation levels (decimated reads are empty until rebuilt)."""
    transport.ok("DELETE", "/data/decimate.json", params=stream_spec(stream))
