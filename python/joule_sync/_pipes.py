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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import numpy as np
import numpy.typing as npt

from . import _data, _data_streams, codec
from ._arguments import read_params, require_count, stream_spec, time_range, timestamp
from ._errors import (
    ConnectionFailed,
    DataError,
    DecimationError,
    EmptyPipeError,
    InvalidArgument,
    InvalidRows,
    JouleError,
    PipeError,
    SubscriptionError,
)
from ._models import DataStream
from ._read_core import DataBody, describe, open_data
from ._rebatch import rebatch
from ._transport import Params, Transport

log = logging.getLogger("joule_sync")

Rows = npt.NDArray[np.void]


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


_Pipe = TypeVar("_Pipe", bound="_PipeBase")


class _PipeBase:
    """What read and write pipes share: upstream's ``width`` and ``closed``, and ``with
    pipe:`` closing the pipe on the way out, error or not."""

    dtype: np.dtype[np.void]
    _closed: bool

    @property
    def width(self) -> int:
        """Elements per row."""
        return int(self.dtype["data"].shape[0])

    @property
    def closed(self) -> bool:
        """True once the pipe is closed (for a read pipe: or its data has ended)."""
        return self._closed

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Pipe) -> _Pipe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ReadPipe(_PipeBase):
    """Rows of a data read or subscription, with upstream's pipe semantics (``LocalPipe``).

    ``read()`` waits for at least one new block from the node unless the data has ended, and
    returns the rows not yet consumed plus every block that arrived, up to the next interval
    break (then ``end_of_interval`` is true); ``consume(n)`` drops the first ``n`` of them.
    Once the data has ended, ``read()`` returns the unconsumed rows again, and raises
    ``EmptyPipeError`` only when none are left.  Unlike upstream, rows left unconsumed before an
    interval break are never joined with rows after it: ``read()`` returns them again, with
    ``end_of_interval`` true, until they are consumed.  Iterating yields ``Block``s and consumes
    them.  Close it (or use ``with``) to end the request early: this matters for subscriptions.
    """

    def __init__(
        self,
        body: DataBody,
        *,
        label: str = "",
        live: bool = False,
        stream: DataStream | Callable[[], DataStream] | None = None,
    ) -> None:
        self.layout = body.layout
        self.live = live
        self.decimation_level = body.decimation
        self.label = label  # the stream as the caller named it: a path or "id N"
        self.dtype = codec.layout_dtype(body.layout)
        self._body = body
        self._stream = stream
        self._decoder = codec.Decoder(body.layout)
        # rows decoded but not returned yet, each with "an interval break follows"
        self._pending: deque[tuple[Rows, bool]] = deque()
        self._rows: Rows = np.empty(0, dtype=self.dtype)  # what read() returns, from _start on
        self._start = 0
        self._break_after_rows = False  # an interval break follows the buffered rows
        self._end_of_interval = False  # ... as of the last read(), which is what users see
        self._reread = False
        self._exhausted = False  # no more chunks will come: the data ended or the pipe closed
        self._closed = False
        self._failure: JouleError | None = None  # why the pipe failed, raised as PipeError

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        factor = f" decimation={self.decimation_level}" if self.decimated else ""
        return f"<joule_sync.ReadPipe {self.label!r} layout={self.layout}{factor} {state}>"

    @property
    def decimation_factor(self) -> int:
        """The same as ``decimation_level`` (upstream's name): 1 for raw rows."""
        return self.decimation_level

    @property
    def decimated(self) -> bool:
        return self.decimation_level > 1

    @property
    def name(self) -> str:
        """The stream's name, as upstream's pipes have it."""
        if isinstance(self._stream, DataStream) or not self.label.startswith("/"):
            stream = self.stream
            return stream.name if stream is not None else self.label
        return self.label.rpartition("/")[2]

    @property
    def stream(self) -> DataStream | None:
        """The stream read (asked of the node the first time, when not given)."""
        if callable(self._stream):
            self._stream = self._stream()
        return self._stream

    @property
    def end_of_interval(self) -> bool:
        """True when an interval break follows the rows the last ``read`` returned."""
        return self._end_of_interval

    def read(self, flatten: bool = False) -> npt.NDArray[Any]:
        """The unconsumed rows and the blocks that arrived, up to the next interval break;
        waits for a new block unless the data has ended."""
        if self._reread:
            self._reread = False
            return self._format(self._rows[self._start :], flatten)
        self._check_failed()
        if not self._break_after_rows:
            while not self._pending and self._pull():
                pass
            self._take_pending()
        return self._returned(flatten)

    def read_nowait(self, flatten: bool = False) -> npt.NDArray[Any]:
        """``read`` without waiting for the node: the unconsumed rows and the blocks already
        decoded (perhaps no rows at all)."""
        if self._reread:
            self._reread = False
            if self._start == len(self._rows):
                raise PipeError(f"pipe {self.label!r}: no data left to reread")
            return self._format(self._rows[self._start :], flatten)
        self._check_failed()
        if not self._break_after_rows:
            self._take_pending()
        return self._returned(flatten)

    def reread_last(self) -> None:
        """The next ``read`` returns the unconsumed rows of the last one and nothing new;
        ``end_of_interval`` stays as it is."""
        self._reread = True

    def consume(self, num_rows: int) -> None:
        """Drop the first ``num_rows`` of the rows ``read`` returned (no copy is made)."""
        available = len(self._rows) - self._start
        if num_rows < 0 or num_rows > available:
            raise PipeError(f"cannot consume {num_rows} rows: only {available} available")
        self._start += num_rows
        if self._start == len(self._rows) and self._break_after_rows:
            # the interval is used up: the next read starts after the break
            self._break_after_rows = False
            self._rows, self._start = self._rows[:0], 0

    def consume_all(self) -> None:
        self.consume(len(self._rows) - self._start)

    def is_empty(self) -> bool:
        """True when the data has ended and every row is consumed; otherwise the rows read
        to find out are kept for the next ``read`` (which then returns at once)."""
        if self._reread:
            return False
        try:
            self.read()
        except EmptyPipeError:
            return True
        self.reread_last()
        return False

    def not_empty(self) -> bool:
        return not self.is_empty()

    def read_all(
        self, flatten: bool = False, maxrows: int | None = None, error_on_overflow: bool = False
    ) -> npt.NDArray[Any]:
        """Every remaining row in one array (interval breaks are not marked; see ``blocks``).

        With ``maxrows``, stop there: upstream's arguments, kept so ported scripts behave
        the same; beyond it ``error_on_overflow`` raises ``PipeError``, otherwise a warning
        says the rows were cut.
        """
        parts: list[Rows] = []
        count = 0
        for block in self:
            parts.append(block.data)
            count += len(block)
            if maxrows is not None and count > maxrows:
                self.close()
                if error_on_overflow:
                    raise PipeError(f"more than maxrows={maxrows} rows in pipe {self.label!r}")
                warnings.warn(
                    f"read_all stopped at maxrows={maxrows}: pipe {self.label!r} held more",
                    stacklevel=2,
                )
                break
        data = np.concatenate(parts) if parts else np.empty(0, self.dtype)
        data = data[:maxrows] if maxrows is not None else data
        return self._format(data, flatten)

    def __iter__(self) -> Iterator[Block]:
        """Blocks of rows until the data ends; each is consumed once yielded."""
        while True:
            try:
                data = self.read()
            except EmptyPipeError:
                return
            block = Block(data, self.end_of_interval, self.decimation_level)
            self.consume(len(data))
            yield block

    def close(self) -> None:
        """End the request (promptly, even mid-subscription); rows already received stay
        readable, then ``read`` raises ``EmptyPipeError``."""
        if not self._closed:
            self._body.close()
        self._closed = True
        self._exhausted = True

    close_nowait = close

    def close_with_node(self) -> None:
        """The node this pipe reads from was closed: end the request.  Rows already received
        stay readable; a read beyond them raises ``PipeError``, as the data did not end."""
        if not self._exhausted:
            self._failure = PipeError(
                f"pipe {self.label!r} was closed with its node after "
                f"{self._decoder.rows_decoded} rows, before its data ended"
            )
        self.close()

    def _check_failed(self) -> None:
        """A failed pipe raises ``PipeError`` once the rows it received are used up."""
        if self._failure is not None and not self._pending and self._start == len(self._rows):
            raise PipeError(f"pipe failed: {self._failure}") from self._failure

    def _returned(self, flatten: bool) -> npt.NDArray[Any]:
        data = self._rows[self._start :]
        if not len(data) and not self._break_after_rows and self._exhausted:
            self._check_failed()
            raise EmptyPipeError(f"pipe {self.label!r} is empty and its data has ended")
        self._end_of_interval = self._break_after_rows
        return self._format(data, flatten)

    @staticmethod
    def _format(data: Rows, flatten: bool) -> npt.NDArray[Any]:
        return flatten_rows(data) if flatten else data

    def _pull(self) -> bool:
        """Decode the next network chunk into ``_pending``; False once the data ended."""
        if self._exhausted:
            return False
        try:
            chunk = next(self._body.chunks, None)
        except httpx.TransportError as exc:
            error = SubscriptionError if self.live else ConnectionFailed
            what = "subscription to" if self.live else "read of"
            self._failure = error(
                f"the {what} {self.label!r} broke off after {self._decoder.rows_decoded} rows "
                f"({type(exc).__name__}: {exc})"
            )
            self.close()
            raise self._failure from exc
        except httpx.StreamClosed:
            chunk = None
        if chunk is None:
            self.close()
            try:
                self._decoder.finish()  # a partial row left over is a truncated response
            except DataError as exc:
                self._failure = exc
                raise
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
        if not self._pending:
            return
        unconsumed = self._rows[self._start :]
        parts = [unconsumed] if len(unconsumed) else []  # when empty, no copy is needed
        while self._pending and not self._break_after_rows:
            rows, break_follows = self._pending.popleft()
            parts.append(rows)
            self._break_after_rows = break_follows
        self._rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
        self._start = 0


def read_pipe(
    transport: Transport,
    stream: DataStream | str | int,
    start: int | None = None,
    end: int | None = None,
    max_rows: int | None = None,
) -> ReadPipe:
    """A pipe of the rows in ``[start, end)``; ``max_rows`` asks for a decimated view of
    about that many rows (its ``decimation_level`` says which level was read).

    Where the level the node picks for ``max_rows`` holds no rows but the range has data,
    the coarsest level that holds rows is read instead (a warning says which).
    """
    params = read_params(stream, start, end, max_rows)
    return open_read_pipe(transport, params, stream=_model_of(transport, stream))


def subscribe(transport: Transport, stream: DataStream | str | int) -> ReadPipe:
    """A pipe of live rows as the node receives them; close it to end the subscription."""
    params = stream_spec(stream)
    return open_read_pipe(transport, params, subscribe=True, stream=_model_of(transport, stream))


def _model_of(
    transport: Transport, stream: DataStream | str | int
) -> DataStream | Callable[[], DataStream]:
    """The stream itself, or how to get it when a pipe's ``stream`` is asked for."""
    if isinstance(stream, DataStream):
        return stream
    return lambda: _data_streams.get(transport, stream)


def open_read_pipe(
    transport: Transport,
    params: Params,
    *,
    subscribe: bool = False,
    stream: DataStream | Callable[[], DataStream] | None = None,
) -> ReadPipe:
    """Start ``GET /data`` for a read or a live subscription and wrap it in a pipe."""
    body = open_data(transport, params, subscribe=subscribe)
    pipe = ReadPipe(body, label=describe(params), live=subscribe, stream=stream)
    transport.ends_with_connection(pipe)
    return pipe


def read_blocks(transport: Transport, params: Params) -> Iterator[tuple[Rows, bool]]:
    """The blocks of a read and whether an interval ends after each; the request starts
    when the first is taken and ends with the last."""
    with open_read_pipe(transport, params) as pipe:
        for block in pipe:
            yield block.data, block.end_of_interval


def read_chunks(
    transport: Transport,
    stream: DataStream | str | int,
    start: int | None = None,
    end: int | None = None,
    *,
    rows: int = 1_000_000,
) -> Iterator[codec.Decoded]:
    """Arrays of exactly ``rows`` rows each (the last one holds the rest), for ranges
    larger than memory.

    Each chunk is ``(data, interval_ends)``: ``interval_ends`` lists the row positions
    in ``data`` after which an interval break falls.
    """
    require_count(rows, "rows")
    params = read_params(stream, start, end, None)  # checked now, read when iterated
    return rebatch(read_blocks(transport, params), rows)


_END = object()
"""Queue sentinel: the upload is complete."""

WRITE_BLOCK_BYTES = 1 << 20
"""Bytes per queued block: large enough that per-block costs vanish, small enough that the
node starts ingesting early and the queue bounds memory (see benches/bench_pipes.py)."""
RELEASE_WAIT = 30.0
"""Seconds a broken upload waits for the node to let go of the stream (it takes about one):
until then the node refuses other writes to it and may still be storing rows."""


class WritePipe(_PipeBase):
    """Rows to a data stream over one chunked ``POST /data``.

    ``write`` takes a structured array, a 2-D array with timestamps in column 0, a
    ``(timestamps, values)`` pair, or a pandas DataFrame (datetime or numeric index, one
    column per element); fractional timestamps are rounded to the nearest µs.  Rows are
    validated (types, timestamps increasing across the whole upload, no NaN) before anything
    is queued: ``InvalidRows``, an ``ApiError`` as upstream raises for them.  ``close_interval``
    ends the current interval; ``close`` sends the rest and waits until the node has stored
    it.  When the node refuses the upload, the next ``write`` raises ``PipeError`` (the pipe
    failed) and ``close`` raises the node's ``ApiError``, as upstream's pipe does.  Infinities
    are stored.

    If the connection breaks, the node keeps the rows of the blocks it had stored: a prefix
    of the upload.  ``ConnectionFailed`` is raised once the node has let go of the stream
    (so it can be written again), and says up to which timestamp the rows were stored;
    ``node.data_intervals(stream)`` tells the same later.

    At most ``queue_blocks`` blocks of about ``WRITE_BLOCK_BYTES`` wait for the sender, so a
    slow node makes ``write`` wait instead of growing memory.  Each ``write`` is sent at once;
    ``enable_cache(lines)`` holds rows back until ``lines`` of them are there, for callers
    that write a few rows at a time.
    """

    def __init__(
        self,
        transport: Transport,
        params: Params,
        *,
        stream: DataStream,
        queue_blocks: int = 8,
    ) -> None:
        self.stream = stream
        self.layout = stream.layout
        self.name = stream.name
        self.decimation_level = 1  # upstream's pipes all have one; written rows are raw
        self.decimated = False
        self.dtype = codec.layout_dtype(self.layout)
        self.rows_written = 0
        self._first_timestamp: int | None = None
        self._encoder = codec.Encoder(self.layout)
        self._token = bytes(self.dtype.itemsize)  # an all-zero row is an interval break
        self._block_rows = max(1, WRITE_BLOCK_BYTES // self.dtype.itemsize)
        self._queue: queue.Queue[bytes | object] = queue.Queue(maxsize=queue_blocks)
        self._cache: list[Rows] | None = None  # rows held back by enable_cache
        self._cache_lines = 0
        self._error: BaseException | None = None
        self._closed = False
        self._sender = threading.Thread(
            target=self._send,
            args=(transport, params),
            name=f"joule-sync write {self.name}",
            daemon=True,
        )
        self._sender.start()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<joule_sync.WritePipe {self.name!r} layout={self.layout} {state}>"

    def write(self, data: Any) -> None:
        """Validate and queue rows; waits while the queue is full (the node is slower)."""
        self._check_open()
        try:
            rows = codec.to_rows(_rows_of(data), self.layout)
            _refuse_nan(rows)
            previous = self._cached_last()
            # blocks are checked as they are encoded: find a bad row before any is queued (or,
            # with the cache on, before the rows wait in it)
            held = self._cache is not None or len(rows) > self._block_rows
            if held and not _surely_encodable(rows, previous):
                codec.Encoder(self.layout, last_timestamp=previous).encode(rows)
        except DataError as exc:
            raise InvalidRows(str(exc)) from None
        if self._cache is None:
            self._send_rows(rows)
            return
        self._cache.append(rows)
        if sum(len(part) for part in self._cache) >= self._cache_lines:
            self.flush_cache()

    write_nowait = write

    def enable_cache(self, lines: int) -> None:
        """Hold rows back until ``lines`` of them are written (or ``flush_cache``,
        ``close_interval`` or ``close``); it cannot be turned off again."""
        if isinstance(lines, bool) or not isinstance(lines, int) or lines < 1:
            raise PipeError(f"the cache holds at least 1 line, not {lines!r}")
        self._cache_lines = lines
        if self._cache is None:
            self._cache = []

    def flush_cache(self) -> None:
        """Send the rows the cache holds now."""
        self._check_open()
        if self._cache:
            parts, self._cache = self._cache, []
            self._send_rows(np.concatenate(parts) if len(parts) > 1 else parts[0])

    def close_interval(self) -> None:
        """End the current interval: the next rows start a new one."""
        self.flush_cache()
        self._put(self._token)

    close_interval_nowait = close_interval

    def close(self) -> None:
        """Finish the upload and wait until the node stored it; raises the node's refusal."""
        if self._closed:
            return
        if self._error is None:
            self.flush_cache()
        self._closed = True
        if self._error is None and self._sender.is_alive():
            self._put(self._token)  # upstream ends every upload with an interval break
        self._put(_END)
        self._sender.join()
        if self._error is not None:
            raise self._error

    close_nowait = close

    def _cached_last(self) -> int | None:
        if self._cache:
            return int(self._cache[-1]["timestamp"][-1])
        return self._encoder.last_timestamp

    def _send_rows(self, rows: Rows) -> None:
        if self._first_timestamp is None and len(rows):
            self._first_timestamp = int(rows["timestamp"][0])
        for start in range(0, len(rows), self._block_rows):
            block = rows[start : start + self._block_rows]
            try:
                frame = self._encoder.encode(block)
            except DataError as exc:  # only a write of one block gets here: nothing was sent
                raise InvalidRows(str(exc)) from None
            self._put(frame)
            self.rows_written += len(block)

    def _check_open(self) -> None:
        if self._closed:
            raise PipeError(f"cannot write to a closed pipe ({self.name!r})")
        if self._error is not None:
            raise PipeError(f"pipe failed: {self._error}") from self._error

    def _put(self, item: bytes | object) -> None:
        """Queue ``item``, waiting for room; a sender that stopped is never waited for."""
        while self._sender.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        if self._error is not None and item is not _END:
            raise PipeError(f"pipe failed: {self._error}") from self._error

    def _body(self) -> Iterator[bytes]:
        while (item := self._queue.get()) is not _END:
            assert isinstance(item, bytes)
            yield item

    def _send(self, transport: Transport, params: Params) -> None:
        try:
            transport.upload("/data", params, self._body())
        except ConnectionFailed as exc:
            self._error = ConnectionFailed(
                f"the write to {self.name!r} broke off after {self.rows_written} rows were "
                f"queued ({exc}); {self._stored_rows(transport)}"
            )
        except BaseException as exc:  # reported to the writer's thread, never lost
            self._error = exc

    def _stored_rows(self, transport: Transport) -> str:
        return stored_rows(
            transport, self.stream, self._first_timestamp, self._encoder.last_timestamp
        )


def write_pipe(
    transport: Transport,
    stream: DataStream | str | int,
    start: int | None = None,
    end: int | None = None,
    merge_gap: int = 0,
) -> WritePipe:
    """A pipe that writes rows to the stream; ``close()`` it (or use ``with``).

    ``start``/``end`` first delete the data in that range, as upstream does.  Rows
    within ``merge_gap`` µs of the stream's last row continue its interval instead of
    starting a new one.
    """
    gap = timestamp(merge_gap, "merge_gap", dated=False)
    if gap < 0:
        raise InvalidArgument(f"merge_gap must be >= 0 µs, not {merge_gap!r}")
    replaced = time_range(start, end)  # checked before the node is asked anything
    target = _data_streams.get(transport, stream)
    if isinstance(stream, DataStream) and stream.layout != target.layout:
        raise InvalidArgument(
            f"data stream {stream.name!r} is {stream.layout} here but {target.layout} on the node"
        )
    if replaced:
        _data.delete(transport, target, start, end)
    params: Params = {**stream_spec(target), "merge-gap": gap}
    return WritePipe(transport, params, stream=target)


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


def stored_rows(
    transport: Transport, stream: DataStream, first: int | None, last: int | None
) -> str:
    """Which of the rows ``first``..``last`` a broken upload left on the node, said once the
    node has let go of the stream (so that it can be written again)."""
    if first is None or last is None:
        return "no rows had been queued"
    deadline = time.monotonic() + RELEASE_WAIT
    try:
        while _data_streams.get(transport, stream).is_destination:
            if time.monotonic() > deadline:
                return (
                    f"the node still holds the stream as being written after "
                    f"{RELEASE_WAIT:.0f} s; node.data_intervals(stream, start={first}) "
                    "will show which rows it stored"
                )
            time.sleep(0.1)
        intervals = _data.intervals(transport, stream, first, last + 1)
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


def check_rows(rows: Rows, layout: str, previous: int | None) -> None:
    """DataError naming the first of ``rows`` (of ``layout``'s dtype) a ``WritePipe`` would
    refuse after timestamp ``previous``, for callers that check rows long before writing."""
    _refuse_nan(rows)
    if not _surely_encodable(rows, previous):
        codec.Encoder(layout, last_timestamp=previous).encode(rows)


def _rows_of(data: Any) -> Any:
    """A pandas DataFrame as (timestamps, values); anything else as it is for the codec."""
    if type(data).__name__ == "DataFrame" and hasattr(data, "index"):
        index = data.index
        if getattr(index, "tz", None) is not None:
            index = index.tz_convert("UTC").tz_localize(None)
        timestamps = np.asarray(index)
        return timestamps, data.to_numpy()
    return data


__all__ = ["Block", "ReadPipe", "WritePipe", "flatten_rows", "open_read_pipe", "read_blocks"]
