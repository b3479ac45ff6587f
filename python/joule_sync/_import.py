"""Import a file's rows into a stream: what ``export`` writes, read back in batches.

One reader per format, mirroring the writers in ``_export``:

- CSV: the ``timestamp,<names>`` header (after ``#`` lines, the ``# joule: `` one read as the
  metadata) and integer UNIX µs timestamps; parsed by the codec (``codec.CsvParser``), a
  block of text at a time, straight into rows of the stream's type.  Without the metadata
  line the file does not say its type: the stream must exist (its layout is used).
- Parquet: a ``timestamp`` column (UTC times or integer µs) and one column per element, read a
  batch at a time; the layout is the ``joule`` metadata's, else the columns' type and count.
- HDF5: the ``data`` and ``timestamp`` datasets of upstream's ``joule data read --file``,
  read a slice at a time, with upstream's attributes and our ``intervals``.
- ``.npy``: rows of upstream's dtype, or a 2-D array with the timestamps in column 0, read a
  slice at a time.  Bare rows: the stream must be named, and the rows go in as one interval.

A file is checked whole before anything is written (its layout against the stream's, then
every row: the types, NaN, increasing timestamps, rows inside the intervals the file lists),
so a bad file changes nothing on the node.  Then rows go to one ``data_write`` upload, read
while the pipe's sender thread sends the rows before them.

Only what the node lacks is written, judged as upstream's ``joule data copy`` judges it and
as ``data_copy`` does (``_copy.missing_runs``): the file's intervals (as its rows span them)
minus the node's, so a row is written when no interval of the node's covers its timestamp.
An interval break goes where the file has one; where written rows meet rows the node had
within one of the file's intervals (an import cut off and run again, a gap filled), the
node's break there is removed (``data_consolidate``), so the stream ends up with the file's
intervals.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from . import _data, _data_streams, _file_metadata, codec
from ._arguments import stream_spec, time_range
from ._copy import Run, missing_runs
from ._errors import ConfigurationError, DataError, StreamNotFound
from ._export import BATCH_BYTES, export_format
from ._file_metadata import FileMetadata, Intervals
from ._models import DATATYPES, DataStream, Element
from ._pipes import RELEASE_WAIT, check_rows, write_pipe
from ._progress import Progress
from ._tables import require
from ._transport import Transport

CSV_BLOCK_BYTES = 8 << 20
"""Bytes of CSV text parsed at a time: about ``BATCH_BYTES`` of rows."""

Rows = npt.NDArray[np.void]
Columns = tuple[npt.NDArray[Any], npt.NDArray[Any]]
"""Rows as a file holds them: the timestamps and a 2-D array of the values."""


@dataclass(frozen=True)
class ImportResult:
    """What ``Node.data_import`` did."""

    path: Path
    format: str
    stream: DataStream
    created: bool
    """True when the import created the stream."""
    rows: int
    """Rows written by this call."""
    skipped: int
    """Rows of the file (within ``start``/``end``) that the node already had."""


class Reader(Protocol):
    metadata: FileMetadata
    """What the file says: its layout (None where it does not say), path, elements,
    intervals."""

    def batches(self, layout: str) -> Iterator[Rows]:
        """The rows in file order, of ``layout``'s dtype, about ``BATCH_BYTES`` at a time;
        DataError names the first value that ``layout``'s type cannot hold."""

    def close(self) -> None: ...


def data_import(
    transport: Transport,
    path: str | os.PathLike[str],
    stream: DataStream | str | int | None = None,
    *,
    start: int | None = None,
    end: int | None = None,
    format: str | None = None,
    progress: bool = False,
) -> ImportResult:
    """Write the rows of a CSV, Parquet, HDF5 or ``.npy`` file that the node lacks.

    Reads what ``export`` writes (and upstream's ``joule data read --file``), a batch at
    a time.  ``stream`` defaults to the one the file names, created (with the file's
    layout and elements) when missing; a stream given must have the file's layout.
    ``start``/``end`` pick the file's rows.  The whole file is checked before anything
    is written.  Rows whose time the node's intervals already cover are left out, as
    upstream's ``joule data copy`` leaves them, so an import cut off and run again
    completes it; interval breaks go where the file has them (``.npy``: one interval).
    """
    time_range(start, end)  # before the file is read
    if stream is not None:
        stream_spec(stream)  # a wrong kind of name is refused before the file is opened
    if not isinstance(path, str | os.PathLike):
        raise ConfigurationError(f"path must be a file name, not {type(path).__name__}")
    source = Path(path)
    kind = export_format(source, format)
    if not source.is_file():
        raise ConfigurationError(f"{source} is not a file")
    reader: Reader = READERS[kind](source)
    try:
        target, layout = _destination(transport, reader.metadata, stream, source)
        scan = _scan(reader, layout, start, end, source)
        created = not isinstance(target, DataStream)
        if created:
            target = _create(transport, str(target), layout, reader.metadata)
        assert isinstance(target, DataStream)
        written = 0
        if scan.rows:
            written = _write(transport, reader, target, scan, start, end, source, progress)
    finally:
        reader.close()
    return ImportResult(source, kind, target, created, written, scan.rows - written)


def _destination(
    transport: Transport,
    metadata: FileMetadata,
    stream: DataStream | str | int | None,
    source: Path,
) -> tuple[DataStream | str, str]:
    """The stream to write (or the path of one to create) and the layout of the rows.

    Nothing is created yet: the file is checked first."""
    if stream is None:
        if metadata.path is None:
            raise ConfigurationError(
                f"{source.name} does not say which stream it holds: name the stream to import "
                "it into"
            )
        stream = metadata.path
    try:
        existing = _data_streams.get(transport, stream)
    except StreamNotFound:
        if not isinstance(stream, str):
            raise
        if metadata.layout is None:
            raise ConfigurationError(
                f"{stream} does not exist, and {source.name} does not say what type its values "
                "are (a CSV without its '# joule:' line): create the stream first"
            ) from None
        if not stream.rpartition("/")[0]:
            raise ConfigurationError(
                f"cannot create {stream!r}: a stream's path has a folder"
            ) from None
        return stream, metadata.layout
    if metadata.layout is not None and metadata.layout != existing.layout:
        raise DataError(
            f"{source.name} holds {metadata.layout} rows, but stream {existing.name!r} is "
            f"{existing.layout}: import it into a stream of layout {metadata.layout}"
        )
    return existing, existing.layout


def _create(transport: Transport, path: str, layout: str, metadata: FileMetadata) -> DataStream:
    """The stream at ``path``, made as the file describes it (upstream's element names where
    the file names none)."""
    folder, _, name = path.rpartition("/")
    datatype, width = codec.layout_parts(layout)
    elements = metadata.elements or [Element(name=f"Element {i}") for i in range(width)]
    new = DataStream(name=name, datatype=datatype, elements=[replace(e) for e in elements])
    return _data_streams.create(transport, new, folder)


@dataclass(frozen=True)
class _Scan:
    rows: int
    """Rows within the range."""
    intervals: Intervals
    """The file's intervals as its rows within the range span them: ``[first timestamp,
    last timestamp + 1]`` of each, as the node lists intervals."""


def _scan(reader: Reader, layout: str, start: int | None, end: int | None, source: Path) -> _Scan:
    """Check every row of the file up to ``end`` as the write would, before anything is
    written."""
    rows = seen = 0
    intervals: Intervals = []
    where = -1  # the file interval of the last row within the range
    previous: int | None = None
    spans = _Spans(reader.metadata.intervals)
    for batch in reader.batches(layout):
        if _beyond(batch, end):
            break
        try:
            check_rows(batch, layout, previous)
            located = spans.locate(batch["timestamp"])
        except DataError as exc:
            raise _in_file(source, exc, seen) from None
        seen += len(batch)
        if len(batch):
            previous = int(batch["timestamp"][-1])
        chosen = _within(batch, start, end)
        times, located = batch["timestamp"][chosen], located[chosen]
        if len(times):
            cuts = np.flatnonzero(np.diff(located)) + 1  # where the file interval changes
            for first, last in zip([0, *cuts], [*(cuts - 1), len(times) - 1], strict=True):
                if first or located[0] != where:
                    intervals.append([int(times[first]), 0])
                intervals[-1][1] = int(times[last]) + 1
            where = int(located[-1])
        rows += len(times)
    return _Scan(rows, intervals)


def _in_file(source: Path, error: DataError, seen: int) -> DataError:
    """``error`` about a batch of rows, said of the file (its rows counted from ``seen``)."""
    return DataError(f"{source.name}: {error} (rows counted from row {seen})")


def _beyond(rows: Rows, end: int | None) -> bool:
    """Whether ``rows`` begin at or after ``end``: the file holds no more rows to import."""
    return end is not None and len(rows) > 0 and rows["timestamp"][0] >= end


def _within(rows: Rows, start: int | None, end: int | None) -> slice:
    """Where the rows of ``[start, end)`` are (the timestamps increase)."""
    timestamps = rows["timestamp"]
    low = 0 if start is None else int(np.searchsorted(timestamps, start, "left"))
    high = len(rows) if end is None else int(np.searchsorted(timestamps, end, "left"))
    return slice(low, high)


class _Spans:
    """Sorted ``[start, end)`` spans (None: one span of everything): which holds each
    timestamp."""

    def __init__(self, spans: Sequence[Sequence[int]] | None) -> None:
        self.known = spans is not None
        bounds = np.asarray(spans or [], dtype=np.int64).reshape(-1, 2)
        self.starts, self.ends = bounds[:, 0], bounds[:, 1]

    def find(self, timestamps: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """The span of each timestamp; -1 where no span holds it."""
        if not self.known:
            return np.zeros(len(timestamps), np.intp)
        found = np.searchsorted(self.starts, timestamps, "right") - 1
        if len(self.ends):
            found[timestamps >= self.ends[np.maximum(found, 0)]] = -1
        return found

    def locate(self, timestamps: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """``find``, where every timestamp must lie in a span (the file's intervals)."""
        found = self.find(timestamps)
        outside = found < 0
        if outside.any():
            row = int(np.argmax(outside))
            raise DataError(
                f"row {row} (timestamp {int(timestamps[row])}) lies outside every interval "
                "the file's metadata lists"
            )
        return found


def _write(
    transport: Transport,
    reader: Reader,
    stream: DataStream,
    scan: _Scan,
    start: int | None,
    end: int | None,
    source: Path,
    progress: bool,
) -> int:
    """Write the rows the node lacks; the number written."""
    _wait_until_released(transport, stream)
    stored = _data.intervals(transport, stream, scan.intervals[0][0], scan.intervals[-1][1])
    runs = missing_runs(scan.intervals, stored)
    if not runs:
        return 0
    missing, intervals = _Spans([[r.start, r.end] for r in runs]), _Spans(reader.metadata.intervals)
    bar = Progress(f"import {source.name}", scan.rows) if progress else None
    written: dict[int, list[int]] = {}  # each run's first and last row written
    count = 0
    last: tuple[int, int] | None = None  # the run and file interval of the last row written
    with write_pipe(transport, stream) as pipe:
        for rows in reader.batches(stream.layout):
            if _beyond(rows, end):
                break
            rows = rows[_within(rows, start, end)]
            times = rows["timestamp"]
            run, interval = missing.find(times), intervals.locate(times)
            # pieces of rows to write: of one run (between two stretches of the node's
            # data) and one interval of the file's
            cuts = np.flatnonzero((np.diff(run) != 0) | (np.diff(interval) != 0)) + 1
            for first, after in zip([0, *cuts], [*cuts, len(rows)], strict=True):
                if first == after or run[first] < 0:
                    continue
                piece = (int(run[first]), int(interval[first]))
                if last is not None and piece != last:
                    pipe.close_interval()
                pipe.write(rows[first:after])
                count += after - first
                written.setdefault(piece[0], [int(times[first]), 0])[1] = int(times[after - 1])
                last = piece
            if bar is not None:
                bar.update(len(rows), len(rows))
    _join(transport, stream, runs, written)
    if bar is not None:
        bar.finish()
    return count


def _join(
    transport: Transport, stream: DataStream, runs: list[Run], written: dict[int, list[int]]
) -> None:
    """Remove the node's interval breaks where written rows meet rows it had within one of the
    file's intervals: the upload's own start and end, and the break an import cut off left."""
    for index, (first, last) in written.items():
        run = runs[index]
        if run.joins:  # the node's last row before the run is at run.start - 1
            _data.consolidate(transport, stream, first - run.start + 1, run.start - 1, first + 1)
        if run.continues:  # and its first row after it at run.end
            _data.consolidate(transport, stream, run.end - last, last, run.end + 1)


def _wait_until_released(transport: Transport, stream: DataStream) -> None:
    """Wait for an upload still holding the stream (one cut off moments ago) to end, so that
    the node's intervals include every row it stores."""
    deadline = time.monotonic() + RELEASE_WAIT
    while _data_streams.get(transport, stream).is_destination:
        if time.monotonic() > deadline:
            raise DataError(
                f"stream {stream.name!r} is being written by another writer (still after "
                f"{RELEASE_WAIT:.0f} s): import into it once that has stopped"
            )
        time.sleep(0.1)


# -- readers ---------------------------------------------------------------------------------


def _batch_rows(layout: str) -> int:
    return max(1, BATCH_BYTES // codec.layout_dtype(layout).itemsize)


def _check_width(source: Path, columns: int, layout: str) -> None:
    width = codec.layout_parts(layout)[1]
    if columns != width:
        raise DataError(
            f"{source.name} has {columns} value columns, but layout {layout} has {width}"
        )


def _as_rows(batches: Iterator[Columns], layout: str, source: Path) -> Iterator[Rows]:
    """Each batch as rows of ``layout``, converted and checked by the codec."""
    seen = 0
    for timestamps, values in batches:
        try:
            rows = codec.to_rows((timestamps, values), layout)
        except DataError as exc:
            raise _in_file(source, exc, seen) from None
        seen += len(rows)
        yield rows


def _layout_of(dtype: np.dtype[Any], columns: int) -> str | None:
    """The layout of ``columns`` values of ``dtype``, if the node stores that type."""
    return f"{dtype.name}_{columns}" if dtype.name in DATATYPES and columns else None


class CsvReader:
    def __init__(self, path: Path) -> None:
        self._path = path
        document: FileMetadata | None = None
        with path.open("rb") as file:
            self._lines_before = 1
            line = file.readline()
            while line.startswith(b"#"):
                if line.startswith(_file_metadata.CSV_PREFIX.encode()):
                    document = FileMetadata.from_json(
                        line[len(_file_metadata.CSV_PREFIX) :], path.name
                    )
                self._lines_before += 1
                line = file.readline()
            self._rows_start = file.tell()
        names = next(csv.reader([line.decode(errors="replace")]), [])
        if not names or names[0] != "timestamp":
            raise DataError(
                f"{path.name}: expected a header line 'timestamp,<element names>', "
                f"found {line[:80]!r}"
            )
        self._columns = len(names) - 1
        if document is None:
            document = FileMetadata(None, elements=[Element(name=n) for n in names[1:]])
        elif document.layout is not None:
            _check_width(path, self._columns, document.layout)
        self.metadata = document

    def batches(self, layout: str) -> Iterator[Rows]:
        _check_width(self._path, self._columns, layout)
        parser = codec.CsvParser(layout, first_line=self._lines_before + 1)
        text = bytearray(CSV_BLOCK_BYTES)  # one buffer: a new one per block costs fresh pages
        with self._path.open("rb") as file:
            file.seek(self._rows_start)
            try:
                while length := file.readinto(text):
                    yield parser.feed(memoryview(text)[:length])
                yield parser.finish()
            except DataError as exc:
                raise DataError(f"{self._path.name}: {exc}") from None

    def close(self) -> None:
        pass


def _arrow_batch(batch: Any, source: Path, names: list[str]) -> Columns:
    """An Arrow record batch of a timestamp column and value columns (``names``) as numpy
    arrays."""
    pa = require("pyarrow", "arrow")
    for name, column in zip(names, batch.columns, strict=True):
        if column.null_count:
            raise DataError(f"{source.name}: column {name!r} has empty values")
    timestamps = batch.column(0)
    if pa.types.is_timestamp(timestamps.type):
        try:
            timestamps = timestamps.cast(pa.timestamp("us")).cast(pa.int64())
        except pa.ArrowInvalid as exc:
            raise DataError(f"{source.name}: timestamps that are not whole µs ({exc})") from None
    values = [_numpy(c) for c in batch.columns[1:]]
    return _numpy(timestamps), np.column_stack(values)


def _numpy(column: Any) -> npt.NDArray[Any]:
    """A numeric Arrow array without nulls as numpy, without a copy: pyarrow's own
    ``to_numpy`` imports pandas (40 MB more resident, for nothing here)."""
    dtype = np.dtype(column.type.to_pandas_dtype())
    return np.frombuffer(column.buffers()[1], dtype, len(column), column.offset * dtype.itemsize)


class ParquetReader:
    def __init__(self, path: Path) -> None:
        pa = require("pyarrow", "arrow")
        pq = require("pyarrow.parquet", "arrow")
        self._path = path
        try:
            # not pre-buffered: that reads every row group asked for at once
            self._file = pq.ParquetFile(path, pre_buffer=False)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path.name}: not a Parquet file ({exc})") from None
        schema = self._file.schema_arrow
        if not schema.names or schema.names[0] != "timestamp":
            raise DataError(
                f"{path.name}: the first column must be 'timestamp', not {schema.names}"
            )
        timestamp_type = schema.field(0).type
        if not (pa.types.is_timestamp(timestamp_type) or pa.types.is_int64(timestamp_type)):
            raise DataError(f"{path.name}: timestamp is of type {timestamp_type}, not times or µs")
        for field in list(schema)[1:]:
            if not (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)):
                raise DataError(
                    f"{path.name}: column {field.name!r} holds {field.type}, not numbers"
                )
        self._columns = len(schema.names) - 1
        document = (schema.metadata or {}).get(_file_metadata.KEY.encode())
        if document is not None:
            self.metadata = FileMetadata.from_json(document, path.name)
            _check_width(path, self._columns, str(self.metadata.layout))
        else:
            types = {schema.field(i).type for i in range(1, len(schema.names))}
            layout = None
            if len(types) == 1 and pa.types.is_primitive(next(iter(types))):
                layout = _layout_of(np.dtype(next(iter(types)).to_pandas_dtype()), self._columns)
            elements = [Element(name=n) for n in schema.names[1:]]
            self.metadata = FileMetadata(layout, elements=elements)

    def batches(self, layout: str) -> Iterator[Rows]:
        _check_width(self._path, self._columns, layout)
        names = self._file.schema_arrow.names
        batches = self._file.iter_batches(batch_size=_batch_rows(layout))
        columns = (_arrow_batch(batch, self._path, names) for batch in batches)
        return _as_rows(columns, layout, self._path)

    def close(self) -> None:
        self._file.close()


class Hdf5Reader:
    def __init__(self, path: Path) -> None:
        h5py = require("h5py", "hdf5")
        self._path = path
        try:
            self._file = h5py.File(path, "r")
        except OSError as exc:
            raise DataError(f"{path.name}: not an HDF5 file ({exc})") from None
        try:
            self.metadata = self._metadata()
        except BaseException:
            self._file.close()
            raise

    def _metadata(self) -> FileMetadata:
        file, name = self._file, self._path.name
        if "data" not in file or "timestamp" not in file:
            raise DataError(f"{name}: needs the datasets 'data' and 'timestamp' (as upstream's)")
        self._data, self._timestamps = file["data"], file["timestamp"]
        if self._data.ndim != 2 or self._timestamps.shape not in [(len(self._data), 1)]:
            raise DataError(
                f"{name}: 'data' is {self._data.shape} and 'timestamp' {self._timestamps.shape}: "
                "expected (rows, elements) and (rows, 1)"
            )
        elements = None
        if "element_json" in file.attrs:
            try:
                listed = json.loads(_text(file.attrs["element_json"]))
            except ValueError as exc:
                raise DataError(f"{name}: element_json is not JSON ({exc})") from None
            elements = _file_metadata.elements_from_json(listed, name)
        intervals = None
        if _file_metadata.HDF5_INTERVALS in file:
            intervals = _file_metadata.checked_intervals(
                file[_file_metadata.HDF5_INTERVALS][:].tolist(), name
            )
        layout = _layout_of(self._data.dtype, self._data.shape[1])
        if elements is not None and len(elements) != self._data.shape[1]:
            raise DataError(f"{name}: element_json lists {len(elements)} elements")
        return FileMetadata(
            layout,
            _text(file.attrs["path"]) if "path" in file.attrs else None,
            elements,
            intervals=intervals,
        )

    def batches(self, layout: str) -> Iterator[Rows]:
        _check_width(self._path, self._data.shape[1], layout)
        return _as_rows(self._columns_of(_batch_rows(layout)), layout, self._path)

    def _columns_of(self, step: int) -> Iterator[Columns]:
        for first in range(0, len(self._data), step):
            yield self._timestamps[first : first + step, 0], self._data[first : first + step]

    def close(self) -> None:
        self._file.close()


def _text(value: object) -> str:
    """An HDF5 string attribute (h5py gives str or bytes, as it was written)."""
    return value.decode() if isinstance(value, bytes) else str(value)


class NpyReader:
    """Reads with plain file reads, not a memory map: mapped pages would count as resident."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file = path.open("rb")
        try:
            version = np.lib.format.read_magic(self._file)
            read_header = HEADER_READERS.get(version)
            if read_header is None:
                raise ValueError(f"format version {version}")
            shape, fortran, dtype = read_header(self._file)
        except ValueError as exc:
            self._file.close()
            raise DataError(f"{path.name}: not an .npy file ({exc})") from None
        self._dtype: np.dtype[Any] = dtype
        self._rows = shape[0] if shape else 0
        if dtype.names is not None and {"timestamp", "data"} <= set(dtype.names):
            values = dtype["data"]
            self._columns = int(np.prod(values.shape)) if values.shape else 1
            layout = _layout_of(values.base, self._columns) if len(shape) == 1 else None
        elif len(shape) == 2 and not fortran and dtype.kind in "iuf":
            self._columns = shape[1] - 1
            layout = None
        else:
            self._file.close()
            raise DataError(
                f"{path.name}: holds an array of {dtype} and shape {shape}: expected rows "
                "(timestamp, data) or a 2-D array with the timestamps in column 0"
            )
        self._start = self._file.tell()
        self.metadata = FileMetadata(layout)

    def batches(self, layout: str) -> Iterator[Rows]:
        _check_width(self._path, self._columns, layout)
        return _as_rows(self._columns_of(_batch_rows(layout)), layout, self._path)

    def _columns_of(self, step: int) -> Iterator[Columns]:
        row_items = 1 if self._dtype.names is not None else self._columns + 1
        self._file.seek(self._start)
        for first in range(0, self._rows, step):
            count = min(step, self._rows - first) * row_items
            array = np.fromfile(self._file, dtype=self._dtype, count=count)
            if self._dtype.names is not None:
                yield array["timestamp"], array["data"].reshape(len(array), -1)
            else:
                table = array.reshape(-1, self._columns + 1)
                yield table[:, 0], table[:, 1:]

    def close(self) -> None:
        self._file.close()


HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}

READERS: dict[str, Callable[[Path], Reader]] = {
    "csv": CsvReader,
    "parquet": ParquetReader,
    "hdf5": Hdf5Reader,
    "npy": NpyReader,
}
