"""The blocking ``Node``: every upstream ``joule.api.Node`` method, as a facade.

A script written for the upstream asyncio client ports by deleting ``await``: the method
names, arguments, defaults and return types are upstream's.  Each method is a few lines
over the modules that do the work, down the data path:

- ``_transport``: the one ``httpx.Client``, retries, timeouts, TLS, the error mapping;
- the resources, as functions on the transport: ``_folders``, ``_data_streams``, ``_data``,
  ``_event_streams``, ``_annotations``, ``_node_admin`` (modules, proxies, masters,
  followers) and ``_database``;
- the rows: ``_read_core`` (every ``GET /data``), ``_pipes``, ``_whole_reads``,
  ``_rebatch``, then ``_tables``, ``_arrow_stream`` and ``_export`` for DataFrames, Arrow
  streams and files.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload
from urllib.parse import urlsplit

import httpx
import numpy as np
import numpy.typing as npt

from . import (
    _annotations,
    _data,
    _data_streams,
    _database,
    _event_streams,
    _folders,
    _node_admin,
    _tables,
)
from ._arguments import Params, require_count, stream_spec, time_range, timestamp
from ._arrow_stream import record_batch_reader
from ._copy import CopyResult, copy_data, copy_events
from ._errors import ConfigurationError, InvalidArgument, StreamNotFound
from ._export import ExportResult, export
from ._import import ImportResult, data_import
from ._models import (
    Annotation,
    AnnotationInfo,
    ConnectionInfo,
    DataStream,
    DataStreamInfo,
    Event,
    EventStream,
    EventStreamInfo,
    Folder,
    Follower,
    Master,
    Module,
    NodeInfo,
    Proxy,
)
from ._pipes import ReadPipe, WritePipe, flatten_rows, open_read_pipe, read_blocks
from ._rebatch import rebatch
from ._transport import Transport
from ._whole_reads import read_params, read_rows
from .codec import Decoded

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow
    import sqlalchemy

_Table = TypeVar("_Table")


class Node:
    """A Joule node reached over HTTP(S) or a UNIX socket, with blocking calls.

    ``Node(url, key)`` connects to ``url`` (``http://host:port`` or ``https://...``; a
    path after the host is kept, for nodes behind a reverse proxy) with API key ``key``.
    ``uds`` sends the requests over that UNIX socket instead (the node's local socket needs
    no key).  ``ca_file`` is the CA that signed the node's certificate; certificate checks
    stay on unless ``verify=False``.

    ``timeout`` bounds each wait for the node (connect, send, each read), never a whole
    response, so long downloads and subscriptions are not cut off; ``connect_timeout``
    bounds connecting alone.  GET requests are retried ``retries`` times, with exponential
    backoff, when the connection fails or the node answers a status above 500 (a proxy's
    502, a restarting node's 503): they change nothing.  Requests that change the node are
    sent once, so nothing is written twice.  ``name`` labels the node (``get_node`` gives
    the name the CLI saved it under; by default it is the URL's host and port).

    ``transport`` replaces httpx's own (``httpx.MockTransport`` in tests).  Use it as a
    context manager, or ``close()`` it, to release its connections; a later call opens
    new ones, as upstream's does.
    """

    def __init__(
        self,
        url: str,
        key: str | None,
        *,
        ca_file: str | os.PathLike[str] | None = None,
        verify: bool = True,
        timeout: float | None = 60.0,
        connect_timeout: float | None = 10.0,
        retries: int = 3,
        uds: str | os.PathLike[str] | None = None,
        name: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not isinstance(url, str) or not re.match(r"https?://[^/]", url):
            raise ConfigurationError(
                f"the node URL must start with http:// or https://, not {url!r}"
            )
        if uds is None and not key:
            raise ConfigurationError(
                "an API key is required (only a node's UNIX socket works without one)"
            )
        require_count(retries, "retries", minimum=0, error=ConfigurationError)
        self.url = url.rstrip("/")
        self.name = name if name is not None else urlsplit(self.url).netloc
        self._uds = None if uds is None else os.fspath(uds)
        self._uuid: str | None = None
        self._transport = Transport(
            self.url,
            key,
            ca_file=ca_file,
            verify=verify,
            timeout=timeout,
            connect_timeout=connect_timeout,
            retries=retries,
            uds=self._uds,
            transport=transport,
        )

    def __repr__(self) -> str:
        where = f" uds={self._uds!r}" if self._uds else ""
        return f"<joule_sync.Node name={self.name!r} url={self.url!r}{where}>"

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections, as upstream's ``close()`` closes its session.

        The next call connects again.  Read pipes still open end: the rows they received
        stay readable, then ``PipeError`` says their data did not end.  Write pipes still
        open finish their upload.
        """
        self._transport.close()

    @property
    def transport(self) -> Transport:
        """The connection layer under this node, for code that reads rows itself through
        the read core (``joule_sync.dask`` does, on its workers)."""
        return self._transport

    def _node_uuid(self) -> str:
        """The node's uuid, which marks events read from it (asked once)."""
        if self._uuid is None:
            self._uuid = _node_admin.uuid(self._transport)
        return self._uuid

    # -- node -----------------------------------------------------------------------

    def info(self) -> NodeInfo:
        """The node's version, name, uuid and disk use."""
        return _node_admin.info(self._transport)

    # -- folders --------------------------------------------------------------------

    def folder_root(self) -> Folder:
        """The root folder with the whole tree below it."""
        return _folders.root(self._transport)

    def folder_get(self, folder: Folder | str | int) -> Folder:
        """One folder (and its tree), by object, path or id."""
        return _folders.get(self._transport, folder)

    def folder_move(self, source: Folder | str | int, destination: Folder | str | int) -> None:
        """Move ``source`` into ``destination``, which is created if it does not exist."""
        _folders.move(self._transport, source, destination)

    def folder_update(self, folder: Folder) -> None:
        """Save a folder's ``name`` and ``description`` (the only attributes that change)."""
        _folders.update(self._transport, folder)

    def folder_delete(self, folder: Folder | str | int, recursive: bool = False) -> None:
        """Delete a folder; one with sub-folders needs ``recursive=True``."""
        _folders.delete(self._transport, folder, recursive)

    # -- data streams ---------------------------------------------------------------

    def data_stream_get(self, stream: DataStream | str | int) -> DataStream:
        """One data stream, by object, path or id."""
        return _data_streams.get(self._transport, stream)

    def data_stream_move(self, stream: DataStream | str | int, folder: Folder | str | int) -> None:
        """Move a stream into ``folder``, which is created if it does not exist."""
        _data_streams.move(self._transport, stream, folder)

    def data_stream_update(self, stream: DataStream) -> None:
        """Save a stream's attributes and its elements' (not its datatype or width)."""
        _data_streams.update(self._transport, stream)

    def data_stream_delete(self, stream: DataStream | str | int) -> None:
        """Delete a stream and all its data."""
        _data_streams.delete(self._transport, stream)

    def data_stream_create(self, stream: DataStream, folder: Folder | str | int) -> DataStream:
        """Create ``stream`` in ``folder`` (a folder given by path is created if missing)."""
        return _data_streams.create(self._transport, stream, folder)

    def data_stream_info(self, stream: DataStream | str | int) -> DataStreamInfo:
        """The extent of a stream's data (rows and bytes are the node's estimates)."""
        return _data_streams.info(self._transport, stream)

    def data_stream_annotation_delete(
        self, stream: DataStream | str | int, start: int | None = None, end: int | None = None
    ) -> None:
        """Delete a stream's annotations, or only those within ``[start, end)``."""
        _annotations.delete_for_stream(self._transport, stream, start, end)

    # -- data -----------------------------------------------------------------------

    def data_delete(
        self, stream: DataStream | str | int, start: int | None = None, end: int | None = None
    ) -> None:
        """Delete a stream's rows in ``[start, end)`` (all of them by default).

        An interval break is left where the rows were.
        """
        _data.delete(self._transport, stream, start, end)

    def data_intervals(
        self, stream: DataStream | str | int, start: int | None = None, end: int | None = None
    ) -> list[list[int]]:
        """The ``[start, end]`` of each run of data without a break, within the bounds."""
        return _data.intervals(self._transport, stream, start, end)

    def data_consolidate(
        self,
        stream: DataStream | str | int,
        max_gap: int,
        start: int | None = None,
        end: int | None = None,
    ) -> int:
        """Remove interval breaks where the gap is at most ``max_gap`` µs; returns how many."""
        return _data.consolidate(self._transport, stream, max_gap, start, end)

    def data_decimate(self, stream: DataStream | str | int) -> None:
        """Rebuild all of a stream's decimation levels from its rows."""
        _data.decimate(self._transport, stream)

    def data_drop_decimations(self, stream: DataStream | str | int) -> None:
        """Drop a stream's decimation levels (decimated reads are empty until rebuilt)."""
        _data.drop_decimations(self._transport, stream)

    # -- bulk data: pipes, arrays, tables and files ------------------------------------

    def data_read(
        self,
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
        return open_read_pipe(self._transport, params, stream=self._model_of(stream))

    def data_subscribe(self, stream: DataStream | str | int) -> ReadPipe:
        """A pipe of live rows as the node receives them; close it to end the subscription."""
        params = stream_spec(stream)
        return open_read_pipe(
            self._transport, params, subscribe=True, stream=self._model_of(stream)
        )

    def _model_of(self, stream: DataStream | str | int) -> DataStream | Callable[[], DataStream]:
        """The stream itself, or how to get it when a pipe's ``stream`` is asked for."""
        if isinstance(stream, DataStream):
            return stream
        return lambda: self.data_stream_get(stream)

    def data_write(
        self,
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
        target = self.data_stream_get(stream)
        if isinstance(stream, DataStream) and stream.layout != target.layout:
            raise InvalidArgument(
                f"data stream {stream.name!r} is {stream.layout} here but {target.layout} on "
                "the node"
            )
        if replaced:
            self.data_delete(target, start, end)
        params: Params = {**stream_spec(target), "merge-gap": gap}
        return WritePipe(self._transport, params, stream=target)

    def data_read_array(
        self,
        stream: DataStream | str | int,
        start: int | None = None,
        end: int | None = None,
        max_rows: int | None = None,
        flatten: bool = False,
        *,
        partitions: int = 1,
    ) -> npt.NDArray[Any]:
        """The whole range as one array of upstream's dtype (2-D when ``flatten``).

        Unlike upstream (which decimates to 10,000 rows unless told otherwise), every row
        comes back unless ``max_rows`` is given.  ``partitions=K`` reads K time pieces over K
        connections at once and joins them in order.
        """
        rows = read_rows(self._transport, stream, start, end, max_rows, partitions)[0].data
        return flatten_rows(rows) if flatten else rows

    def data_read_dataframe(
        self,
        stream: DataStream | str | int,
        start: int | None = None,
        end: int | None = None,
        max_rows: int | None = None,
        *,
        partitions: int = 1,
    ) -> pandas.DataFrame:
        """The range as a pandas DataFrame (see ``joule_sync._tables`` for the columns)."""
        return self._read_table(_tables.to_pandas, stream, start, end, max_rows, partitions)

    def data_read_arrow(
        self,
        stream: DataStream | str | int,
        start: int | None = None,
        end: int | None = None,
        max_rows: int | None = None,
        *,
        partitions: int = 1,
    ) -> pyarrow.Table:
        """The range as an Arrow table, columns as in ``data_read_dataframe``."""
        return self._read_table(_tables.to_arrow, stream, start, end, max_rows, partitions)

    def data_read_polars(
        self,
        stream: DataStream | str | int,
        start: int | None = None,
        end: int | None = None,
        max_rows: int | None = None,
        *,
        partitions: int = 1,
    ) -> polars.DataFrame:
        """The range as a polars DataFrame, columns as in ``data_read_dataframe``."""
        return self._read_table(_tables.to_polars, stream, start, end, max_rows, partitions)

    def data_read_chunks(
        self,
        stream: DataStream | str | int,
        start: int | None = None,
        end: int | None = None,
        *,
        rows: int = 1_000_000,
    ) -> Iterator[Decoded]:
        """Arrays of exactly ``rows`` rows each (the last one holds the rest), for ranges
        larger than memory.

        Each chunk is ``(data, interval_ends)``: ``interval_ends`` lists the row positions
        in ``data`` after which an interval break falls.
        """
        require_count(rows, "rows")
        params = read_params(stream, start, end, None)  # checked now, read when iterated
        return rebatch(read_blocks(self._transport, params), rows)

    def data_read_dataframe_chunks(
        self,
        stream: DataStream | str | int,
        start: int | None = None,
        end: int | None = None,
        *,
        rows: int = 1_000_000,
    ) -> Iterator[pandas.DataFrame]:
        """DataFrames of exactly ``rows`` rows each (the last one holds the rest), columns as
        in ``data_read_dataframe``; the ``interval`` column counts on from one chunk to the
        next."""
        chunks = self.data_read_chunks(stream, start, end, rows=rows)  # checks the arguments
        names = [e.name for e in self.data_stream_get(stream).elements]
        return _tables.numbered_pandas_chunks(chunks, names)

    def data_read_batches(
        self,
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
        ``pl.DataFrame(reader)`` and ``pa.table(reader)`` take it.  A read that fails raises
        pyarrow's error, with joule-sync's message.
        """
        chunks = self.data_read_chunks(stream, start, end, rows=rows)  # checks the arguments
        found = self.data_stream_get(stream)
        return record_batch_reader(chunks, found.layout, [e.name for e in found.elements])

    def export(
        self,
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
        return export(
            self,
            stream,
            path,
            start=start,
            end=end,
            format=format,
            elements=elements,
            progress=progress,
            resume=resume,
            csv_header=csv_header,
        )

    def data_import(
        self,
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
        return data_import(
            self, path, stream, start=start, end=end, format=format, progress=progress
        )

    def data_copy(
        self,
        stream: DataStream | str | int,
        dest_node: Node,
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
        return copy_data(
            self,
            stream,
            _other_node(dest_node),
            dest_path,
            start=start,
            end=end,
            annotations=annotations,
            progress=progress,
        )

    def _read_table(
        self,
        convert: Callable[[npt.NDArray[np.void], list[int], list[str], bool], _Table],
        stream: DataStream | str | int,
        start: int | None,
        end: int | None,
        max_rows: int | None,
        partitions: int,
    ) -> _Table:
        decoded, factor = read_rows(self._transport, stream, start, end, max_rows, partitions)
        names = [e.name for e in self.data_stream_get(stream).elements]
        return convert(decoded.data, decoded.interval_ends, names, factor > 1)

    # -- event streams --------------------------------------------------------------

    def event_stream_get(
        self,
        stream: EventStream | str | int,
        create: bool = False,
        description: str = "",
        chunk_duration: str = "",
        chunk_duration_us: int | None = None,
        event_fields: dict[str, str] | None = None,
    ) -> EventStream:
        """One event stream; with ``create=True`` a missing one given by path is created."""
        try:
            return _event_streams.get(self._transport, stream)
        except StreamNotFound:
            if not create or not isinstance(stream, str):
                raise
        folder, _, name = stream.rpartition("/")
        missing = EventStream(
            name,
            description,
            chunk_duration=chunk_duration,
            chunk_duration_us=chunk_duration_us,
            event_fields=event_fields,
        )
        return self.event_stream_create(missing, folder or "/")

    def event_stream_move(
        self, stream: EventStream | str | int, folder: Folder | str | int
    ) -> None:
        """Move an event stream into ``folder``, which is created if it does not exist."""
        _event_streams.move(self._transport, stream, folder)

    def event_stream_update(self, stream: EventStream) -> None:
        """Save an event stream's name, description and fields."""
        _event_streams.update(self._transport, stream)

    def event_stream_delete(self, stream: EventStream | str | int) -> None:
        """Delete an event stream and its events."""
        _event_streams.delete(self._transport, stream)

    def event_stream_create(self, stream: EventStream, folder: Folder | str | int) -> EventStream:
        """Create ``stream`` in ``folder`` (a folder given by path is created if missing)."""
        return _event_streams.create(self._transport, stream, folder)

    def event_stream_info(self, stream: EventStream | str | int) -> EventStreamInfo:
        """The extent of an event stream: first start, last end, number of events."""
        return _event_streams.info(self._transport, stream)

    def event_stream_write(
        self, stream: EventStream | str | int, events: Sequence[Event]
    ) -> list[Event]:
        """Store ``events``; returns them, now carrying the ids the node gave them.

        An event read from this node (or returned here) is updated in place when written
        again; any other event is added.
        """
        return _event_streams.write(self._transport, stream, events, self._node_uuid)

    @overload
    def event_stream_read(
        self,
        stream: EventStream | str | int,
        start: int | None = None,
        end: int | None = None,
        json_filter: str | list[Any] | None = None,
        include_on_going_events: bool = True,
        block_size: None = None,
    ) -> Iterator[Event]: ...

    @overload
    def event_stream_read(
        self,
        stream: EventStream | str | int,
        start: int | None = None,
        end: int | None = None,
        json_filter: str | list[Any] | None = None,
        include_on_going_events: bool = True,
        *,
        block_size: int,
    ) -> Iterator[list[Event]]: ...

    def event_stream_read(
        self,
        stream: EventStream | str | int,
        start: int | None = None,
        end: int | None = None,
        json_filter: str | list[Any] | None = None,
        include_on_going_events: bool = True,
        block_size: int | None = None,
    ) -> Iterator[Event] | Iterator[list[Event]]:
        """Iterate over the events in ``[start, end)``, one by one, or in lists of up to
        ``block_size`` events when it is given.

        ``json_filter`` selects on content: OR-groups of AND-clauses ``[key, op, value]``
        with op in is/not/like/unlike (strings) or gt/gte/lt/lte/eq/neq (numbers), as a
        JSON string or the list itself.  ``include_on_going_events`` also yields events that
        started before ``start`` but had not ended by then.  The arguments are checked
        here; the node is asked page by page as the iteration goes.
        """
        pages = _event_streams.read_pages(
            self._transport,
            stream,
            start,
            end,
            json_filter,
            include_on_going_events,
            _event_streams.BLOCK_SIZE if block_size is None else block_size,
            self._node_uuid,
        )
        return itertools.chain.from_iterable(pages) if block_size is None else pages

    def event_stream_read_list(
        self,
        stream: EventStream | str | int,
        start: int | None = None,
        end: int | None = None,
        json_filter: str | list[Any] | None = None,
        include_on_going_events: bool = True,
        limit: int = 10_000,
    ) -> list[Event]:
        """The first ``limit`` events of ``event_stream_read`` as a list (warns if cut)."""
        require_count(limit, "limit")
        block_size = min(limit, _event_streams.BLOCK_SIZE)
        pages = self.event_stream_read(
            stream, start, end, json_filter, include_on_going_events, block_size=block_size
        )
        return _event_streams.first_events(pages, limit)

    def event_stream_read_dataframe(
        self,
        stream: EventStream | str | int,
        start: int | None = None,
        end: int | None = None,
        json_filter: str | list[Any] | None = None,
    ) -> pandas.DataFrame:
        """The events of ``event_stream_read`` (ongoing ones included) as a pandas DataFrame,
        read page by page: indexed by ``id``, with ``start`` and ``end`` (UTC, NaT for an
        event still going on) and one column per content key (see ``_tables``)."""
        pages = self.event_stream_read(
            stream, start, end, json_filter, block_size=_event_streams.BLOCK_SIZE
        )  # the arguments are checked here, before anything is sent
        return _tables.events_to_pandas(pages)

    def event_stream_count(
        self,
        stream: EventStream | str | int,
        start: int | None = None,
        end: int | None = None,
        json_filter: str | list[Any] | None = None,
        include_on_going_events: bool = True,
    ) -> int:
        """How many events ``event_stream_read`` would yield with these arguments."""
        return _event_streams.count(
            self._transport, stream, start, end, json_filter, include_on_going_events
        )

    def event_stream_remove(
        self,
        stream: EventStream | str | int,
        start: int | None = None,
        end: int | None = None,
        json_filter: str | list[Any] | None = None,
    ) -> None:
        """Remove the events in ``[start, end)`` matching ``json_filter`` (all by default)."""
        _event_streams.remove(self._transport, stream, start, end, json_filter)

    def event_copy(
        self,
        stream: EventStream | str | int,
        dest_node: Node,
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
        return copy_events(self, stream, _other_node(dest_node), dest_path, start=start, end=end)

    # -- annotations ----------------------------------------------------------------

    def annotation_create(
        self, annotation: Annotation, stream: DataStream | str | int
    ) -> Annotation:
        """Attach ``annotation`` to a data stream; returns it as stored (with its id)."""
        return _annotations.create(self._transport, annotation, stream)

    def annotation_get(
        self, stream: DataStream | str | int, start: int | None = None, end: int | None = None
    ) -> list[Annotation]:
        """A stream's annotations, or those overlapping ``[start, end)``."""
        return _annotations.get(self._transport, stream, start, end)

    def annotation_update(self, annotation: Annotation) -> Annotation:
        """Save an annotation's title and content (its times cannot change)."""
        return _annotations.update(self._transport, annotation)

    def annotation_delete(self, annotation: Annotation | int) -> None:
        """Delete one annotation, by object or id."""
        _annotations.delete(self._transport, annotation)

    def annotation_info(self, stream: DataStream | str | int) -> AnnotationInfo:
        """How many annotations a stream has and the span they cover."""
        return _annotations.info(self._transport, stream)

    # -- modules, proxies, masters and followers ------------------------------------

    def module_list(self, statistics: bool = False) -> list[Module]:
        """The node's modules; ``statistics=True`` adds CPU and memory use (takes ~0.5 s)."""
        return _node_admin.module_list(self._transport, statistics)

    def module_get(self, module: Module | str | int, statistics: bool = False) -> Module:
        """One module, by object, name or id."""
        return _node_admin.module_get(self._transport, module, statistics)

    def module_logs(self, module: Module | str | int) -> list[str]:
        """A module's recent output lines (stdout and stderr)."""
        return _node_admin.module_logs(self._transport, module)

    def proxy_list(self) -> list[Proxy]:
        """The URLs the node proxies."""
        return _node_admin.proxy_list(self._transport)

    def proxy_get(self, proxy: Proxy | str | int) -> Proxy:
        """One proxy, by object, name or id."""
        return _node_admin.proxy_get(self._transport, proxy)

    def master_add(
        self,
        master_type: str,
        identifier: str,
        lumen_parameters: dict[str, Any] | None = None,
        api_key: str | None = None,
    ) -> Master:
        """Let a user (``user``) or node (``joule``/``lumen``) control this node.

        For a user the returned ``Master.key`` is the user's new API key (or ``api_key``).
        """
        return _node_admin.master_add(
            self._transport, master_type, identifier, lumen_parameters, api_key
        )

    def master_list(self) -> list[Master]:
        """The users and nodes that may control this node (their keys are never listed)."""
        return _node_admin.master_list(self._transport)

    def master_delete(self, master: Master | str, name: str | None = None) -> None:
        """Revoke a master's access: ``master_delete(master)`` or ``(master_type, name)``."""
        _node_admin.master_delete(self._transport, master, name)

    def follower_list(self) -> list[Follower]:
        """The nodes this node may control."""
        return _node_admin.follower_list(self._transport)

    def follower_delete(self, follower: Follower | str) -> None:
        """Forget a follower (by object or name); its API key stays valid on it."""
        _node_admin.follower_delete(self._transport, follower)

    # -- database -------------------------------------------------------------------

    def db_connection_info(self) -> ConnectionInfo:
        """How to reach the node's database; a loopback host is replaced by the node's."""
        return _database.connection_info(self._transport)

    def db_connect(self) -> sqlalchemy.engine.Engine:
        """A SQLAlchemy engine on the node's database (needs ``joule-sync[db]``)."""
        return _database.connect(self._transport)

    master_remove = master_delete
    follower_remove = follower_delete


def _other_node(node: object) -> Node:
    """The node at the other end of a copy, checked before anything is sent."""
    if not isinstance(node, Node):
        raise InvalidArgument(f"dest_node must be a joule_sync.Node, not {node!r}")
    return node
