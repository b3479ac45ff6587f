"""Type stub of the Rust extension `joule_sync._codec` (rust/python/src/lib.rs).

Use `joule_sync.codec`, which wraps these with numpy dtypes and `DataError`; the raw
functions take and return uint8 arrays and raise `ValueError` with the codec's message.
"""

import numpy as np
import numpy.typing as npt

# the element types a table of numbers may hold (timestamps: int64, uint64 or float64)
_Number = np.float64 | np.float32 | np.int64 | np.int32 | np.uint64

class Decoder:
    """Streaming frame decoder; chunks may be split anywhere."""

    def __init__(self, layout: str, byteorder: str = "little") -> None: ...
    def feed(self, chunk: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8], list[int]]:
        """Packed little-endian rows of the whole rows completed by `chunk`, and the row
        positions (within them) of the interval tokens met."""
    def feed_collect(self, chunk: npt.NDArray[np.uint8]) -> list[int]:
        """Decode `chunk` into one growing buffer; returns the interval-token positions,
        counted in rows from the first row kept."""
    def take_collected(self) -> npt.NDArray[np.uint8]:
        """The rows kept by `feed_collect`, without copying; collecting starts again."""
    def finish(self) -> None:
        """Raise ValueError if the stream ended inside a row."""
    @property
    def pending_bytes(self) -> int: ...
    @property
    def rows_decoded(self) -> int: ...
    @property
    def row_size(self) -> int: ...
    @property
    def layout(self) -> str: ...

class Encoder:
    """Validating frame encoder; timestamps must increase across calls."""

    def __init__(self, layout: str, byteorder: str = "little") -> None: ...
    def encode(self, rows: npt.NDArray[np.uint8], interval_ends: list[int]) -> bytes:
        """Frame of packed little-endian `rows` with a token at each interval end."""
    def encode_table(
        self,
        table: npt.NDArray[_Number],
        values: npt.NDArray[_Number] | None,
        interval_ends: list[int],
    ) -> bytes:
        """Frame of a table of numbers (see `table_rows`), the timestamps checked and
        encoded as `encode` does; the error names the earliest row with any flaw."""
    @property
    def last_timestamp(self) -> int | None: ...
    @property
    def layout(self) -> str: ...
    def set_last_timestamp(self, timestamp: int | None) -> None: ...

class CsvFormatter:
    """Rows as text lines: the integer timestamp, then the chosen elements."""

    def __init__(
        self,
        layout: str,
        delimiter: str = ",",
        columns: list[int] | None = None,
        decimals: int | None = None,
    ) -> None:
        """``decimals=None`` writes the shortest exact text; a number writes ``%.{n}f``."""
    @property
    def line_room(self) -> int:
        """The most bytes one line takes: `format_into` needs this much room a row."""
    def format_into(self, rows: npt.NDArray[np.uint8], out: npt.NDArray[np.uint8]) -> int:
        """Write the lines of `rows` at the start of `out` (`line_room` bytes a row); the
        number of bytes written.  ValueError for a partial row or too little room."""

class CsvParser:
    """Text lines, fed in pieces split anywhere, as rows: the integer timestamp, then one
    number per element; ValueError names the line and field of a bad one."""

    def __init__(self, layout: str, delimiter: str = ",", first_line: int = 1) -> None:
        """``first_line`` is the number of the first line fed, for errors."""
    def feed(self, text: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """Packed little-endian rows of the lines `text` completes."""
    def finish(self) -> npt.NDArray[np.uint8]:
        """The row of a last line without a newline (none or one)."""

# from this many bytes on, `decode` runs in two threads
PARALLEL_BYTES: int

def decode(
    buffer: npt.NDArray[np.uint8], layout: str, byteorder: str = "little"
) -> tuple[npt.NDArray[np.uint8], list[int]]:
    """Packed little-endian rows of a complete frame in a new array, and the interval ends;
    ValueError if it ends inside a row."""

def table_rows(
    table: npt.NDArray[_Number], values: npt.NDArray[_Number] | None, layout: str
) -> npt.NDArray[np.uint8]:
    """Packed little-endian rows of `layout` from a C-contiguous 2-D `table` (column 0 the
    timestamp, then the elements) or, with `values`, from the timestamps `table` beside the
    C-contiguous 2-D `values`: each value converted to the layout's type and refused if
    that would change it, but float timestamps rounded to the nearest microsecond (half to
    even); timestamps are not compared."""

def row_size(layout: str) -> int:
    """Bytes in one row of `layout`."""
