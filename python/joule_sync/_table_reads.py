"""Ranges read as tables: a read of rows (``_whole_reads``, ``_pipes``), then a conversion
(``_tables``).

The three whole-range tables (pandas, Arrow, polars) differ only in the conversion, so they
are one ``TableRead`` each, sharing one signature.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from . import _data_streams, _event_streams, _tables
from ._arrow_stream import record_batch_reader
from ._models import DataStream, EventStream
from ._pipes import read_chunks
from ._transport import Transport
from ._whole_reads import read_rows

if TYPE_CHECKING:
    import pandas
    import pyarrow

_Table = TypeVar("_Table")


class TableRead(Generic[_Table]):
    """A whole range as one table, made of the rows by ``convert`` (see ``_tables``)."""

    def __init__(
        self,
        convert: Callable[[npt.NDArray[np.void], list[int], list[str], bool], _Table],
        doc: str,
    ) -> None:
        self.convert = convert
        self.__doc__ = doc
        # what help() shows: the table's type, not the type variable
        returns = inspect.signature(convert).return_annotation
        self.__signature__ = inspect.signature(self.__call__).replace(return_annotation=returns)

    def __call__(
        self,
        transport: Transport,
        stream: DataStream | str | int,
        start: int | None = None,
        end: int | None = None,
        max_rows: int | None = None,
        *,
        partitions: int = 1,
    ) -> _Table:
        decoded, factor = read_rows(transport, stream, start, end, max_rows, partitions)
        names = [e.name for e in _data_streams.get(transport, stream).elements]
        return self.convert(decoded.data, decoded.interval_ends, names, factor > 1)


read_pandas = TableRead(
    _tables.to_pandas,
    "The range as a pandas DataFrame (see ``joule_sync._tables`` for the columns).",
)
read_arrow = TableRead(
    _tables.to_arrow, "The range as an Arrow table, columns as in ``data_read_dataframe``."
)
read_polars = TableRead(
    _tables.to_polars, "The range as a polars DataFrame, columns as in ``data_read_dataframe``."
)


def read_pandas_chunks(
    transport: Transport,
    stream: DataStream | str | int,
    start: int | None = None,
    end: int | None = None,
    *,
    rows: int = 1_000_000,
) -> Iterator[pandas.DataFrame]:
    """DataFrames of exactly ``rows`` rows each (the last one holds the rest), columns as
    in ``data_read_dataframe``; the ``interval`` column counts on from one chunk to the
    next."""
    chunks = read_chunks(transport, stream, start, end, rows=rows)  # checks the arguments
    names = [e.name for e in _data_streams.get(transport, stream).elements]
    return _tables.numbered_pandas_chunks(chunks, names)


def read_batches(
    transport: Transport,
    stream: DataStream | str | int,
    start: int | None = None,
    end: int | None = None,
    *,
    rows: int = 100_000,
) -> pyarrow.RecordBatchReader:
    """The range as a ``pyarrow.RecordBatchReader`` of batches of exactly ``rows`` rows
    (the last one holds the rest), columns as in ``data_read_arrow``, filled as the rows
    arrive: memory holds a few batches, whatever the range.

    The read starts with the first batch asked for; closing or dropping the reader ends
    it.  It is an Arrow PyCapsule stream: ``duckdb.sql("... from reader")``,
    ``pl.DataFrame(reader)`` and ``pa.table(reader)`` take it.

    A read that fails once rows are asked for (a cut connection, a malformed response)
    raises ``pyarrow.ArrowInvalid`` from ``read_next_batch()``, iteration and ``read_all()``,
    as any consumer of the stream sees it: the reader is pyarrow's, brought through the
    Arrow C stream interface so that ``close()`` ends the request, and that interface
    carries an error as a message only.  The message names joule-sync's exception and says
    how many rows arrived; the batches before the failure were delivered whole.
    ``data_read_chunks`` raises joule-sync's classes themselves, over the same rows.
    """
    chunks = read_chunks(transport, stream, start, end, rows=rows)  # checks the arguments
    found = _data_streams.get(transport, stream)
    return record_batch_reader(chunks, found.layout, [e.name for e in found.elements])


def read_events_pandas(
    transport: Transport,
    stream: EventStream | str | int,
    start: int | None = None,
    end: int | None = None,
    json_filter: str | list[Any] | None = None,
) -> pandas.DataFrame:
    """The events of ``event_stream_read`` (ongoing ones included) as a pandas DataFrame,
    read page by page: indexed by ``id``, with ``start`` and ``end`` (UTC, NaT for an
    event still going on) and one column per content key (see ``_tables``)."""
    pages = _event_streams.read(
        transport, stream, start, end, json_filter, block_size=_event_streams.BLOCK_SIZE
    )  # the arguments are checked here, before anything is sent
    return _tables.events_to_pandas(pages)
