"""Pipes: bulk data between a node and numpy, through the Rust codec.

``ReadPipe`` wraps one streamed ``GET /data`` response (a bounded read, or an endless live
subscription).  Bytes go from httpx's stream straight into the codec's streaming decoder;
rows wait in the pipe until the caller consumes them, as upstream's pipes do.

``WritePipe`` feeds one chunked ``POST /data`` from a bounded queue on a sender thread:
``write`` encodes (and so validates) on the caller's thread, then waits for room in the
queue, so a slow node slows the writer instead of filling memory.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import numpy as np
import numpy.typing as npt

from . import codec
from ._errors import (
    ApiError,
    ConnectionFailed,
    DataError,
    DecimationError,
    EmptyPipeError,
    JouleError,
    SubscriptionError,
)

if TYPE_CHECKING:
    from ._client import Node

log = logging.getLogger("joule_sync")

Rows = npt.NDArray[np.void]
Params = dict[str, str | int]

NO_DATA = "this stream has no data"
"""The node's answer (a 400) to a read of a range without rows: an empty pipe for us."""


@dataclass(frozen=True)
class Block:
    """Rows up to an interval break or a network chunk, as ``for block in pipe`` yields them.

    ``end_of_interval`` is true when an interval break follows the last row.  Decimated
    blocks (``decimation_factor > 1``) also give ``mean``, ``min`` and ``max`` views.
    """

    data: Rows
    end_of_interval: bool
    decimation_factor: int = 1

    def __len__(self) -> int:
        return len(self.data)

    @property
    def timestamp(self) -> npt.NDArray[np.int64]:
        return self.data["timestamp"]

    @property
    def mean(self) -> npt.NDArray[np.float32]:
        return self._decimated()["mean"]

    @property
    def min(self) -> npt.NDArray[np.float32]:
        return self._decimated()["min"]

    @property
    def max(self) -> npt.NDArray[np.float32]:
        return self._decimated()["max"]

    def _decimated(self) -> Rows:
        if self.decimation_factor == 1:
            raise DecimationError("these rows are raw data: mean/min/max exist only when decimated")
        return codec.decimated_view(self.data)


def flatten_rows(data: Rows) -> npt.NDArray[Any]:
    """Upstream's flattened form: a 2-D array, timestamps in column 0."""
    flat: npt.NDArray[Any] = np.c_[data["timestamp"][:, None], data["data"]]
    return flat


_Pipe = TypeVar("_Pipe", bound="_ClosedOnExit")


class _ClosedOnExit:
    """``with pipe:`` closes the pipe on the way out, error or not."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Pipe) -> _Pipe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ReadPipe(_ClosedOnExit):
    """Rows of a data read or subscription, with upstream's pipe semantics.

    ``read()`` returns the rows not yet consumed, up to the next interval break (then
    ``end_of_interval`` is true), waiting for the node when there are none; ``consume(n)``
    drops the first ``n`` of them.  ``read`` raises ``EmptyPipeError`` once everything has
    been consumed and the response has ended.  Iterating yields ``Block``s and consumes them.
    Close it (or use ``with``) to end the request early: this matters for subscriptions.
    """

    def __init__(
        self,
        response: httpx.Response | None,
        *,
        layout: str,
        decimation_factor: int = 1,
        stream_name: str = "",
        live: bool = False,
    ) -> None:
        self.layout = layout
        self.live = live
        self.decimation_factor = decimation_factor
        self.name = stream_name
        self.dtype = codec.layout_dtype(layout)
        self._response = response
        self._chunks = response.iter_raw() if response is not None else iter(())
        self._decoder = codec.Decoder(layout)
        # rows decoded but not returned yet, each with "an interval break follows"
        self._pending: deque[tuple[Rows, bool]] = deque()
        self._rows: Rows = np.empty(0, dtype=self.dtype)  # what read() returns, from _start on
        self._start = 0
        self._break_after_rows = False  # an interval break follows the buffered rows
        self._end_of_interval = False  # ... as of the last read(), which is what users see
        self._exhausted = response is None
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        factor = f" decimation={self.decimation_factor}" if self.decimation_factor > 1 else ""
        return f"<joule_sync.ReadPipe {self.name!r} layout={self.layout}{factor} {state}>"

    @property
    def decimated(self) -> bool:
        return self.decimation_factor > 1

    @property
    def end_of_interval(self) -> bool:
        """True when an interval break follows the rows the last ``read`` returned."""
        return self._end_of_interval

    def read(self, flatten: bool = False) -> npt.NDArray[Any]:
        """The unconsumed rows, up to the next interval break; waits for rows if none."""
        while self._start == len(self._rows) and not self._break_after_rows:
            if not self._pending and not self._pull():
                raise EmptyPipeError(f"pipe {self.name!r} is empty and its data has ended")
            self._take_pending()
        if self._pending and not self._break_after_rows:
            self._take_pending()  # rows already decoded join without waiting
        data = self._rows[self._start :]
        self._end_of_interval = self._break_after_rows
        return flatten_rows(data) if flatten else data

    def consume(self, num_rows: int) -> None:
        """Drop the first ``num_rows`` of the rows ``read`` returned (no copy is made)."""
        available = len(self._rows) - self._start
        if num_rows < 0 or num_rows > available:
            raise DataError(f"cannot consume {num_rows} rows: {available} available")
        self._start += num_rows
        if self._start == len(self._rows) and self._break_after_rows:
            # the interval is used up: the next read starts after the break
            self._break_after_rows = False
            self._rows, self._start = self._rows[:0], 0

    def consume_all(self) -> None:
        self.consume(len(self._rows) - self._start)

    def is_empty(self) -> bool:
        """True when no rows are buffered and the response has ended."""
        if self._start < len(self._rows) or self._pending:
            return False
        while not self._exhausted:
            if self._pull():
                return False
        return True

    def not_empty(self) -> bool:
        return not self.is_empty()

    def read_all(
        self, flatten: bool = False, maxrows: int | None = None, error_on_overflow: bool = False
    ) -> npt.NDArray[Any]:
        """Every remaining row in one array (interval breaks are not marked; see ``blocks``).

        With ``maxrows``, stop there: upstream's arguments, kept so ported scripts behave
        the same; beyond it ``error_on_overflow`` raises, otherwise a warning says how many
        rows were left unread.
        """
        parts: list[Rows] = []
        count = 0
        for block in self:
            parts.append(block.data)
            count += len(block)
            if maxrows is not None and count > maxrows:
                self.close()
                if error_on_overflow:
                    raise DataError(f"more than maxrows={maxrows} rows in pipe {self.name!r}")
                warnings.warn(
                    f"read_all stopped at maxrows={maxrows}: pipe {self.name!r} held more",
                    stacklevel=2,
                )
                break
        data = np.concatenate(parts) if parts else np.empty(0, self.dtype)
        data = data[:maxrows] if maxrows is not None else data
        return flatten_rows(data) if flatten else data

    def __iter__(self) -> Iterator[Block]:
        """Blocks of rows until the data ends; each is consumed once yielded."""
        while True:
            try:
                data = self.read()
            except EmptyPipeError:
                return
            block = Block(data, self.end_of_interval, self.decimation_factor)
            self.consume(len(data))
            yield block

    def close(self) -> None:
        """End the request (promptly, even mid-subscription); buffered rows stay readable."""
        if self._response is not None and not self._closed:
            self._response.close()
        self._closed = True
        self._exhausted = True

    def _pull(self) -> bool:
        """Decode the next network chunk into ``_pending``; False once the response ended."""
        if self._exhausted:
            return False
        try:
            chunk = next(self._chunks, None)
        except httpx.TransportError as exc:
            self.close()
            error = SubscriptionError if self.live else ConnectionFailed
            what = "subscription to" if self.live else "read of"
            raise error(
                f"the {what} {self.name!r} broke off after {self._decoder.rows_decoded} rows "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        except httpx.StreamClosed:
            chunk = None
        if chunk is None:
            self._exhausted = True
            if not self._closed:
                self.close()
                self._decoder.finish()  # a partial row left over is a truncated response
            return False
        block = self._decoder.feed(chunk)
        start = 0
        for end in block.interval_ends:
            self._pending.append((block.data[start:end], True))
            start = end
        if start < len(block.data):
            self._pending.append((block.data[start:], False))
        return True

    def _take_pending(self) -> None:
        """Move pending rows behind the unconsumed ones, up to the first interval break."""
        unconsumed = self._rows[self._start :]
        parts = [unconsumed] if len(unconsumed) else []  # when empty, no copy is needed
        while self._pending and not self._break_after_rows:
            rows, break_follows = self._pending.popleft()
            parts.append(rows)
            self._break_after_rows = break_follows
        if not parts:  # nothing pending: the last chunk did not complete a row
            parts = [unconsumed]
        self._rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
        self._start = 0


def open_read_pipe(node: Node, params: Params, *, subscribe: bool = False) -> ReadPipe:
    """Start ``GET /data`` for a read or a live subscription and wrap it in a pipe."""
    name = str(params.get("path", params.get("id", "")))
    if subscribe:
        params = {**params, "subscribe": 1}
    try:
        # a live stream may be quiet for long; a bounded read keeps the node's read timeout
        response = node._request(
            "GET", "/data", params=params, stream=True, no_read_timeout=subscribe
        )
    except ApiError as exc:
        if exc.status != 400 or exc.message != NO_DATA:
            raise
        stream = node.data_stream_get(params["path"] if "path" in params else int(params["id"]))
        return ReadPipe(None, layout=stream.layout, stream_name=name)
    layout = response.headers.get("joule-layout", "")
    factor = response.headers.get("joule-decimation", "1")
    if not layout or not factor.isdigit():
        response.close()
        raise DataError(
            f"the node's answer lacks joule-layout/joule-decimation headers "
            f"(got {layout!r}, {factor!r})"
        )
    return ReadPipe(
        response, layout=layout, decimation_factor=int(factor), stream_name=name, live=subscribe
    )


_END = object()
"""Queue sentinel: the upload is complete."""

WRITE_BLOCK_BYTES = 1 << 20
"""Bytes per queued block: large enough that per-block costs vanish, small enough that the
node starts ingesting early and the queue bounds memory (see benches/bench_pipes.py)."""
RELEASE_WAIT = 30.0
"""Seconds a broken upload waits for the node to let go of the stream (it takes about one):
until then the node refuses other writes to it and may still be storing rows."""


class WritePipe(_ClosedOnExit):
    """Rows to a data stream over one chunked ``POST /data``.

    ``write`` takes a structured array, a 2-D array with timestamps in column 0, a
    ``(timestamps, values)`` pair, or a pandas DataFrame (datetime or integer index, one
    column per element).  Rows are validated (types, strictly increasing timestamps across
    the whole upload) before anything is queued.  ``close_interval`` ends the current
    interval; ``close`` sends the rest and waits until the node has stored it.  The node's
    refusal is raised as ``ApiError`` at the next ``write`` or at ``close``.  NaN is refused
    before sending, as the node would refuse it only after storing the blocks before it;
    infinities are stored.

    If the connection breaks, the node keeps the rows of the blocks it had stored: a prefix
    of the upload.  ``ConnectionFailed`` is raised once the node has let go of the stream
    (so it can be written again), and says up to which timestamp the rows were stored;
    ``node.data_intervals(stream)`` tells the same later.

    At most ``queue_blocks`` blocks of about ``WRITE_BLOCK_BYTES`` wait for the sender, so a
    slow node makes ``write`` wait instead of growing memory.
    """

    def __init__(
        self,
        node: Node,
        params: Params,
        *,
        layout: str,
        stream_name: str = "",
        queue_blocks: int = 8,
    ) -> None:
        self.layout = layout
        self.name = stream_name
        self.dtype = codec.layout_dtype(layout)
        self.rows_written = 0
        self._first_timestamp: int | None = None
        self._encoder = codec.Encoder(layout)
        self._token = bytes(self.dtype.itemsize)  # an all-zero row is an interval break
        self._block_rows = max(1, WRITE_BLOCK_BYTES // self.dtype.itemsize)
        self._queue: queue.Queue[bytes | object] = queue.Queue(maxsize=queue_blocks)
        self._error: BaseException | None = None
        self._closed = False
        request = node._http.build_request(
            "POST",
            "/data",
            params=params,
            content=self._body(),
            headers={"Content-Type": "application/octet-stream"},
        )
        self._sender = threading.Thread(
            target=self._send,
            args=(node, request, params["id"] if "id" in params else params["path"]),
            name=f"joule-sync write {stream_name}",
            daemon=True,
        )
        self._sender.start()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<joule_sync.WritePipe {self.name!r} layout={self.layout} {state}>"

    def write(self, data: Any) -> None:
        """Validate and queue rows; waits while the queue is full (the node is slower)."""
        self._check_open()
        rows = codec.to_rows(_rows_of(data), self.layout)
        _refuse_nan(rows)
        previous = self._encoder.last_timestamp
        if len(rows) > self._block_rows and not _surely_encodable(rows, previous):
            # blocks are checked as they are encoded: find the bad row before any is queued
            codec.Encoder(self.layout, last_timestamp=previous).encode(rows)
        if self._first_timestamp is None and len(rows):
            self._first_timestamp = int(rows["timestamp"][0])
        for start in range(0, len(rows), self._block_rows):
            block = rows[start : start + self._block_rows]
            self._put(self._encoder.encode(block))
            self.rows_written += len(block)

    def close_interval(self) -> None:
        """End the current interval: the next rows start a new one."""
        self._check_open()
        self._put(self._token)

    def close(self) -> None:
        """Finish the upload and wait until the node stored it; raises the node's refusal."""
        if self._closed:
            return
        self._closed = True
        if self._error is None and self._sender.is_alive():
            self._put(self._token)  # upstream ends every upload with an interval break
        self._put(_END)
        self._sender.join()
        if self._error is not None:
            raise self._error

    def _check_open(self) -> None:
        if self._closed:
            raise JouleError(f"write pipe {self.name!r} is closed")
        if self._error is not None:
            raise self._error

    def _put(self, item: bytes | object) -> None:
        """Queue ``item``, waiting for room; a sender that stopped is never waited for."""
        while self._sender.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        if self._error is not None and item is not _END:
            raise self._error

    def _body(self) -> Iterator[bytes]:
        while (item := self._queue.get()) is not _END:
            assert isinstance(item, bytes)
            yield item

    def _send(self, node: Node, request: httpx.Request, stream: int | str) -> None:
        try:
            node._raise_for_status(node._http.send(request))
        except JouleError as exc:
            self._error = exc
        except httpx.HTTPError as exc:
            self._error = ConnectionFailed(
                f"the write to {self.name!r} broke off after {self.rows_written} rows were "
                f"queued ({type(exc).__name__}: {exc}); {self._stored_rows(node, stream)}"
            )
        except BaseException as exc:  # reported to the writer's thread, never lost
            self._error = exc

    def _stored_rows(self, node: Node, stream: int | str) -> str:
        """Which rows a broken upload left on the node, once the node has let go of it."""
        first, last = self._first_timestamp, self._encoder.last_timestamp
        if first is None or last is None:
            return "no rows had been queued"
        deadline = time.monotonic() + RELEASE_WAIT
        try:
            while node.data_stream_get(stream).is_destination:
                if time.monotonic() > deadline:
                    return (
                        f"the node still holds the stream as being written after "
                        f"{RELEASE_WAIT:.0f} s; node.data_intervals(stream, start={first}) "
                        "will show which rows it stored"
                    )
                time.sleep(0.1)
            intervals = node.data_intervals(stream, first, last + 1)
        except JouleError as exc:
            return (
                f"the node could not be asked which rows it stored ({exc}); once it answers, "
                f"node.data_intervals(stream, start={first}) shows them"
            )
        if not intervals:
            return f"the node stored none of them: write them again from timestamp {first}"
        stored = intervals[-1][1] - 1  # interval ends are one past their last row
        return (
            f"the node stored them from timestamp {first} up to {stored}: write the rows "
            f"after {stored} again"
        )


def _surely_encodable(rows: Rows, previous: int | None) -> bool:
    """True when the encoder will accept every row: timestamps increasing after ``previous``
    and no row reading as an interval break.  A quick pass, without encoding."""
    timestamps = rows["timestamp"]
    if previous is not None and len(rows) and timestamps[0] <= previous:
        return False
    if not np.all(timestamps[1:] > timestamps[:-1]):
        return False
    at_zero = rows["data"][timestamps == 0]  # (rows, elements)
    return not (at_zero == 0).all(axis=1).any()


def _refuse_nan(rows: Rows) -> None:
    """The node refuses NaN (only after storing the blocks before it): refuse it first."""
    values = rows["data"]
    if values.dtype.kind != "f":
        return
    nan = np.isnan(values)
    if nan.any():
        row, element = (int(i) for i in np.argwhere(nan)[0])
        raise DataError(
            f"row {row}, element {element}: NaN cannot be written (the node refuses it); "
            "infinities can"
        )


def _rows_of(data: Any) -> Any:
    """A pandas DataFrame as (timestamps, values); anything else as it is for the codec."""
    if type(data).__name__ == "DataFrame" and hasattr(data, "index"):
        index = data.index
        if getattr(index, "tz", None) is not None:
            index = index.tz_convert("UTC").tz_localize(None)
        timestamps = np.asarray(index)
        return timestamps, data.to_numpy()
    return data


__all__ = ["Block", "ReadPipe", "WritePipe", "flatten_rows", "open_read_pipe"]
