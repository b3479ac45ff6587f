"""Copy a stream from one node to another: only what the destination lacks, so that copying
again after a copy broke off (or after the source grew) completes it and doubles nothing.

Data streams, as upstream's ``joule data copy`` judges it: what is missing is the time the
source has data minus the time the destination has data (their intervals within
``[start, end)``).  Each run of missing pieces between two stretches of the destination's data
is one ``GET /data`` on the source whose body goes on, bytes as they are, to one ``POST /data``
on the destination: the layouts are the same, so nothing is decoded.  The node puts an all-zero row
between intervals in what it sends, so the interval breaks pass through; only whole rows are
passed on (the node would drop a partial row at the end of an upload without a word), in blocks
of about a MiB (as ``data_write`` sends them), and each upload ends with a break, as upstream's
uploads do.  Where the source's interval goes on across the edge of a run, the destination's
intervals are joined there too, so that they end up the source's: a run that continues an
interval whose beginning the destination holds (the rest of a copy that broke off) joins it
with ``merge-gap``, and a run that ends where the destination's data of the same interval
starts (a gap filled before it) ends without a break.

Event streams: the source is read page by page and the events the destination lacks (the same
start, end and content) are written there, with ids of the destination's.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import httpx
import numpy as np

from . import _annotations, _data, _data_streams, _event_streams, _folders, codec
from ._arguments import Params, spec, stream_spec, time_range
from ._errors import ConnectionFailed, DataError, InvalidArgument, JouleError, StreamNotFound
from ._models import Annotation, DataStream, Event, EventStream
from ._pipes import WRITE_BLOCK_BYTES, stored_rows
from ._progress import Progress
from ._read_core import open_data
from ._transport import Connected, Transport
from ._whole_reads import clip_intervals

log = logging.getLogger("joule_sync")


@dataclass(frozen=True)
class CopyResult:
    """What ``Node.data_copy`` did: all zeros (and no ranges) when the destination lacked
    nothing."""

    path: str
    """The destination stream's path."""
    rows: int
    """Rows sent to the destination."""
    bytes: int
    """Bytes sent to the destination (the rows and the interval breaks between them)."""
    ranges: list[tuple[int, int]]
    """The ``[start, end)`` time ranges the destination lacked, each copied by one request."""
    annotations: int
    """Annotations added to the destination."""
    created: bool
    """The destination stream did not exist and was created."""


@dataclass(frozen=True)
class Run:
    """Missing pieces with no destination data between them: one request each way."""

    start: int
    end: int
    joins: bool
    """The run starts where the destination's data stops, inside one of the source's
    intervals: the destination holds the beginning of that interval."""
    continues: bool
    """The run ends where the destination's data starts, inside one of the source's
    intervals: the destination holds the rest of that interval."""


def copy_data(
    source: Transport,
    stream: DataStream | str | int,
    dest_node: Connected,
    dest_path: str | None = None,
    *,
    start: int | None = None,
    end: int | None = None,
    annotations: bool = False,
    progress: bool = False,
) -> CopyResult:
    """Copy the rows of ``[start, end)`` that ``dest_node`` lacks to its stream at
    ``dest_path`` (default: the same path), as upstream's ``joule data copy`` does.

    What is copied is the source's intervals minus the destination's, so copying again
    (after a copy broke off, or once the source grew) adds only the rest, and the interval
    breaks come out the same.  The rows go through as the node sends them, undecoded.  A
    missing destination stream is created like the source; one of another layout is
    refused before anything is written.  ``annotations`` also adds the source's
    annotations that start in the range and that the destination lacks (the same title,
    start, end and content); ``progress`` draws a bar on stderr.
    """
    dest = _transport_of(dest_node)
    bounds = time_range(start, end)  # every argument is checked before the node is asked
    stream_spec(stream)
    _check_path(dest_path)
    start, end = bounds.get("start"), bounds.get("end")
    src = _data_streams.get(source, stream)
    path = dest_path or _folders.path_of(source, stream, src)
    dst, created = _data_destination(dest, path, src)
    runs = missing_runs(
        clip_intervals(_data.intervals(source, src, start, end), start, end),
        clip_intervals(_data.intervals(dest, dst, start, end), start, end),
    )
    copy = _DataCopy(source, src, dest, dst, stream if isinstance(stream, str) else src.name)
    bar = None
    if progress and runs:
        bar = Progress(f"copy to {dest.name}:{path}", sum(r.end - r.start for r in runs))
    for run in runs:
        copy.run(run, bar)
    if bar is not None:
        bar.finish()
    added = _copy_annotations(source, src, dest, dst, start, end) if annotations else 0
    ranges = [(r.start, r.end) for r in runs]
    return CopyResult(path, copy.rows, copy.bytes, ranges, added, created)


def missing_runs(source: Sequence[Sequence[int]], dest: Sequence[Sequence[int]]) -> list[Run]:
    """The parts of the ``source`` intervals outside the ``dest`` intervals (both sorted, as
    the node lists them), as runs: the pieces of one run are separated by gaps of the
    source alone, never by data of the destination."""
    # the stretches between the destination's intervals: (start or None, end or None)
    gaps = zip([None, *(e for _, e in dest)], [*(s for s, _ in dest), None], strict=True)
    runs = []
    index = 0
    for low, high in gaps:
        pieces: list[tuple[int, int]] = []
        joins = continues = False
        while index < len(source):
            s, e = source[index]
            if high is not None and s >= high:
                break
            piece = (s if low is None else max(s, low), e if high is None else min(e, high))
            if piece[0] < piece[1]:
                joins = joins or (not pieces and s < piece[0])
                pieces.append(piece)
            if high is not None and e > high:
                continues = bool(pieces)
                break  # this interval goes on after the destination's next one
            index += 1
        if pieces:
            runs.append(Run(pieces[0][0], pieces[-1][1], joins, continues))
    return runs


class _DataCopy:
    """The uploads of one copy: the rows and bytes sent, and the first and last timestamps of
    the upload under way (to say what a broken one left on the node)."""

    def __init__(
        self, source: Transport, src: DataStream, dest: Transport, dst: DataStream, label: str
    ) -> None:
        self.source, self.src, self.dest, self.dst, self.label = source, src, dest, dst, label
        self.dtype = codec.layout_dtype(src.layout)
        self.token = bytes(self.dtype.itemsize)  # an all-zero row is an interval break
        self.rows = 0
        self.bytes = 0
        self.first: int | None = None
        self.last: int | None = None

    def run(self, run: Run, bar: Progress | None) -> None:
        """One ``GET /data`` on the source, its body passed on as one ``POST /data``."""
        params = {**stream_spec(self.src), "start": run.start, "end": run.end}
        body = open_data(self.source, params)
        try:
            if body.layout != self.src.layout:
                raise DataError(
                    f"the read of {self.label!r} sent {body.layout} rows: the stream is "
                    f"{self.src.layout}"
                )
            chunks = _whole_row_blocks(body.chunks, self.dtype.itemsize, self.label)
            self.first = self.last = None
            try:
                first = next(chunks, None)
            except (ConnectionFailed, DataError) as exc:
                raise self._broken_off_error(exc) from exc
            if first is None:
                return  # its rows were deleted since the intervals were asked for
            upload: Params = {**stream_spec(self.dst), "merge-gap": 0}
            first_timestamp = self._first_timestamp(first)
            if run.joins and first_timestamp is not None:
                # removes the break the node puts after the destination's last row
                upload["merge-gap"] = first_timestamp - (run.start - 1)
            try:
                self.dest.upload(
                    "/data", upload, self._passed_on(itertools.chain((first,), chunks), bar, run)
                )
            except (ConnectionFailed, DataError) as exc:
                raise self._broken_off_error(exc) from exc
        finally:
            body.close()

    def _broken_off_error(self, exc: ConnectionFailed | DataError) -> JouleError:
        """``exc`` (of the read or the upload), saying which rows the destination stored,
        once it lets go of the stream: it keeps the blocks it stored."""
        stored = stored_rows(self.dest, self.dst, self.first, self.last)
        error = DataError if isinstance(exc, DataError) else ConnectionFailed
        return error(
            f"the copy of {self.label!r} to {self.dest.name} broke off ({exc}); {stored}; "
            "copying again sends only what is missing"
        )

    def _passed_on(
        self, chunks: Iterator[bytes], bar: Progress | None, run: Run
    ) -> Iterator[bytes]:
        """The upload: the source's rows as they came, then an interval break (unless the
        destination's data goes on with the same interval)."""
        origin = 0 if bar is None else bar.done  # the runs before this one
        for chunk in chunks:
            rows = self._count(chunk)
            if bar is not None and self.last is not None:
                bar.update(origin + self.last + 1 - run.start - bar.done, rows)
            yield chunk
        if not run.continues:
            self.bytes += len(self.token)
            yield self.token
        if bar is not None:
            bar.update(origin + run.end - run.start - bar.done, 0)

    def _count(self, chunk: bytes) -> int:
        """Count ``chunk`` (whole rows about to be sent) and note its timestamps; its rows."""
        timestamps = np.frombuffer(chunk, dtype=self.dtype)["timestamp"]
        size = self.dtype.itemsize
        breaks = [
            int(i)
            for i in np.flatnonzero(timestamps == 0)
            if chunk[i * size : (i + 1) * size] == self.token
        ]
        rows = len(timestamps) - len(breaks)
        self.bytes += len(chunk)
        self.rows += rows
        if rows:
            if self.first is None:
                self.first = self._first_timestamp(chunk)
            last = len(timestamps) - 1
            while breaks and breaks[-1] == last:
                breaks.pop()
                last -= 1
            self.last = int(timestamps[last])
        return rows

    def _first_timestamp(self, chunk: bytes) -> int | None:
        """The timestamp of the first row of ``chunk`` (whole rows) that is not a break."""
        size = self.dtype.itemsize
        for offset in range(0, len(chunk), size):
            if chunk[offset : offset + size] != self.token:
                return int.from_bytes(chunk[offset : offset + 8], "little", signed=True)
        return None


def _whole_row_blocks(chunks: Iterator[bytes], row_size: int, label: str) -> Iterator[bytes]:
    """The body in blocks of whole rows, of ``WRITE_BLOCK_BYTES`` or more but the last (a row
    split across network chunks waits for its end): the node ingests blocks of that size for
    less CPU than the network's chunks of 64 KiB (the request shapes of benches/bench_pipes.py).
    A partial row left at the end is a truncated answer: ``DataError``."""
    held = bytearray()
    try:
        for chunk in chunks:
            held += chunk
            if len(held) >= WRITE_BLOCK_BYTES:
                yield _take_whole_rows(held, row_size)
    except httpx.TransportError as exc:
        if len(held) >= row_size:  # the rows read go on: a copy again need not read them
            yield _take_whole_rows(held, row_size)
        raise ConnectionFailed(
            f"the read of {label!r} broke off ({type(exc).__name__}: {exc})"
        ) from exc
    if len(held) >= row_size:
        yield _take_whole_rows(held, row_size)
    if held:
        raise DataError(
            f"the read of {label!r} ended inside a row: {len(held)} bytes of a {row_size}-byte row"
        )


def _take_whole_rows(held: bytearray, row_size: int) -> bytes:
    """The whole rows at the start of ``held``, removed from it."""
    whole = len(held) - len(held) % row_size
    with memoryview(held) as view:
        rows = bytes(view[:whole])  # one copy: a slice of the bytearray would be another
    del held[:whole]
    return rows


def _copy_annotations(
    source: Transport,
    src: DataStream,
    dest: Transport,
    dst: DataStream,
    start: int | None,
    end: int | None,
) -> int:
    """Add the source's annotations that the destination lacks (the same title, start, end
    and content) among those starting in ``[start, end]`` (as the node selects them); how
    many were added."""
    held = _annotations.get(dest, dst, start, end)
    added = 0
    for annotation in _annotations.get(source, src, start, end):
        if annotation in held:
            held.remove(annotation)
            continue
        copy = Annotation(annotation.title, annotation.start, annotation.end, annotation.content)
        _annotations.create(dest, copy, dst)
        added += 1
    return added


def _data_destination(dest: Transport, path: str, src: DataStream) -> tuple[DataStream, bool]:
    """The destination stream, created like the source when missing (and whether it was);
    one of another layout is refused."""
    try:
        found = _data_streams.get(dest, path)
    except StreamNotFound:
        folder, _, name = path.rpartition("/")
        elements = [dataclasses.replace(e, id=None, index=None) for e in src.elements]
        template = DataStream(
            name=name,
            description=src.description,
            datatype=src.datatype,
            keep_us=src.keep_us,
            elements=elements,
            decimate=src.decimate,
        )
        return _data_streams.create(dest, template, folder or "/"), True
    if found.layout != src.layout:
        raise InvalidArgument(
            f"cannot copy {src.name!r} ({src.layout}) to {dest.name}:{path}: that stream is "
            f"{found.layout}; copy to another path, or delete it first"
        )
    names = [(e.name, e.units) for e in src.elements]
    if names != [(e.name, e.units) for e in found.elements]:
        log.warning("%s:%s has other element names or units than %s", dest.name, path, src.name)
    return found, False


def copy_events(
    source: Transport,
    stream: EventStream | str | int,
    dest_node: Connected,
    dest_path: str | None = None,
    *,
    start: int | None = None,
    end: int | None = None,
) -> int:
    """Write the events starting in ``[start, end)`` that ``dest_node``'s stream at
    ``dest_path`` (default: the same path) lacks, as upstream's ``joule event copy``
    does; returns how many were written.

    Events are matched on start, end and content, so copying again adds nothing; those
    written get ids of the destination's.  A missing destination stream is created like
    the source.
    """
    dest = _transport_of(dest_node)
    bounds = time_range(start, end)  # every argument is checked before the node is asked
    spec(stream, EventStream, "event stream")
    _check_path(dest_path)
    src = _event_streams.get(source, stream)
    path = dest_path or _folders.path_of(source, stream, src)
    try:
        dst = _event_streams.get(dest, path)
    except StreamNotFound:
        folder, _, name = path.rpartition("/")
        template = EventStream(
            name,
            src.description,
            chunk_duration_us=src.chunk_duration_us,
            keep_us=src.keep_us,
            event_fields=src.event_fields,
        )
        dst = _event_streams.create_in(dest, template, folder or "/")
    pages = _event_streams.read(
        source,
        src,
        bounds.get("start"),
        bounds.get("end"),
        include_on_going_events=False,
        block_size=_event_streams.BLOCK_SIZE,
    )
    held: Counter[tuple[int, int | None, str]] = Counter()  # the destination's, not matched
    read_from: int | None = None
    added = 0
    for page in pages:
        last = page[-1].start_time
        # each destination event is read once: from where the last page's reading stopped
        for events in _event_streams.read(
            dest,
            dst,
            page[0].start_time if read_from is None else read_from,
            last + 1,
            include_on_going_events=False,
            block_size=_event_streams.BLOCK_SIZE,
        ):
            held.update(_event_key(e) for e in events)
        read_from = last + 1
        missing = []
        for event in page:
            key = _event_key(event)
            if held[key]:
                held[key] -= 1
            else:
                missing.append(Event(event.start_time, event.end_time, event.content))
        # the next page starts at `last` or later: an event that starts before cannot match
        held = Counter({key: n for key, n in held.items() if n and key[0] >= last})
        if missing:
            _event_streams.write(dest, dst, missing)
            added += len(missing)
    return added


def _event_key(event: Event) -> tuple[int, int | None, str]:
    return event.start_time, event.end_time, json.dumps(event.content, sort_keys=True)


def _check_path(dest_path: object) -> None:
    if dest_path is None:
        return
    if not isinstance(dest_path, str) or not dest_path.rpartition("/")[2].strip():
        raise InvalidArgument(
            f"dest_path must be the path of a stream, e.g. '/backup/power', not {dest_path!r}"
        )
    spec(dest_path, DataStream, "destination stream")


def _transport_of(dest_node: object) -> Transport:
    """The transport of the node at the other end, checked before anything is sent."""
    transport = getattr(dest_node, "transport", None)
    if not isinstance(transport, Transport):
        raise InvalidArgument(f"dest_node must be a joule_sync.Node, not {dest_node!r}")
    return transport
