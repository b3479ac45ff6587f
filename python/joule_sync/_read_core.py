"""The read core: the one place that opens ``GET /data`` and checks what the node answers.

Pipes, whole-range and partitioned reads all start here.  ``open_data`` returns the body's
chunks with the layout and decimation factor of the rows in it, after checking the
``joule-layout`` and ``joule-decimation`` headers (a missing or impossible one is a
``DataError`` naming it, never garbage rows).  Two answers of the node are turned into what a
caller can use:

- a range without rows is a ``400 this stream has no data``: an empty body of the stream's
  own layout here;
- ``max-rows`` makes the node pick a decimation level from its estimate of the row count, and
  the level it picks may hold no rows at all (a level fills only once 4^k rows of one interval
  have arrived), so a read of a long stream with a small ``max-rows`` gives nothing, as it does
  upstream.  Where the range has data, the coarsest level that holds rows is read instead
  (chosen from ``data_stream_info`` and the intervals, not by probing level after level), and
  a warning says which.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from . import _data, _data_streams, codec
from ._errors import ApiError, DataError
from ._transport import Params, Transport

log = logging.getLogger("joule_sync")

NO_DATA = "this stream has no data"
"""The node's answer (a 400) to a read of a range without rows."""
MAX_WIDTH = 1024
"""Widest row we believe a node sends: upstream streams have a few dozen elements at most, so
a wider ``joule-layout`` is a broken answer, not data."""
DECIMATION_BASE = 4
"""Each decimation level holds one row for every 4 rows of the level below (upstream's
``decimation_factor``)."""


@dataclass
class DataBody:
    """The rows of one ``GET /data`` answer, still on the wire: ``chunks`` yields the body as
    it arrives; ``close`` ends the request."""

    layout: str
    decimation: int
    chunks: Iterator[bytes]
    _response: httpx.Response | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._response is not None:
            self._response.close()


def describe(params: Params) -> str:
    """How a stream was named in ``params``: its path, or ``id N``."""
    return str(params["path"]) if "path" in params else f"id {params.get('id', '?')}"


def parse_data_headers(headers: httpx.Headers | dict[str, str]) -> tuple[str, int]:
    """The layout and decimation factor of a data answer, checked: ``DataError`` names a
    missing header or a value no node sends."""
    layout = headers.get("joule-layout")
    factor_text = headers.get("joule-decimation")
    if layout is None or factor_text is None:
        missing = [
            n for n, v in (("joule-layout", layout), ("joule-decimation", factor_text)) if v is None
        ]
        raise DataError(f"the node's data answer lacks the {' and '.join(missing)} header")
    try:
        dtype = codec.layout_dtype(layout)
    except DataError as exc:
        raise DataError(f"the node's joule-layout header {layout!r} is unusable: {exc}") from None
    width = dtype["data"].shape[0]
    if not 1 <= width <= MAX_WIDTH:
        raise DataError(
            f"the node's joule-layout header {layout!r} has {width} elements: "
            f"expected 1 to {MAX_WIDTH}"
        )
    factor = int(factor_text) if factor_text.isdigit() else 0
    if factor < 1 or factor & (factor - 1) or (factor.bit_length() - 1) % 2:
        raise DataError(
            f"the node's joule-decimation header {factor_text!r} is not a power of "
            f"{DECIMATION_BASE}"
        )
    if factor > 1 and (
        dtype["data"].base != codec.layout_dtype("float32_1")["data"].base or width % 3
    ):
        raise DataError(
            f"the node's joule-layout header {layout!r} cannot hold decimated rows "
            f"(joule-decimation {factor}): they are float32 means, minimums and maximums"
        )
    return layout, factor


def open_data(transport: Transport, params: Params, *, subscribe: bool = False) -> DataBody:
    """Start ``GET /data`` with ``params`` (a read, a decimation level, or a subscription);
    a range without rows gives an empty body of the stream's layout."""
    if subscribe:
        params = {**params, "subscribe": 1}
    try:
        # a live stream may be quiet for long; a bounded read keeps the node's read timeout
        response = transport.request(
            "GET", "/data", params=params, stream=True, no_read_timeout=subscribe
        )
    except ApiError as exc:
        if exc.status != 400 or exc.message != NO_DATA:
            raise
        empty = DataBody(_stream_layout(transport, params), 1, iter(()))
        # a level the node picks for max-rows but never filled has no table: "no data" too
        return (
            _coarsest_level_with_rows(transport, params, empty) if "max-rows" in params else empty
        )
    try:
        layout, factor = parse_data_headers(response.headers)
    except DataError:
        response.close()
        raise
    chunks = response.iter_raw()
    if factor == 1 or "max-rows" not in params:
        return DataBody(layout, factor, chunks, response)
    first = next((chunk for chunk in chunks if chunk), None)
    if first is not None:
        return DataBody(layout, factor, itertools.chain((first,), chunks), response)
    response.close()
    return _coarsest_level_with_rows(transport, params, DataBody(layout, factor, iter(())))


def _stream_layout(transport: Transport, params: Params) -> str:
    return _data_streams.get(
        transport, params["path"] if "path" in params else int(params["id"])
    ).layout


def _coarsest_level_with_rows(transport: Transport, params: Params, empty: DataBody) -> DataBody:
    """The answer of the coarsest decimation level below the one the node picked that holds
    rows; ``empty`` (the node's own answer) when the range has none."""
    target = params["path"] if "path" in params else int(params["id"])
    start, end = params.get("start"), params.get("end")
    in_range = _data.intervals(
        transport, target, None if start is None else int(start), None if end is None else int(end)
    )
    if not in_range:
        return empty
    query = {k: v for k, v in params.items() if k != "max-rows"}
    level = _expected_coarsest_level(transport, target, in_range)
    if empty.decimation > 1:
        level = min(level, empty.decimation // DECIMATION_BASE)
    while level > 1:
        body = open_data(transport, {**query, "decimation-level": level})
        first = next((chunk for chunk in body.chunks if chunk), None)
        if first is not None:
            log.warning(
                "max_rows=%s: the decimation level the node picked for %s holds no rows; "
                "reading level %d instead, which may hold more rows than max_rows",
                params["max-rows"],
                describe(params),
                level,
            )
            body.chunks = itertools.chain((first,), body.chunks)
            return body
        body.close()
        level //= DECIMATION_BASE  # the estimate was off: one level finer
    log.warning(
        "max_rows=%s: no decimation level of %s holds rows; reading the raw rows",
        params["max-rows"],
        describe(params),
    )
    return open_data(transport, query)


def _expected_coarsest_level(
    transport: Transport, target: str | int, in_range: list[list[int]]
) -> int:
    """The coarsest level expected to hold a row: a level 4^k holds about ``n // 4^k`` rows
    for each interval of ``n`` rows, and ``n`` is estimated from the node's row count over
    the time with data."""
    everything = _data.intervals(transport, target)
    time_with_data = sum(e - s for s, e in everything)
    rows = _data_streams.info(transport, target).rows
    rate = rows / time_with_data if time_with_data else 0.0
    interval_rows = [(e - s) * rate for s, e in in_range]
    level = 1
    while level * DECIMATION_BASE <= max(interval_rows):
        level *= DECIMATION_BASE
    while level > 1 and sum(math.floor(n / level) for n in interval_rows) < 1:
        level //= DECIMATION_BASE
    return level
