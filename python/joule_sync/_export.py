"""Export a stream's rows to CSV, Parquet, NumPy ``.npy`` or HDF5, streaming to disk.

Rows flow block by block from a read pipe into one writer per format, so memory stays
bounded whatever the size.  Every writer can resume: it finds the last row it stored,
drops a partial one, and the export continues after that timestamp.

- CSV: ``timestamp,<element names>``; timestamps as integer UNIX µs; values formatted in
  the Rust extension (shortest text that reads back exactly).
- Parquet: ``timestamp`` (UTC µs) and one column per element.  Written as complete part
  files in ``<path>.parts/`` (what resume counts on), merged into ``path`` at the end.
- NumPy: a structured array of upstream's dtype, the header rewritten with the final count.
- HDF5: upstream ``joule data read --file`` datasets and attributes (``data`` (n, k) of the
  stream's type, ``timestamp`` (n, 1) int64, gzip; attributes ``node_name``, ``node_url``,
  ``path``, ``elements``, ``element_json``), so ``joule data ingest`` reads it back.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from . import _codec, codec
from ._errors import ConfigurationError, DataError
from ._frames import require
from ._models import DataStream
from ._progress import Progress

if TYPE_CHECKING:
    from ._client import Node

Rows = npt.NDArray[np.void]

FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".npy": "npy",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
}

PARQUET_PART_ROWS = 1 << 20
"""Rows per Parquet part file (and row group): big for readers, small for memory."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    rows: int
    resumed_after: int | None
    """The last timestamp the file already held when the export resumed (None: fresh)."""


class Writer(Protocol):
    def last_timestamp(self) -> int | None: ...
    def write(self, rows: Rows) -> None: ...
    def close(self, complete: bool = True) -> None:
        """Save what was written; ``complete=False`` (the export failed) keeps it resumable
        rather than finishing the file."""


@dataclass(frozen=True)
class Target:
    """What a writer needs to know: the file, the stream and the columns chosen."""

    path: Path
    stream: DataStream
    columns: list[int]
    node_name: str
    node_url: str
    stream_path: str

    @property
    def names(self) -> list[str]:
        return [self.stream.elements[c].name for c in self.columns]

    @property
    def layout(self) -> str:
        return f"{self.stream.datatype.lower()}_{len(self.columns)}"

    def select(self, rows: Rows) -> Rows:
        """Rows with only the chosen elements, in upstream's dtype for that width."""
        if self.columns == list(range(len(self.stream.elements))):
            return rows
        out = np.empty(len(rows), dtype=codec.layout_dtype(self.layout))
        out["timestamp"] = rows["timestamp"]
        out["data"] = rows["data"][:, self.columns]
        return out


def export(
    node: Node,
    stream: DataStream | str | int,
    path: str | os.PathLike[str],
    *,
    start: int | None = None,
    end: int | None = None,
    format: str | None = None,
    elements: Sequence[str | int] | None = None,
    progress: bool = False,
    resume: bool = False,
) -> ExportResult:
    """Write the rows of ``[start, end)`` to ``path``; see the module docstring for formats."""
    target_path = Path(path)
    kind = format or FORMATS.get(target_path.suffix.lower())
    if kind is None or kind not in FORMATS.values():
        raise ConfigurationError(
            f"cannot tell the export format of {target_path.name!r}: pass format= one of "
            f"{sorted(set(FORMATS.values()))} or use a suffix {sorted(FORMATS)}"
        )
    data_stream = node.data_stream_get(stream)
    stream_path = stream if isinstance(stream, str) else str(data_stream.id)
    target = Target(
        target_path,
        data_stream,
        _columns(data_stream, elements),
        node.name,
        node.url,
        stream_path,
    )
    if not resume and _exists(target_path, kind):
        raise ConfigurationError(
            f"{target_path} exists: remove it, or pass resume=True to continue it"
        )
    writer = WRITERS[kind](target, resume)
    last = writer.last_timestamp() if resume else None
    read_start = start if last is None else max(last + 1, start if start is not None else last + 1)
    bar = None
    if progress:
        intervals = (
            node.data_intervals(data_stream, read_start, end)
            if (end is None or read_start is None or read_start < end)
            else []
        )
        span = sum(e - s for s, e in intervals)
        bar = Progress(f"export {target_path.name}", span or None)
    rows = 0
    try:
        if end is None or read_start is None or read_start < end:
            with node.data_read(data_stream, read_start, end) as pipe:
                previous: int | None = None
                for block in pipe:
                    if not len(block.data):
                        continue
                    writer.write(target.select(block.data))
                    rows += len(block.data)
                    if bar is not None:
                        first, final = (
                            int(block.data["timestamp"][0]),
                            int(block.data["timestamp"][-1]),
                        )
                        bar.update(
                            final - (previous if previous is not None else first), len(block.data)
                        )
                        previous = final
    except BaseException:
        writer.close(complete=False)
        raise
    writer.close()
    if bar is not None:
        bar.finish()
    return ExportResult(target_path, kind, rows, last)


def _columns(stream: DataStream, elements: Sequence[str | int] | None) -> list[int]:
    if elements is None:
        return list(range(len(stream.elements)))
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
    return columns


def _exists(path: Path, kind: str) -> bool:
    return path.exists() or (kind == "parquet" and _parts_dir(path).exists())


class CsvWriter:
    def __init__(self, target: Target, resume: bool) -> None:
        self._formatter = _codec.CsvFormatter(target.layout)
        self._last: int | None = None
        if resume and target.path.exists():
            self._last = _truncate_csv_to_last_line(target.path)
            self._file = target.path.open("ab")
        else:
            self._file = target.path.open("wb")
            self._file.write((",".join(["timestamp", *target.names]) + "\n").encode())

    def last_timestamp(self) -> int | None:
        return self._last

    def write(self, rows: Rows) -> None:
        self._file.write(self._formatter.format(np.ascontiguousarray(rows).view(np.uint8)))

    def close(self, complete: bool = True) -> None:
        self._file.close()


def _truncate_csv_to_last_line(path: Path) -> int | None:
    """Drop a partial last line; the timestamp of the last whole data line, if any."""
    with path.open("rb+") as file:
        size = file.seek(0, os.SEEK_END)
        tail_start = max(0, size - 65536)
        file.seek(tail_start)
        tail = file.read()
        cut = tail.rfind(b"\n") + 1
        file.truncate(tail_start + cut)
        lines = tail[:cut].splitlines()
    last = lines[-1] if lines else b""
    if not last or last.startswith(b"timestamp"):
        return None
    return int(last.split(b",", 1)[0])


class NpyWriter:
    """A ``.npy`` file whose header is rewritten with the final row count on close."""

    HEADER_BYTES = 256

    def __init__(self, target: Target, resume: bool) -> None:
        self._dtype = codec.layout_dtype(target.layout)
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

    def _recover(self) -> int:
        file = self._file
        version = np.lib.format.read_magic(file)
        if version != (1, 0):
            raise DataError(f"{file.name} is not an .npy file this export wrote")
        np.lib.format.read_array_header_1_0(file)
        if file.tell() != self.HEADER_BYTES:
            raise DataError(f"{file.name} is not an .npy file this export wrote")
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
        room = self.HEADER_BYTES - len(prefix) - 2
        body = text + b" " * (room - len(text) - 1) + b"\n"
        self._file.seek(0)
        self._file.write(prefix + len(body).to_bytes(2, "little") + body)
        self._file.seek(0, os.SEEK_END)

    def write(self, rows: Rows) -> None:
        self._file.write(np.ascontiguousarray(rows).tobytes())
        self._rows += len(rows)

    def close(self, complete: bool = True) -> None:
        self._write_header()
        self._file.close()


def _parts_dir(path: Path) -> Path:
    return path.with_name(path.name + ".parts")


class ParquetWriter:
    """Complete part files of ``PARQUET_PART_ROWS`` rows, merged into one file on close."""

    def __init__(self, target: Target, resume: bool) -> None:
        self._pa = require("pyarrow", "arrow")
        self._pq = require("pyarrow.parquet", "arrow")
        self._target = target
        self._parts = _parts_dir(target.path)
        if not resume:
            shutil.rmtree(self._parts, ignore_errors=True)
        self._parts.mkdir(exist_ok=True)
        for leftover in self._parts.glob("*.tmp"):
            leftover.unlink()
        self._done = sorted(self._parts.glob("part-*.parquet"))
        self._pending: list[Rows] = []
        self._pending_rows = 0

    def last_timestamp(self) -> int | None:
        if not self._done:
            return None
        table = self._pq.read_table(self._done[-1], columns=["timestamp"])
        return int(table["timestamp"][-1].cast(self._pa.int64()).as_py())

    def write(self, rows: Rows) -> None:
        # parts of exactly PARQUET_PART_ROWS rows, whatever the blocks: a resumed export
        # then cuts the same parts, and merges into the same bytes, as an uninterrupted one
        while self._pending_rows + len(rows) >= PARQUET_PART_ROWS:
            room = PARQUET_PART_ROWS - self._pending_rows
            self._pending.append(rows[:room])
            rows = rows[room:]
            self._flush()
        if len(rows):
            self._pending.append(rows)
            self._pending_rows += len(rows)

    def _flush(self) -> None:
        if not self._pending:
            return
        rows = np.concatenate(self._pending)
        self._pending, self._pending_rows = [], 0
        part = self._parts / f"part-{len(self._done):06d}.parquet"
        temporary = part.with_suffix(".tmp")
        self._pq.write_table(self._table(rows), temporary)
        temporary.rename(part)  # a part exists only when complete: resume relies on it
        self._done.append(part)

    def _table(self, rows: Rows) -> Any:
        pa = self._pa
        columns = {"timestamp": pa.array(rows["timestamp"], type=pa.timestamp("us", tz="UTC"))}
        for i, name in enumerate(self._target.names):
            columns[name] = pa.array(rows["data"][:, i])
        return pa.table(columns)

    def close(self, complete: bool = True) -> None:
        if not complete:
            # the complete parts stay for resume; a partial one would shift every later part
            return
        self._flush()
        if not self._done:
            self._pq.write_table(
                self._table(np.empty(0, codec.layout_dtype(self._target.layout))), self._target.path
            )
            shutil.rmtree(self._parts, ignore_errors=True)
            return
        temporary = self._target.path.with_name(self._target.path.name + ".tmp")
        schema = self._pq.read_schema(self._done[0])
        with self._pq.ParquetWriter(temporary, schema) as merged:
            for part in self._done:
                merged.write_table(self._pq.read_table(part))
        temporary.rename(self._target.path)
        shutil.rmtree(self._parts)


class Hdf5Writer:
    """Upstream's ``joule data read --file`` layout, appended block by block."""

    def __init__(self, target: Target, resume: bool) -> None:
        h5py = require("h5py", "hdf5")
        self._last: int | None = None
        width = len(target.columns)
        if resume and target.path.exists():
            self._file = h5py.File(target.path, "a")
            self._data, self._timestamps = self._file["data"], self._file["timestamp"]
            rows = min(len(self._data), len(self._timestamps))
            self._data.resize((rows, width))
            self._timestamps.resize((rows, 1))
            if rows:
                self._last = int(self._timestamps[rows - 1, 0])
        else:
            self._file = h5py.File(target.path, "w")
            element_type = codec.layout_dtype(target.layout)["data"].base
            self._data = self._file.create_dataset(
                "data", (0, width), maxshape=(None, width), dtype=element_type, compression="gzip"
            )
            self._timestamps = self._file.create_dataset(
                "timestamp", (0, 1), maxshape=(None, 1), dtype="i8", compression="gzip"
            )
            elements = [target.stream.elements[c] for c in target.columns]
            self._file.attrs["node_name"] = target.node_name
            self._file.attrs["node_url"] = target.node_url
            self._file.attrs["path"] = target.stream_path
            self._file.attrs["elements"] = json.dumps([e.name for e in elements])
            self._file.attrs["element_json"] = json.dumps([e.to_json() for e in elements])

    def last_timestamp(self) -> int | None:
        return self._last

    def write(self, rows: Rows) -> None:
        n = len(self._data)
        self._data.resize((n + len(rows), self._data.shape[1]))
        self._timestamps.resize((n + len(rows), 1))
        self._data[n:] = rows["data"]
        self._timestamps[n:] = rows["timestamp"][:, None]

    def close(self, complete: bool = True) -> None:
        self._file.close()


WRITERS: dict[str, Any] = {
    "csv": CsvWriter,
    "parquet": ParquetWriter,
    "npy": NpyWriter,
    "hdf5": Hdf5Writer,
}
