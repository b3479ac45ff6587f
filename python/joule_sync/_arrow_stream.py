"""A read as an Arrow stream: a ``pyarrow.RecordBatchReader`` filled as the rows arrive.

The reader pulls one re-batched chunk at a time from a read that starts with the first
batch asked for, so memory holds a few batches whatever the range.  It speaks the Arrow
PyCapsule stream interface (``__arrow_c_stream__``), so DuckDB, polars and pyarrow take it
as it is, without pandas.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import codec
from ._errors import DataError
from ._tables import numbered_chunks, require, to_arrow

if TYPE_CHECKING:
    import pyarrow


def record_batch_reader(
    chunks: Iterable[codec.Decoded], layout: str, element_names: Sequence[str]
) -> pyarrow.RecordBatchReader:
    """The chunks (rows of ``layout``) as Arrow record batches, each converted when the
    reader asks for it: the columns of ``to_arrow``, the intervals numbered on from one
    batch to the next."""
    pa = require("pyarrow", "arrow")
    dtype = codec.layout_dtype(layout)
    schema = to_arrow(np.empty(0, dtype), [], element_names, False).schema
    tables = (
        to_arrow(chunk.data, chunk.interval_ends, element_names, False, first_interval)
        for chunk, first_interval in numbered_chunks(_of_layout(chunks, dtype, layout))
    )
    batches = itertools.chain.from_iterable(table.to_batches() for table in tables)
    # A reader of a Python iterable ignores close(); one imported from it through the C
    # stream interface releases that stream on close(), which drops the iterable and so
    # ends the request.  Dropping the reader does the same.  The price: that interface
    # carries an error as a message, so a failing read raises pyarrow's ArrowInvalid naming
    # our exception, not our exception (no reader pyarrow makes has both).
    return pa.RecordBatchReader.from_stream(pa.RecordBatchReader.from_batches(schema, batches))


def _of_layout(
    chunks: Iterable[codec.Decoded], dtype: np.dtype[np.void], layout: str
) -> Iterator[codec.Decoded]:
    """The chunks, checked to hold rows of the layout the schema was made for: a batch of
    other columns would be read as garbage through the C stream."""
    for chunk in chunks:
        if chunk.data.dtype != dtype:
            raise DataError(
                f"the node sent rows of another layout than the stream's {layout!r}: "
                f"{chunk.data.dtype}"
            )
        yield chunk
