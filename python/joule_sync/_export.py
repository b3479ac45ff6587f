"""Export a stream's rows to CSV, Parquet, NumPy ``.npy`` or HDF5, streaming to disk.

Rows flow from a read pipe, re-batched (``_rebatch``) to ``BATCH_BYTES``, into one writer per
format, so memory stays bounded whatever the size.  Every writer can resume: it finds the last row
it stored (dropping a partial one) and the export continues after that timestamp.  A file
is always left in a state resume understands: after an error or Ctrl-C it is closed
cleanly, and after a hard kill it holds what was written up to a recent checkpoint.

Files other than ``.npy`` say what they hold (``_file_metadata``): the stream's path, layout
and elements, the node, and the intervals of the rows, so that ``data_import`` restores the
interval breaks.  The intervals are the range's when the export begins, and the export reads
the rows they span (with ``end=None``: up to the last row there was then); a resumed file
goes on with the intervals it was begun with, so it comes out as an uninterrupted export.

- CSV: a header ``timestamp,<element names>``, then one line per row: the timestamp as
  integer UNIX µs and the values as the shortest text that reads back exactly, formatted
  in the Rust extension.  With ``csv_header=True`` the file starts with one line more,
  ``# joule: {...}`` (off by default: only readers told to skip ``#`` lines read it, e.g.
  pandas' ``read_csv(path, comment="#")``).
- Parquet: ``timestamp`` (UTC, µs, delta-encoded) and one column per element, the document
  in the schema's metadata under ``joule``.  Each batch is a row group of ``<path>.tmp`` and
  an Arrow IPC part file in ``<path>.parts/``: a Parquet file is readable only once its
  footer is written, so resume counts on the parts, and rebuilds the file from them.
- NumPy: a structured array of upstream's dtype; the header holds the final row count.  Bare
  rows: no metadata, no intervals.
- HDF5: what upstream ``joule data read --file`` writes and ``joule data ingest`` reads:
  datasets ``data`` (n, k) of the stream's type and ``timestamp`` (n, 1) int64 (compressed
  as ``HDF5_COMPRESSION`` says), and attributes ``node_name``, ``node_url``, ``path`` (the
  stream's path), ``elements`` (JSON list of names) and ``element_json`` (JSON list of
  element objects); and one more dataset, ``intervals``, which upstream does not read.
  Resume also continues a file the upstream command wrote.

An event stream exports to CSV or Parquet: one row per event, ``start``, ``end``, ``id``,
then one column per content key (``_tables``).  Its columns are known only once every event
is read, so the pages go to a temporary file next to the target first, then into the
target, written whole under a temporary name: no resume, and never a partial file.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ParamSpec, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from . import _data, _data_streams, _event_streams, _folders, codec
from ._arguments import time_range
from ._errors import ConfigurationError, DataError, StreamNotFound
from ._file_metadata import (
    CSV_PREFIX,
    HDF5_INTERVALS,
    KEY,
    FileMetadata,
    Intervals,
    checked_intervals,
)
from ._models import DataStream, EventStream
from ._pipes import read_pipe
from ._progress import Progress
from ._rebatch import rebatch
from ._tables import (
    EVENT_COLUMNS,
    NOT_ENDED,
    EventPage,
    arrow_table,
    column_names,
    content_text,
    event_column_names,
    event_page,
    events_to_arrow,
    merge_kinds,
    require,
)
from ._transport import Transport
from ._whole_reads import clip_intervals

Rows = npt.NDArray[np.void]
_Arguments = ParamSpec("_Arguments")
_Result = TypeVar("_Result")

FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".npy": "npy",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
}

BATCH_BYTES = 4 << 20
"""Rows are handed to the writers in batches of about this size: large enough that the
per-call costs of the file formats vanish, small enough to keep memory flat."""
PARQUET_PART_ROWS = 1 << 20
PARQUET_PART_BYTES = 8 << 20
"""Rows per Parquet part file (and row group): at most PARQUET_PART_ROWS and about
PARQUET_PART_BYTES of rows, big for readers, small for memory (a part is held several
times over while it is written: rows, columns, encoded and compressed pages)."""
PARQUET_OPTIONS: dict[str, Any] = {
    "use_dictionary": False,
    "column_encoding": {"timestamp": "DELTA_BINARY_PACKED"},
}
"""Measured values rarely repeat: dictionaries would be built (at twice the memory of the
part) only to be dropped for plain encoding.  Timestamps step evenly: delta-encoded they
take a few bits a row (5 million float32_3 rows: 60 MB instead of 85 MB, and less CPU)."""
HDF5_CHUNK_BYTES = 512 << 10
"""Bytes per HDF5 chunk (of at most 65,536 rows): one chunk of each dataset fits h5py's
1 MB chunk cache, so appending never reads a compressed chunk back."""
HDF5_CHECKPOINT_ROWS = 1 << 20
"""Rows between HDF5 flushes: a killed export leaves the file as of the last flush."""
HDF5_COMPRESSION: dict[str, Any] = {"compression": "lzf", "shuffle": True}
"""LZF after the byte shuffle: 5 million float32_3 rows take 0.58 s of CPU and 48 MB, where
upstream's gzip (level 4, no shuffle) takes 2.9 s and 62 MB, and gzip at level 1 after the
shuffle 0.98 s and 42 MB.  The node keeps both cores busy during a read, so the client's CPU
adds to an export's time (see benches/bench_export.py).  h5py (so upstream's ``joule data
ingest``) always reads LZF; other HDF5 programs need its filter plugin (``hdf5plugin`` has
it)."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    rows: int
    """Rows written by this call (not counting those a resumed file already held)."""
    resumed_after: int | None
    """The last timestamp the file already held when the export resumed (None: fresh)."""


class Writer(Protocol):
    batch_rows: int
    """Rows per ``write``: every batch but the last has exactly this many."""
    intervals: Intervals | None
    """The intervals a resumed file was begun with; None until ``begin`` for a new file, or
    one that keeps none."""

    def last_timestamp(self) -> int | None:
        """The timestamp of the last row already in the file (resume), None if none."""

    def begin(self, intervals: Intervals) -> None:
        """Begin a file whose intervals are not kept yet (whatever a new file starts with)."""

    def write(self, rows: Rows) -> None:
        """Append rows of the stream's full layout (the writer selects the columns)."""

    def close(self, complete: bool) -> None:
        """Close the file; ``complete`` is False when the export stopped early."""


@dataclass(frozen=True)
class Target:
    """What a writer needs to know: the file, the stream and the columns chosen."""

    path: Path
    stream: DataStream
    columns: list[int]
    node_name: str
    node_url: str
    stream_path: str
    csv_header: bool = False

    @property
    def names(self) -> list[str]:
        return [self.stream.elements[c].name for c in self.columns]

    def metadata(self, intervals: Intervals) -> FileMetadata:
        """What the file says it holds."""
        return FileMetadata(
            self.layout,
            self.stream_path,
            [self.stream.elements[c] for c in self.columns],
            self.node_name,
            self.node_url,
            intervals,
        )

    @property
    def batch_rows(self) -> int:
        """Rows of about ``BATCH_BYTES`` as read (the stream's whole layout)."""
        return max(1, BATCH_BYTES // self.stream.dtype.itemsize)

    @property
    def layout(self) -> str:
        """The layout of the rows as written: the stream's type, the chosen width."""
        return f"{self.stream.datatype.lower()}_{len(self.columns)}"

    @property
    def dtype(self) -> np.dtype[np.void]:
        return codec.layout_dtype(self.layout)

    def select(self, rows: Rows) -> Rows:
        """Rows with only the chosen elements, in upstream's dtype for that width."""
        if self.columns == list(range(len(self.stream.elements))):
            return rows
        out = np.empty(len(rows), dtype=self.dtype)
        out["timestamp"] = rows["timestamp"]
        out["data"] = rows["data"][:, self.columns]
        return out


def _gives_back_arrow_memory(
    function: Callable[_Arguments, _Result],
) -> Callable[_Arguments, _Result]:
    """``function``, then Arrow's pooled pages given back to the system, however it ended:
    the allocator keeps them for reuse (70 MB after 8 MB Parquet parts of wide rows), and
    every export would leave the process that much larger."""

    @functools.wraps(function)
    def giving_back(*args: _Arguments.args, **kwargs: _Arguments.kwargs) -> _Result:
        try:
            return function(*args, **kwargs)
        finally:
            pyarrow = sys.modules.get("pyarrow")  # only an export that used it holds pages
            if pyarrow is not None:
                pyarrow.default_memory_pool().release_unused()

    return giving_back


@_gives_back_arrow_memory
def export(
    transport: Transport,
    stream: DataStream | EventStream | str | int,
    path: str | os.PathLike[str],
    *,
    start: int | None = None,
    end: int | None = None,
    format: str | None = None,
    elements: Sequence[str | int] | None = None,
    progress: bool = False,
    resume: bool = False,
    csv_header: bool = False,
) -> ExportResult:
    """Stream the range to a CSV, Parquet, ``.npy`` or HDF5 file with bounded memory.

    The format follows the suffix unless ``format`` says otherwise; ``elements`` picks
    columns by name or index; ``resume`` continues a partial file after its last row.
    Parquet and HDF5 files say what they hold (stream path, layout, elements, node,
    intervals), and so does a CSV with ``csv_header`` (a ``# joule: {...}`` first line):
    ``data_import`` reads them back, interval breaks included.

    An event stream (an ``EventStream``, or a path or id with no data stream of its own:
    data streams are tried first) exports to CSV or Parquet, one row per event: ``start``,
    ``end``, ``id``, then its content keys.  It is written whole, without ``resume``.
    """
    time_range(start, end, dated=False)  # before the node is asked, or a file made
    target_path = Path(path)
    kind = export_format(target_path, format)
    if csv_header and kind != "csv":
        raise ConfigurationError(f"csv_header is for CSV files, not {kind} ({target_path.name})")
    data_stream = export_source(transport, stream)
    if isinstance(data_stream, EventStream):
        if csv_header:
            raise ConfigurationError(
                f"csv_header describes a data stream's rows: {data_stream.name!r} is an event "
                "stream"
            )
        return _export_events(
            transport, data_stream, target_path, kind, start, end, elements, progress, resume
        )
    target = Target(
        target_path,
        data_stream,
        element_columns(data_stream, elements),
        transport.name,
        transport.url,
        _folders.path_of(transport, stream, data_stream),
        csv_header,
    )
    if not resume and _exists(target_path, kind):
        raise ConfigurationError(f"{target_path} exists: remove it, or resume to continue it")
    writer: Writer = WRITERS[kind](target, resume)
    complete = False
    try:
        last = writer.last_timestamp()
        intervals = writer.intervals
        if intervals is None:
            spans = clip_intervals(_data.intervals(transport, data_stream, start, end), start, end)
            intervals = [list(span) for span in spans]
            writer.begin(intervals)
        read_start = start if last is None else last + 1 if start is None else max(last + 1, start)
        rows = 0
        if intervals and (read_start is None or read_start < intervals[-1][1]):
            rows = _copy(
                transport,
                data_stream,
                writer,
                intervals,
                read_start,
                target_path if progress else None,
            )
        complete = True
    finally:
        writer.close(complete)
    return ExportResult(target_path, kind, rows, last)


def _copy(
    transport: Transport,
    stream: DataStream,
    writer: Writer,
    intervals: Intervals,
    start: int | None,
    progress_of: Path | None,
) -> int:
    """The rows of ``intervals`` from ``start`` on into ``writer``, with a progress bar
    labelled with the file."""
    end = intervals[-1][1]
    bar, origin = None, 0
    if progress_of is not None:
        # time, not rows: the node knows where its intervals are, only estimates the rows
        spans = clip_intervals(intervals, start, end)
        origin = spans[0][0] if spans else 0
        bar = Progress(f"export {progress_of.name}", spans[-1][1] - origin if spans else None)
    rows = 0
    with read_pipe(transport, stream, start, end) as pipe:
        blocks = ((block.data, block.end_of_interval) for block in pipe)
        for batch, _ in rebatch(blocks, writer.batch_rows):
            if not len(batch):
                continue
            writer.write(batch)
            rows += len(batch)
            if bar is not None:
                bar.update(int(batch["timestamp"][-1]) + 1 - origin - bar.done, len(batch))
    if bar is not None:
        bar.finish()
    return rows


def export_format(path: Path, format: str | None) -> str:
    """The format named, or the one the suffix says."""
    kind = format if format is not None else FORMATS.get(path.suffix.lower())
    if kind is None or kind not in FORMATS.values():
        raise ConfigurationError(
            f"cannot tell the file format of {path.name!r}: pass format= one of "
            f"{sorted(set(FORMATS.values()))} or use a suffix {sorted(FORMATS)}"
        )
    return kind


def element_columns(stream: DataStream, elements: Sequence[str | int] | None) -> list[int]:
    """The indices of the elements chosen by name or index (all of them by default)."""
    if elements is None:
        return list(range(len(stream.elements)))
    if isinstance(elements, str):
        raise ConfigurationError(f"elements must be a list of names or indices, not {elements!r}")
    names = [e.name for e in stream.elements]
    columns = []
    for element in elements:
        if isinstance(element, int) and not isinstance(element, bool):
            if not 0 <= element < len(names):
                raise ConfigurationError(
                    f"element {element} does not exist: "
                    f"{stream.name} has elements 0..{len(names) - 1}"
                )
            columns.append(element)
        elif element in names:
            columns.append(names.index(element))
        else:
            raise ConfigurationError(
                f"element {element!r} does not exist: {stream.name} has {', '.join(names)}"
            )
    if not columns:
        raise ConfigurationError("elements is empty: name at least one element")
    return columns


def _exists(path: Path, kind: str) -> bool:
    return path.exists() or (kind == "parquet" and _parts_dir(path).exists())


def _mismatch(path: Path, what: str, found: object, expected: object) -> DataError:
    return DataError(
        f"cannot resume {path}: its {what} is {found!r}, this export writes {expected!r} "
        "(another stream, elements or format?)"
    )


class CsvWriter:
    def __init__(self, target: Target, resume: bool) -> None:
        self.batch_rows = target.batch_rows
        self.intervals: Intervals | None = None
        self._target = target
        self._formatter = codec.CsvFormatter(target.stream.layout, columns=target.columns)
        names = io.StringIO()
        csv.writer(names, lineterminator="\n").writerow(["timestamp", *target.names])
        self._names = names.getvalue().encode()
        self._last: int | None = None
        self._file: BinaryIO
        if resume and target.path.exists():
            self._file = target.path.open("rb+")
            try:
                self._resume()
            except BaseException:
                self._file.close()
                raise
        else:
            self._file = target.path.open("wb")

    def _header(self) -> bytes:
        """The lines before the rows: the metadata line (with ``csv_header``), the names."""
        if not self._target.csv_header:
            return self._names
        assert self.intervals is not None
        document = self._target.metadata(self.intervals).to_json()
        return f"{CSV_PREFIX}{document}\n".encode() + self._names

    def _resume(self) -> None:
        """Keep the whole lines after a complete header (and its intervals); start afresh
        when the file ends inside its header."""
        file, path = self._file, self._target.path
        first = file.readline()
        header: bytes | None = self._names
        if self._target.csv_header:
            prefix = CSV_PREFIX.encode()
            if first.startswith(prefix) and first.endswith(b"\n"):
                document = FileMetadata.from_json(first[len(prefix) :], str(path))
                self.intervals = document.intervals
                header = self._header()
            elif first.startswith(prefix) or prefix.startswith(first):
                header = None  # cut inside its first line
            else:
                raise _mismatch(path, "first line", first[:80].decode(errors="replace"), CSV_PREFIX)
        size = file.seek(0, os.SEEK_END)
        file.seek(0)
        found = file.read(len(header)) if header is not None else b""
        if header is None or (size < len(header) and header.startswith(found)):
            file.truncate(0)  # nothing was kept: the export begins again
            file.seek(0)
            self.intervals = None
            return
        if found != header:
            found_text, header_text = (h.decode(errors="replace")[-200:] for h in (found, header))
            raise _mismatch(path, "header", found_text, header_text)
        self._last = _truncate_csv_to_last_line(file, len(header))
        file.seek(0, os.SEEK_END)

    def last_timestamp(self) -> int | None:
        return self._last

    def begin(self, intervals: Intervals) -> None:
        self.intervals = intervals
        if self._file.tell() == 0:  # a resumed file without metadata has its names line
            self._file.write(self._header())

    def write(self, rows: Rows) -> None:
        self._formatter.write(rows, self._file)

    def close(self, complete: bool) -> None:
        self._file.close()


def _truncate_csv_to_last_line(file: BinaryIO, header_bytes: int) -> int | None:
    """Drop a partial last line; the timestamp of the last whole data line, if any."""
    size = file.seek(0, os.SEEK_END)
    tail_start = max(header_bytes, size - 65536)  # lines are far shorter: the last is in it
    file.seek(tail_start)
    tail = file.read()
    cut = tail.rfind(b"\n") + 1
    file.truncate(tail_start + cut)
    lines = tail[:cut].splitlines()
    return int(lines[-1].split(b",", 1)[0]) if lines else None


class NpyWriter:
    """A ``.npy`` file whose header is rewritten with the current row count on close."""

    HEADER_BYTES = 256

    def __init__(self, target: Target, resume: bool) -> None:
        self.batch_rows = target.batch_rows
        self.intervals: Intervals | None = None  # bare rows: the intervals are not kept
        self._path = target.path
        self._target = target
        self._dtype = target.dtype
        self._last: int | None = None
        if resume and target.path.exists():
            self._file = target.path.open("rb+")
            self._rows = self._recover()
        else:
            self._file = target.path.open("wb+")
            self._rows = 0
            self._write_header()

    def last_timestamp(self) -> int | None:
        return self._last

    def begin(self, intervals: Intervals) -> None:
        pass

    def _recover(self) -> int:
        file = self._file
        try:
            if np.lib.format.read_magic(file) != (1, 0):
                raise ValueError("not version 1.0")
            _, _, dtype = np.lib.format.read_array_header_1_0(file)
        except ValueError as exc:
            file.close()
            raise DataError(f"cannot resume {self._path}: not an .npy export ({exc})") from None
        if file.tell() != self.HEADER_BYTES or dtype != self._dtype:
            file.close()
            raise _mismatch(self._path, "dtype", dtype, self._dtype)
        size = file.seek(0, os.SEEK_END)
        rows = (size - self.HEADER_BYTES) // self._dtype.itemsize
        file.truncate(self.HEADER_BYTES + rows * self._dtype.itemsize)
        if rows:
            file.seek(self.HEADER_BYTES + (rows - 1) * self._dtype.itemsize)
            last = np.frombuffer(file.read(self._dtype.itemsize), dtype=self._dtype)
            self._last = int(last["timestamp"][0])
        file.seek(0, os.SEEK_END)
        return rows

    def _write_header(self) -> None:
        header = {
            "descr": np.lib.format.dtype_to_descr(self._dtype),
            "fortran_order": False,
            "shape": (self._rows,),
        }
        text = repr(header).encode("latin1")
        prefix = b"\x93NUMPY\x01\x00"
        # a fixed size, so that the count can be rewritten in place; numpy pads with spaces
        room = self.HEADER_BYTES - len(prefix) - 2
        body = text + b" " * (room - len(text) - 1) + b"\n"
        self._file.seek(0)
        self._file.write(prefix + len(body).to_bytes(2, "little") + body)
        self._file.seek(0, os.SEEK_END)

    def write(self, rows: Rows) -> None:
        self._file.write(np.ascontiguousarray(self._target.select(rows)).tobytes())
        self._rows += len(rows)

    def close(self, complete: bool) -> None:
        self._write_header()
        self._file.close()


def _parts_dir(path: Path) -> Path:
    return path.with_name(path.name + ".parts")


class ParquetWriter:
    """Row groups of ``PARQUET_PART_ROWS`` rows, each written to the file as it comes and
    kept as a part file until the export completes."""

    def __init__(self, target: Target, resume: bool) -> None:
        # a batch is a row group of exactly these rows (the last may be shorter): the file is
        # the same however the rows arrived, and however often the export was resumed
        self.batch_rows = max(
            1, min(PARQUET_PART_ROWS, PARQUET_PART_BYTES // target.dtype.itemsize)
        )
        self._pa = require("pyarrow", "arrow")
        self._pq = require("pyarrow.parquet", "arrow")
        self._target = target
        self._columns = column_names(target.names, decimated=False)
        self.intervals: Intervals | None = None
        self._metadata: dict[bytes, bytes] = {}  # the schema's, in every part
        self._parts = _parts_dir(target.path)
        self._temporary = target.path.with_name(target.path.name + ".tmp")
        self._file: Any = None  # the pyarrow.parquet.ParquetWriter of the temporary file
        if not resume:
            shutil.rmtree(self._parts, ignore_errors=True)
        self._parts.mkdir(exist_ok=True)
        for leftover in self._parts.glob("*.tmp"):
            leftover.unlink()
        # parts are Arrow IPC files; a Parquet part is a finished export resumed, or a part
        # an earlier version wrote
        parts = self._parts.glob("part-*")
        self._done = sorted(p for p in parts if p.suffix in {".arrow", ".parquet"})
        if resume and not self._done and target.path.exists():
            # a finished export: its rows are the first part of the continued one
            self._done.append(target.path.rename(self._parts / "part-000000.parquet"))
        if self._done:
            schema = self._read_part(self._done[0]).schema
            if schema.names != ["timestamp", *self._columns]:
                raise _mismatch(target.path, "columns", schema.names, ["timestamp", *self._columns])
            document = (schema.metadata or {}).get(KEY.encode())
            if document is not None:
                self.intervals = FileMetadata.from_json(document, str(target.path)).intervals
                self._metadata = {KEY.encode(): document}

    def last_timestamp(self) -> int | None:
        if not self._done:
            return None
        timestamps = self._read_part(self._done[-1])["timestamp"]
        return int(timestamps[-1].cast(self._pa.int64()).as_py())

    def begin(self, intervals: Intervals) -> None:
        self.intervals = intervals
        self._metadata = {KEY.encode(): self._target.metadata(intervals).to_json().encode()}

    def write(self, rows: Rows) -> None:
        file = self._opened()
        table = self._table(rows)
        part = self._parts / f"part-{len(self._done):06d}.arrow"
        temporary = part.with_suffix(".tmp")
        with self._pa.ipc.new_file(temporary, table.schema) as ipc:
            ipc.write_table(table)
        temporary.rename(part)  # a part exists only when complete: resume relies on it
        self._done.append(part)
        file.write_table(table)

    def _opened(self) -> Any:
        """The temporary file, opened with the parts a resumed export had."""
        if self._file is None:
            # the schema with the metadata, whichever version wrote the first part
            schema = self._table(np.empty(0, self._target.stream.dtype)).schema
            self._file = self._pq.ParquetWriter(self._temporary, schema, **PARQUET_OPTIONS)
            for part in self._done:
                self._file.write_table(self._read_part(part))
        return self._file

    def _read_part(self, part: Path) -> Any:
        if part.suffix == ".parquet":
            return self._pq.read_table(part)
        with self._pa.OSFile(str(part)) as source:
            return self._pa.ipc.open_file(source).read_all()

    def _table(self, rows: Rows) -> Any:
        selected = self._target.select(rows)
        table = arrow_table(selected["timestamp"], selected["data"], self._columns)
        return table.replace_schema_metadata(self._metadata)

    def close(self, complete: bool) -> None:
        if complete:
            self._opened().close()
            self._temporary.rename(self._target.path)
            shutil.rmtree(self._parts)
        elif self._file is not None:
            self._file.close()
            self._temporary.unlink()  # the parts stay, for resume


class Hdf5Writer:
    """Upstream's ``joule data read --file`` layout, appended batch by batch."""

    def __init__(self, target: Target, resume: bool) -> None:
        h5py = require("h5py", "hdf5")
        self.batch_rows = target.batch_rows
        self.intervals: Intervals | None = None
        self._target = target
        self._last: int | None = None
        self._unflushed = 0
        width = len(target.columns)
        element_type = target.dtype["data"].base
        chunk_rows = max(1, min(1 << 16, HDF5_CHUNK_BYTES // (width * element_type.itemsize)))
        if resume and target.path.exists():
            try:
                self._file = h5py.File(target.path, "a")
            except OSError as exc:
                raise DataError(f"cannot resume {target.path}: not readable HDF5 ({exc})") from None
            if "data" not in self._file or "timestamp" not in self._file:
                self._file.close()
                raise DataError(f"cannot resume {target.path}: no data and timestamp datasets")
            self._data, self._timestamps = self._file["data"], self._file["timestamp"]
            found = (self._data.dtype, self._data.shape[1:])
            if found != (element_type, (width,)):
                self._file.close()
                raise _mismatch(target.path, "data type and width", found, (element_type, width))
            # a hard kill leaves the file as of its last flush, where both had the same length
            rows = min(len(self._data), len(self._timestamps))
            self._data.resize((rows, width))
            self._timestamps.resize((rows, 1))
            if rows:
                self._last = int(self._timestamps[rows - 1, 0])
            if HDF5_INTERVALS in self._file:  # not in a file upstream's command began
                kept = self._file[HDF5_INTERVALS][:].tolist()
                self.intervals = checked_intervals(kept, str(target.path))
        else:
            self._file = h5py.File(target.path, "w")
            self._data = self._file.create_dataset(
                "data",
                (0, width),
                maxshape=(None, width),
                chunks=(chunk_rows, width),
                dtype=element_type,
                **HDF5_COMPRESSION,
            )
            self._timestamps = self._file.create_dataset(
                "timestamp",
                (0, 1),
                maxshape=(None, 1),
                chunks=(chunk_rows, 1),
                dtype="i8",
                **HDF5_COMPRESSION,
            )
            elements = [target.stream.elements[c] for c in target.columns]
            self._file.attrs["node_name"] = target.node_name
            self._file.attrs["node_url"] = target.node_url
            self._file.attrs["path"] = target.stream_path
            self._file.attrs["elements"] = json.dumps([e.name for e in elements])
            self._file.attrs["element_json"] = json.dumps([e.to_json() for e in elements])

    def last_timestamp(self) -> int | None:
        return self._last

    def begin(self, intervals: Intervals) -> None:
        self.intervals = intervals
        self._file.create_dataset(HDF5_INTERVALS, data=np.array(intervals, np.int64).reshape(-1, 2))

    def write(self, rows: Rows) -> None:
        selected = self._target.select(rows)
        n = len(self._data)
        self._data.resize((n + len(rows), self._data.shape[1]))
        self._timestamps.resize((n + len(rows), 1))
        self._data[n:] = selected["data"]
        self._timestamps[n:] = selected["timestamp"][:, None]
        self._unflushed += len(rows)
        if self._unflushed >= HDF5_CHECKPOINT_ROWS:
            self._file.flush()
            self._unflushed = 0

    def close(self, complete: bool) -> None:
        self._file.close()


WRITERS: dict[str, Any] = {
    "csv": CsvWriter,
    "parquet": ParquetWriter,
    "npy": NpyWriter,
    "hdf5": Hdf5Writer,
}


# -- event streams ---------------------------------------------------------------------------

EVENT_ROW_GROUP = 1 << 16
"""Events per Parquet row group (and per batch of CSV lines)."""


def export_source(
    transport: Transport, stream: DataStream | EventStream | str | int
) -> DataStream | EventStream:
    """The stream ``stream`` names.  An object is the stream it is; a path or id is the data
    stream of that path or id, else, when the node has no such data stream, the event
    stream.  Data and event streams are numbered apart: an id both have is the data
    stream's (pass ``event_stream_get(id)`` for the other)."""
    if isinstance(stream, EventStream):
        return stream
    try:
        return _data_streams.get(transport, stream)
    except StreamNotFound:
        if isinstance(stream, DataStream):
            raise
        return _event_streams.get(transport, stream)


def _export_events(
    transport: Transport,
    stream: EventStream,
    path: Path,
    kind: str,
    start: int | None,
    end: int | None,
    elements: Sequence[str | int] | None,
    progress: bool,
    resume: bool,
) -> ExportResult:
    """The events of ``[start, end)`` (ongoing ones included), one row each."""
    if kind not in EVENT_WRITERS:
        suffixes = sorted(s for s, k in FORMATS.items() if k in EVENT_WRITERS)
        raise ConfigurationError(
            f"an event stream exports to {' or '.join(EVENT_WRITERS)} ({', '.join(suffixes)}), "
            f"not {kind}: {stream.name!r} is an event stream"
        )
    if elements is not None:
        raise ConfigurationError(
            f"elements picks a data stream's columns: {stream.name!r} is an event stream, "
            "whose export has every content key"
        )
    if resume:
        raise ConfigurationError(
            "resume continues data stream exports: an event stream's export is written whole"
        )
    if path.exists():
        raise ConfigurationError(f"{path} exists: remove it first")
    pages = _event_streams.read(
        transport, stream, start, end, block_size=_event_streams.BLOCK_SIZE
    )  # checks the times before the file is made
    bar = None
    if progress:
        bar = Progress(f"export {path.name}", _event_streams.count(transport, stream, start, end))
    temporary = path.with_name(path.name + ".tmp")
    try:
        with tempfile.TemporaryFile(dir=path.parent) as spool:
            kinds: dict[str, str] = {}
            spooled = events = 0
            for page in map(event_page, pages):
                merge_kinds(kinds, page)
                pickle.dump(page, spool, protocol=pickle.HIGHEST_PROTOCOL)
                spooled += 1
                events += len(page)
                if bar is not None:
                    bar.update(len(page), len(page))
            spool.seek(0)
            batches = _batches(pickle.load(spool) for _ in range(spooled))
            EVENT_WRITERS[kind](batches, kinds, temporary)
        temporary.rename(path)  # only whole exports are ever at ``path``
    finally:
        temporary.unlink(missing_ok=True)
    if bar is not None:
        bar.finish()
    return ExportResult(path, kind, events, None)


def _batches(pages: Iterable[EventPage]) -> Iterator[list[EventPage]]:
    """The pages gathered into lists of about ``EVENT_ROW_GROUP`` events."""
    batch: list[EventPage] = []
    size = 0
    for page in pages:
        batch.append(page)
        size += len(page)
        if size >= EVENT_ROW_GROUP:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _write_events_csv(
    batches: Iterable[list[EventPage]], kinds: dict[str, str], path: Path
) -> None:
    """A header, then a line per event: ``start`` and ``end`` as integer UNIX µs (``end``
    empty while the event goes on), ``id``, and the content: strings as they are, other
    values as JSON, nothing where the key is missing."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow([*EVENT_COLUMNS, *event_column_names(kinds)])
        for batch in batches:
            for page in batch:
                ends = page.ends.tolist()
                columns: list[list[Any]] = [
                    page.starts.tolist(),
                    [None if e == NOT_ENDED else e for e in ends],
                    page.ids.tolist(),
                ]
                for key, kind in kinds.items():
                    columns.append(content_text(*page.column(key, kind), kind))
                writer.writerows(zip(*columns, strict=True))


def _write_events_parquet(
    batches: Iterable[list[EventPage]], kinds: dict[str, str], path: Path
) -> None:
    """``_tables.events_to_arrow``'s table, a row group per batch (with Arrow's dictionary
    encoding: event content repeats, as measured values rarely do)."""
    pq = require("pyarrow.parquet", "arrow")
    with pq.ParquetWriter(path, events_to_arrow([], kinds).schema) as writer:
        for batch in batches:
            writer.write_table(events_to_arrow(batch, kinds))


EVENT_WRITERS = {"csv": _write_events_csv, "parquet": _write_events_parquet}
"""The formats an event stream exports to: the others hold arrays of numbers only."""
