"""Joule's binary data frames as numpy arrays, through the Rust extension.

A frame is a run of packed rows (an int64 UNIX-microsecond timestamp, then N elements of the
layout's type), with all-zero rows standing for interval breaks.  Arrays use upstream's dtype,
``[('timestamp', '<i8'), ('data', <type>, (N,))]``, so code written for ``joule.api`` works
unchanged.  Interval breaks are given as *interval ends*: sorted row positions ``p`` meaning
"an interval ends after the first ``p`` rows"; ``np.split(data, interval_ends)`` gives the
intervals.

Decoding a file saved with ``curl`` is one call::

    data, interval_ends = codec.decode(open("dump.bin", "rb").read(), "float32_3")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, BinaryIO, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from . import _codec
from ._errors import DataError, DecimationError

__all__ = [
    "ByteOrder",
    "CsvFormatter",
    "CsvParser",
    "Decoded",
    "Decoder",
    "Encoder",
    "decimated_view",
    "decode",
    "encode",
    "layout_dtype",
    "layout_parts",
    "to_rows",
]

ByteOrder = Literal["little", "big"]

# `data` may be a structured array, a 2-D array with timestamps in column 0, or a
# (timestamps, values) pair.
RowsLike = Any
# bytes, bytearray, memoryview or any other object with the buffer protocol
BytesLike = Any

_NUMPY_TYPES = {
    "int8": "<i1",
    "int16": "<i2",
    "int32": "<i4",
    "int64": "<i8",
    "uint8": "<u1",
    "uint16": "<u2",
    "uint32": "<u4",
    "uint64": "<u8",
    "float32": "<f4",
    "float64": "<f8",
}


class Decoded(NamedTuple):
    """Rows in upstream's dtype, and the row positions where intervals end."""

    data: npt.NDArray[np.void]
    interval_ends: list[int]


def layout_parts(layout: str) -> tuple[str, int]:
    """The element type and the number of elements of a layout such as ``float32_3``
    (``("float32", 3)``); a layout the codec does not take is a DataError."""
    return _parsed(layout)[:2]


def layout_dtype(layout: str) -> np.dtype[np.void]:
    """Upstream's structured dtype for a layout such as ``float32_3``."""
    type_name, width, row_size = _parsed(layout)
    dtype = np.dtype([("timestamp", "<i8"), ("data", _NUMPY_TYPES[type_name], (width,))])
    assert dtype.itemsize == row_size
    return dtype


def _parsed(layout: str) -> tuple[str, int, int]:
    """Type, width and row size, the layout checked with the codec's message."""
    row_size = _call(_codec.row_size, layout)
    type_name, width = layout.rsplit("_", 1)
    return type_name, int(width), row_size


def decode(buffer: BytesLike, layout: str, *, byteorder: ByteOrder = "little") -> Decoded:
    """Decode a complete frame (any bytes-like object) into a new array; a trailing partial row
    is a DataError.  Large frames are decoded in two threads."""
    dtype = layout_dtype(layout)
    raw, interval_ends = _call(
        _codec.decode, np.frombuffer(buffer, dtype=np.uint8), layout, byteorder
    )
    return Decoded(raw.view(dtype), interval_ends)


def encode(
    data: RowsLike,
    layout: str,
    *,
    byteorder: ByteOrder = "little",
    interval_ends: Sequence[int] | None = None,
) -> bytes:
    """Encode rows as a frame, with an interval token after each position in ``interval_ends``."""
    return Encoder(layout, byteorder=byteorder).encode(data, interval_ends=interval_ends)


class Decoder:
    """Streaming decoder: ``feed`` byte chunks split anywhere, then ``finish``.

    Each ``feed`` returns the rows it completed, in memory numpy owns, and the interval ends
    among them.  ``finish`` raises DataError if the stream stopped inside a row.
    """

    def __init__(self, layout: str, *, byteorder: ByteOrder = "little") -> None:
        self.dtype = layout_dtype(layout)
        self._inner: _codec.Decoder = _call(_codec.Decoder, layout, byteorder)

    @property
    def layout(self) -> str:
        return self._inner.layout

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete row held back until the next chunk."""
        return self._inner.pending_bytes

    @property
    def rows_decoded(self) -> int:
        return self._inner.rows_decoded

    def feed(self, chunk: BytesLike) -> Decoded:
        raw, interval_ends = self._inner.feed(np.frombuffer(chunk, dtype=np.uint8))
        return Decoded(raw.view(self.dtype), interval_ends)

    def feed_collect(self, chunk: BytesLike) -> list[int]:
        """Decode ``chunk`` into one growing buffer, for a whole response as one array;
        returns the interval ends met, counted in rows from the first row kept."""
        interval_ends: list[int] = self._inner.feed_collect(np.frombuffer(chunk, dtype=np.uint8))
        return interval_ends

    def take_collected(self) -> npt.NDArray[np.void]:
        """The rows kept by ``feed_collect``, without copying; collecting starts again."""
        return self._inner.take_collected().view(self.dtype)

    def finish(self) -> None:
        _call(self._inner.finish)


class Encoder:
    """Validating encoder for one upload: timestamps must increase across ``encode`` calls.

    ``last_timestamp`` starts the check after data already sent (or stored).
    """

    def __init__(
        self,
        layout: str,
        *,
        byteorder: ByteOrder = "little",
        last_timestamp: int | None = None,
    ) -> None:
        self.dtype = layout_dtype(layout)
        self._inner: _codec.Encoder = _call(_codec.Encoder, layout, byteorder)
        self._inner.set_last_timestamp(last_timestamp)

    @property
    def layout(self) -> str:
        return self._inner.layout

    @property
    def last_timestamp(self) -> int | None:
        return self._inner.last_timestamp

    def encode(self, data: RowsLike, *, interval_ends: Sequence[int] | None = None) -> bytes:
        """A frame of ``data`` (see ``to_rows``), checked: DataError names the earliest row
        with any flaw.

        Rows of the layout's dtype are copied as they are; any other numbers are converted,
        checked and encoded in one pass in the extension.
        """
        ends = list(interval_ends or ())
        frame: bytes
        if isinstance(data, np.ndarray) and data.dtype == self.dtype:
            frame = _call(self._inner.encode, np.ascontiguousarray(data).view(np.uint8), ends)
        else:
            numbers = _numbers(data, self.layout, self.dtype["data"].shape[0])
            frame = _call(self._inner.encode_table, *numbers, ends)
        return frame


class CsvFormatter:
    """Rows as text lines, one a row: the integer timestamp, then the chosen elements.

    ``columns`` picks elements (all, in order, by default); ``decimals=None`` writes the
    shortest text that reads back exactly, a number writes ``%.{decimals}f``.  The lines are
    formatted into a buffer the formatter keeps, so one formatter serves one thread.
    """

    def __init__(
        self,
        layout: str,
        *,
        delimiter: str = ",",
        columns: Sequence[int] | None = None,
        decimals: int | None = None,
    ) -> None:
        self.dtype = layout_dtype(layout)
        picked = None if columns is None else list(columns)
        self._inner: _codec.CsvFormatter = _call(
            _codec.CsvFormatter, layout, delimiter, picked, decimals
        )
        self._text = np.empty(0, np.uint8)

    def format(self, rows: npt.NDArray[np.void]) -> bytes:
        """The lines of ``rows`` (of the layout's dtype), as bytes."""
        return bytes(self._lines(rows))

    def write(self, rows: npt.NDArray[np.void], file: BinaryIO) -> int:
        """Write the lines of ``rows`` to ``file``; the number of bytes written.  Cheaper than
        ``file.write(format(rows))``: the text is not copied into a new ``bytes``, so
        ``file`` must not keep what it is given past the call (files do not)."""
        lines = self._lines(rows)
        written = 0
        while written < len(lines):  # an unbuffered file may take part of it
            written += file.write(lines[written:])
        return written

    def _lines(self, rows: npt.NDArray[np.void]) -> memoryview:
        """The lines of ``rows``, in the kept buffer (grown to the room they may need)."""
        raw = np.ascontiguousarray(rows).view(np.uint8)
        room = len(raw) // self.dtype.itemsize * self._inner.line_room
        if len(self._text) < room:
            self._text = np.empty(room, np.uint8)
        length: int = _call(self._inner.format_into, raw, self._text)
        return self._text.data[:length]


class CsvParser:
    """Text lines back into rows: what ``CsvFormatter`` writes, and other tools' CSV of the
    same table.

    ``feed`` takes text split anywhere and returns the rows of the lines it completes;
    ``finish`` the row of a last line without a newline.  A line is an integer timestamp
    (UNIX µs), then one field per element (in double quotes or not); empty lines are skipped.
    Integer elements take integers only; float elements any number (``1``, ``-2.5e3``,
    ``nan``, ``inf``), rounded once, straight to the element's type.  DataError names the line
    (counted from ``first_line``) and field of a line that is not such a row, or of a number
    the type cannot hold.
    """

    def __init__(self, layout: str, *, delimiter: str = ",", first_line: int = 1) -> None:
        self.dtype = layout_dtype(layout)
        self._inner: _codec.CsvParser = _call(_codec.CsvParser, layout, delimiter, first_line)

    def feed(self, text: BytesLike) -> npt.NDArray[np.void]:
        rows: npt.NDArray[np.uint8] = _call(self._inner.feed, np.frombuffer(text, np.uint8))
        return rows.view(self.dtype)

    def finish(self) -> npt.NDArray[np.void]:
        rows: npt.NDArray[np.uint8] = _call(self._inner.finish)
        return rows.view(self.dtype)


def to_rows(data: RowsLike, layout: str) -> npt.NDArray[np.void]:
    """Rows of ``data`` as a C-contiguous array of the layout's dtype, checked on the way.

    Accepts a structured array with ``timestamp`` and ``data`` fields, a 2-D array whose first
    column is the timestamp, or a ``(timestamps, values)`` pair, whose two parts may have
    different types (int64 timestamps stay exact beside float32 values); timestamps may be
    integers, floats (rounded to the nearest microsecond, half to even as ``np.rint``) or
    ``datetime64``.  The extension converts every number; DataError names the first row
    whose values do not fit the layout's type (NaN, fractions or out-of-range values for
    integer layouts; NaN, infinite or out-of-range timestamps; finite values beyond float32).
    Timestamps are not compared: an ``Encoder`` checks their order.
    """
    dtype = layout_dtype(layout)
    if isinstance(data, np.ndarray) and data.dtype == dtype:
        return np.ascontiguousarray(data)
    numbers = _numbers(data, layout, dtype["data"].shape[0])
    raw: npt.NDArray[np.uint8] = _call(_codec.table_rows, *numbers, layout)
    return raw.view(dtype)


def decimated_view(array: npt.NDArray[np.void]) -> npt.NDArray[np.void]:
    """Named mean/min/max access to decimated rows, without copying.

    Decimated reads arrive as ``float32_{3N}``: N means, N minimums, N maximums.  The view has
    fields ``timestamp``, ``mean``, ``min`` and ``max`` (each ``(N,)`` float32) over the same
    memory.
    """
    data = array.dtype.fields and array.dtype.fields.get("data")
    if not data or data[0].base != np.dtype("<f4") or data[0].shape[0] % 3:
        raise DecimationError(
            f"not decimated data: expected float32 rows of 3N elements, got dtype {array.dtype}"
        )
    n = data[0].shape[0] // 3
    fields = [
        ("timestamp", "<i8"),
        ("mean", "<f4", (n,)),
        ("min", "<f4", (n,)),
        ("max", "<f4", (n,)),
    ]
    return array.view(np.dtype(fields))


def _numbers(
    data: RowsLike, layout: str, width: int
) -> tuple[npt.NDArray[Any], npt.NDArray[Any] | None]:
    """``data`` as the extension takes a table of numbers: a 2-D array with the timestamps in
    column 0 (and None), or the timestamps and a 2-D array of ``width`` elements a row."""
    if isinstance(data, tuple) and len(data) == 2:
        timestamps, values = np.asarray(data[0]), np.asarray(data[1])
    else:
        array = np.asarray(data)
        if array.dtype.names is None:
            if array.ndim != 2 or array.shape[1] < 2:
                raise DataError(
                    f"expected a structured array, a 2-D array with timestamps in column 0, "
                    f"or (timestamps, values); got an array of shape {array.shape}"
                )
            return _for_extension(array, "table"), None
        missing = {"timestamp", "data"} - set(array.dtype.names)
        if missing:
            raise DataError(f"structured array lacks field(s) {sorted(missing)}")
        timestamps, values = array["timestamp"], array["data"]
    if timestamps.ndim != 1:
        raise DataError(f"timestamps must be one-dimensional, got shape {timestamps.shape}")
    if timestamps.dtype.kind == "M":
        timestamps = timestamps.astype("datetime64[us]").view("<i8")
    if values.ndim == 1 and width == 1:
        values = values.reshape(-1, 1)
    if values.ndim != 2:
        raise DataError(
            f"data has shape {values.shape} element(s) per row but layout {layout} needs {width}"
        )
    elements = _for_extension(values, f"{layout} value")
    return _for_extension(timestamps, "timestamp", timestamps=True), elements


def _for_extension(
    array: npt.NDArray[Any], what: str, *, timestamps: bool = False
) -> npt.NDArray[Any]:
    """``array`` C-contiguous, aligned, in native byte order and of a type the extension
    converts (int32, int64, uint64, float32, float64; int64, uint64 or float64 for
    timestamps), the others cast to one that holds each of their values exactly."""
    kind, size = array.dtype.kind, array.dtype.itemsize
    if kind not in "biuf":
        raise DataError(f"{what} values must be numeric, got dtype {array.dtype}")
    if kind == "f" and size > 8:
        raise DataError(f"{what} values of dtype {array.dtype} would lose precision as float64")
    if kind == "f":
        target = "f8" if size == 8 or timestamps else "f4"
    elif kind == "u" and size == 8:
        target = "u8"
    elif size == 8 or timestamps or (kind == "u" and size == 4):
        target = "i8"
    else:
        target = "i4"
    # a field of a packed structured array may be contiguous yet misaligned (one row)
    return np.require(array, np.dtype(target), ["C", "A"])


def _call(function: Any, *args: Any) -> Any:
    """Call into the extension, turning its ValueError into DataError."""
    try:
        return function(*args)
    except ValueError as error:
        raise DataError(str(error)) from None
