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
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from . import _codec
from ._errors import DataError, DecimationError

__all__ = [
    "ByteOrder",
    "CsvFormatter",
    "Decoded",
    "Decoder",
    "Encoder",
    "decimated_view",
    "decode",
    "encode",
    "layout_dtype",
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


def layout_dtype(layout: str) -> np.dtype[np.void]:
    """Upstream's structured dtype for a layout such as ``float32_3``."""
    row_size = _call(_codec.row_size, layout)  # validates the layout with the codec's message
    type_name, width = layout.rsplit("_", 1)
    dtype = np.dtype([("timestamp", "<i8"), ("data", _NUMPY_TYPES[type_name], (int(width),))])
    assert dtype.itemsize == row_size
    return dtype


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
        """A frame of ``data`` (see ``to_rows``), checked: DataError names the first bad row.

        A 2-D float64, float32, int64 or int32 array is converted, checked and encoded in one
        pass in the extension; there the error names the earliest row with any flaw.  Float
        timestamps are rounded to the nearest microsecond, half to even, on either path.
        """
        ends = list(interval_ends or ())
        frame: bytes
        if _is_numeric_table(data):
            frame = _call(self._inner.encode_table, np.ascontiguousarray(data), ends)
        else:
            rows = to_rows(data, self.layout)
            frame = _call(self._inner.encode, rows.view(np.uint8), ends)
        return frame


class CsvFormatter:
    """Rows as text lines, one a row: the integer timestamp, then the chosen elements.

    ``columns`` picks elements (all, in order, by default); ``decimals=None`` writes the
    shortest text that reads back exactly, a number writes ``%.{decimals}f``.
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

    def format(self, rows: npt.NDArray[np.void]) -> bytes:
        """The lines of ``rows`` (of the layout's dtype), as bytes."""
        lines: bytes = _call(self._inner.format, np.ascontiguousarray(rows).view(np.uint8))
        return lines


def to_rows(data: RowsLike, layout: str) -> npt.NDArray[np.void]:
    """Rows of ``data`` as a C-contiguous array of the layout's dtype, checked on the way.

    Accepts a structured array with ``timestamp`` and ``data`` fields, a 2-D array whose first
    column is the timestamp, or a ``(timestamps, values)`` pair; timestamps may be integers,
    floats (rounded to the nearest microsecond, half to even as ``np.rint``) or
    ``datetime64``.  Raises DataError naming the first row whose values do not fit the
    layout's type (NaN, fractions or out-of-range values for integer layouts; NaN, infinite
    or out-of-range timestamps).
    """
    dtype = layout_dtype(layout)
    if isinstance(data, np.ndarray) and data.dtype == dtype:
        return np.ascontiguousarray(data)
    timestamps, values = _columns(data)
    width = dtype["data"].shape[0]
    if values.ndim == 1 and width == 1:
        values = values.reshape(-1, 1)
    if values.ndim != 2 or values.shape[1] != width:
        got = values.shape[1] if values.ndim == 2 else f"shape {values.shape}"
        raise DataError(f"data has {got} element(s) per row but layout {layout} needs {width}")
    if len(timestamps) != len(values):
        raise DataError(f"{len(timestamps)} timestamps for {len(values)} rows of values")
    rows = np.empty(len(values), dtype=dtype)
    rows["timestamp"] = _convert(_as_microseconds(timestamps), np.dtype("<i8"), "timestamp")
    rows["data"] = _convert(values, dtype["data"].base, f"{layout} value")
    return rows


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


# 2-D arrays of these types go to the extension whole (native byte order only)
_TABLE_DTYPES = frozenset(np.dtype(t) for t in (np.float64, np.float32, np.int64, np.int32))


def _is_numeric_table(data: RowsLike) -> bool:
    return (
        isinstance(data, np.ndarray)
        and data.ndim == 2
        and data.shape[1] >= 2
        and data.dtype in _TABLE_DTYPES
    )


def _columns(data: RowsLike) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    if isinstance(data, tuple) and len(data) == 2:
        return np.asarray(data[0]), np.asarray(data[1])
    array = np.asarray(data)
    if array.dtype.names is not None:
        missing = {"timestamp", "data"} - set(array.dtype.names)
        if missing:
            raise DataError(f"structured array lacks field(s) {sorted(missing)}")
        return array["timestamp"], array["data"]
    if array.ndim != 2 or array.shape[1] < 2:
        raise DataError(
            f"expected a structured array, a 2-D array with timestamps in column 0, or "
            f"(timestamps, values); got an array of shape {array.shape}"
        )
    return array[:, 0], array[:, 1:]


def _as_microseconds(timestamps: npt.NDArray[Any]) -> npt.NDArray[Any]:
    if timestamps.dtype.kind == "M":
        return timestamps.astype("datetime64[us]").view("<i8")
    if timestamps.dtype.kind == "f":
        # float timestamps such as upstream's t * 1e6 miss by a hair (8999.999999999998 for
        # 9000): the nearest µs, half to even as the extension rounds them
        rounded: npt.NDArray[Any] = np.rint(timestamps)
        return rounded
    return timestamps


def _convert(values: npt.NDArray[Any], target: np.dtype[Any], what: str) -> npt.NDArray[Any]:
    """``values`` cast to ``target``, refusing any value the cast would change."""
    if values.dtype == target:
        return values
    if values.dtype.kind not in "biuf":
        raise DataError(f"{what} values must be numeric, got dtype {values.dtype}")
    if target.kind in "iu":
        bad = _not_representable_as_int(values, target)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            bad = np.isfinite(values) & ~np.isfinite(values.astype(target))
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"row {first[0]}" + (f", element {first[1]}" if len(first) > 1 else "")
        raise DataError(
            f"{where}: {what} {values[first].item()!r} cannot be stored as {target.name}"
        )
    return values.astype(target)


def _not_representable_as_int(values: npt.NDArray[Any], target: np.dtype[Any]) -> npt.NDArray[Any]:
    bits = target.itemsize * 8
    low, high = (0, 2**bits) if target.kind == "u" else (-(2 ** (bits - 1)), 2 ** (bits - 1))
    if values.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            # powers of two are exact in float64, so these bounds compare exactly
            # NaN != NaN and the infinities fail the bounds, so no separate isfinite pass
            bad: npt.NDArray[np.bool_] = np.trunc(values) != values
            bad |= values < low
            bad |= values >= float(high)
            return bad
    if values.dtype.kind == "b":
        return np.zeros(values.shape, dtype=bool)
    out_of_range: npt.NDArray[np.bool_] = (values < low) | (values > high - 1)
    return out_of_range


def _call(function: Any, *args: Any) -> Any:
    """Call into the extension, turning its ValueError into DataError."""
    try:
        return function(*args)
    except ValueError as error:
        raise DataError(str(error)) from None
