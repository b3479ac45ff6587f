"""The blocking ``Node``: every upstream ``joule.api.Node`` method on one ``httpx.Client``.

A script written for the upstream asyncio client ports by deleting ``await``: the method
names, arguments, defaults and return types are upstream's.  What differs is underneath:
one keep-alive connection pool instead of a connection per request, settable timeouts,
retries that only repeat what is safe to repeat, and errors that say what the node said.

Bulk data (``data_read``, ``data_read_array``, ``data_subscribe``, ``data_write``) is layered
on top of this class in ``_pipes``; it relies on ``_http``, ``_request``,
``_raise_for_status``, ``_stream_spec`` and ``data_stream_get``.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import logging
import numbers
import os
import re
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, TypeVar, overload
from urllib.parse import urlsplit

import httpx
import numpy as np
import numpy.typing as npt

from . import _frames
from ._bulk import iter_chunks, read_array, read_partitioned
from ._errors import (
    ApiError,
    ConfigurationError,
    ConnectionFailed,
    InvalidArgument,
    StreamNotFound,
)
from ._export import ExportResult, export
from ._models import (
    DATATYPES,
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
    NodeJSON,
    Proxy,
    _validate_event_fields,
    intervals_from_json,
)
from ._pipes import ReadPipe, WritePipe, flatten_rows, open_read_pipe
from .codec import Decoded

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow
    import sqlalchemy

log = logging.getLogger("joule_sync")

Spec = dict[str, str | int]
Params = dict[str, str | int]
_Table = TypeVar("_Table")
_Model = TypeVar("_Model", DataStream, EventStream, Folder, Module, Proxy, Annotation)

EVENT_BLOCK_SIZE = 1000
"""Events per request when reading (upstream's block size)."""
EVENT_WRITE_BLOCK = 500
"""Events per POST when writing (upstream's block size)."""

# 404 reasons that mean "no such stream or folder" (StreamNotFound rather than ApiError)
_NOT_FOUND_REASONS = frozenset({"stream does not exist", "folder does not exist"})
_FILTER_OPS = frozenset({"is", "not", "like", "unlike", "gt", "gte", "lt", "lte", "eq", "neq"})
# master types as upstream and Master spell them -> as the wire does, and back
_MASTER_TYPES = {
    "user": "user",
    "joule": "joule",
    "joule_node": "joule",
    "lumen": "lumen",
    "lumen_node": "lumen",
}
_MASTER_MODEL_TYPES = {"user": "user", "joule": "joule_node", "lumen": "lumen_node"}
# (lowest, highest, in words) of the µs times the node takes: any int64 in a data read, and
# 0001-01-01 to 9999-12-31 (UTC) where it makes a datetime of them
INT64_RANGE = (-(2**63), 2**63 - 1, "the int64 range")
DATED_RANGE = (-62_135_596_800_000_000, 253_402_214_400_000_000, "0001-01-01..9999-12-31 UTC")


try:
    __version__ = version("joule-sync")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"


TCP_KEEPALIVE = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)] + [
    (socket.IPPROTO_TCP, option, seconds_or_count)
    for name, seconds_or_count in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 15), ("TCP_KEEPCNT", 4))
    if (option := getattr(socket, name, None)) is not None
]
"""Socket options of every TCP connection to a node.  A subscription waits on a quiet
connection without a read timeout: keepalive probes find a node that vanished (a reboot, a
dropped NAT entry) within about two minutes, where the wait would otherwise last forever."""


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

    Use it as a context manager, or ``close()`` it, to release its connections.
    """

    _backoff_base = 0.5
    """Seconds before the first retry; each further retry waits twice as long."""

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
    ) -> None:
        if not isinstance(url, str) or not re.match(r"https?://[^/]", url):
            raise ConfigurationError(
                f"the node URL must start with http:// or https://, not {url!r}"
            )
        if uds is None and not key:
            raise ConfigurationError(
                "an API key is required (only a node's UNIX socket works without one)"
            )
        _require_count(retries, "retries", minimum=0, error=ConfigurationError)
        self.url = url.rstrip("/")
        self.name = name if name is not None else urlsplit(self.url).netloc
        self._uds = None if uds is None else os.fspath(uds)
        self._retries = retries
        self._uuid: str | None = None
        headers = {"User-Agent": f"joule-sync/{__version__}"}
        if key:
            headers["X-API-KEY"] = key
        tls = self._tls_setting(ca_file, verify)

        def connect() -> httpx.Client:
            return httpx.Client(
                base_url=self.url,
                headers=headers,
                timeout=httpx.Timeout(timeout, connect=connect_timeout),
                transport=httpx.HTTPTransport(
                    verify=tls, uds=self._uds, socket_options=None if self._uds else TCP_KEEPALIVE
                ),
            )

        self._connect = connect
        self._client: httpx.Client | None = connect()
        self._client_lock = threading.Lock()
        # read pipes still open: closing the node ends their requests
        self._read_pipes: weakref.WeakSet[ReadPipe] = weakref.WeakSet()

    def _tls_setting(
        self, ca_file: str | os.PathLike[str] | None, verify: bool
    ) -> ssl.SSLContext | bool:
        if ca_file is not None:
            if not verify:
                raise ConfigurationError("ca_file is given but verify=False turns checks off")
            try:
                return ssl.create_default_context(cafile=os.fspath(ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(f"cannot load the CA file {ca_file}: {exc}") from exc
        if verify:
            # the system's CAs, as upstream's aiohttp uses (httpx alone would use certifi's)
            return ssl.create_default_context()
        if self.url.startswith("https://"):
            log.warning(
                "TLS certificate checks are OFF for %s: anyone on the path can read the "
                "API key and the data; pass ca_file instead of verify=False",
                self.url,
            )
        return False

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
        stay readable.
        """
        for pipe in list(self._read_pipes):
            pipe.close_with_node()
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    @property
    def _http(self) -> httpx.Client:
        """The connection pool, opened again after ``close()``."""
        with self._client_lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    # -- plumbing ---------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        content: bytes | Iterator[bytes] | None = None,
        retry: bool | None = None,
        stream: bool = False,
        no_read_timeout: bool = False,
    ) -> httpx.Response:
        """Send one request and return the response, raising the mapped error on failure.

        ``retry`` (default: only for GET) repeats the request after connection errors and
        statuses above 500 (a proxy's 502, a restarting node's 503), waiting
        ``_backoff_base * 2**n`` seconds.  A 500 is a bug on the node and is raised at once,
        as upstream does.  ``stream=True`` returns before the body is read (the caller
        closes the response); ``no_read_timeout`` lets the node stay silent for as long as
        it likes, as a live subscription may.
        """
        if retry is None:
            retry = method == "GET"
        timeout = self._http.timeout
        if no_read_timeout:
            timeout = httpx.Timeout(
                connect=timeout.connect, read=None, write=timeout.write, pool=timeout.pool
            )
        request = self._http.build_request(
            method, path, params=params, json=json, content=content, timeout=timeout
        )
        attempt = 0
        while True:
            can_retry = retry and attempt < self._retries
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if not can_retry:
                    raise ConnectionFailed(
                        f"{method} {path}: no answer from the node at {self.url} "
                        f"({type(exc).__name__}: {exc})"
                    ) from exc
                self._wait_to_retry(attempt, method, path, type(exc).__name__)
            else:
                if response.is_success:
                    return response
                if not (response.status_code > 500 and can_retry):
                    try:  # an error body is short: read it for the message
                        response.read()
                    except httpx.TransportError as exc:
                        raise ConnectionFailed(
                            f"{method} {path}: the connection broke while the node answered "
                            f"{response.status_code} ({type(exc).__name__}: {exc})"
                        ) from exc
                    finally:
                        response.close()
                    try:
                        self._raise_for_status(response)
                    except StreamNotFound as exc:
                        raise _named(exc, params, json) from None
                response.close()
                self._wait_to_retry(attempt, method, path, str(response.status_code))
            attempt += 1

    def _wait_to_retry(self, attempt: int, method: str, path: str, why: str) -> None:
        delay = self._backoff_base * 2**attempt
        log.warning(
            "%s %s failed (%s), retry %d/%d in %.1f s",
            method,
            path,
            why,
            attempt + 1,
            self._retries,
            delay,
        )
        time.sleep(delay)

    def _raise_for_status(self, response: httpx.Response) -> None:
        """Raise ``ApiError`` (``StreamNotFound`` for a missing stream or folder) on errors.

        The node words errors three ways (PROTOCOL.md §2): the reason in the status line
        and ``"<code>: reason"`` as the body, the bare reason as the body, or JSON
        ``{"error": reason}``; a 500 carries a Python traceback.  All give ``message`` =
        the reason.  Works on a streamed response once it has been ``read()``.
        """
        if response.is_success:
            return
        status = response.status_code
        text = response.text.strip()
        message = text
        if text.startswith("{"):
            try:
                body = json.loads(text)
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("error"), str):
                message = body["error"]
        message = message.removeprefix(f"{status}: ")
        if "Traceback (most recent call last)" in message:
            last_line = message.splitlines()[-1].strip()
            message = f"{response.reason_phrase} ({last_line})"
        if status == 403:
            message = f"{message or 'Forbidden'}: the node did not accept the API key"
        message = message or response.reason_phrase or "error"
        if status == 404 and message in _NOT_FOUND_REASONS:
            raise StreamNotFound(message, status)
        raise ApiError(message, status)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a successful request (the node must answer JSON).

        Every JSON answer of a node is an object or a list; what is inside is checked by
        the models that read it.
        """
        response = self._request(method, path, **kwargs)
        if not response.headers.get("content-type", "").startswith("application/json"):
            raise ApiError(
                f"{method} {path}: expected JSON from the node, got {response.text[:200]!r}",
                response.status_code,
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise ApiError(
                f"{method} {path}: the node sent invalid JSON: {response.text[:200]!r}",
                response.status_code,
            ) from exc
        if not isinstance(body, dict | list):
            raise ApiError(
                f"{method} {path}: expected a JSON object or list from the node, "
                f"got {response.text[:200]!r}",
                response.status_code,
            )
        return body

    def _ok(self, method: str, path: str, **kwargs: Any) -> None:
        """Send a request whose answer is only success (``ok``, empty or any JSON)."""
        response = self._request(method, path, **kwargs)
        if response.headers.get("content-type", "").startswith("application/json"):
            return
        if response.text.strip().lower() not in ("ok", ""):
            raise ApiError(
                f"{method} {path}: unexpected answer from the node: {response.text[:200]!r}",
                response.status_code,
            )

    def _stream_spec(self, stream: DataStream | str | int) -> Spec:
        """``{"id": n}`` or ``{"path": p}`` for a data stream given any way upstream allows."""
        return _spec(stream, DataStream, "data stream")

    def _node_uuid(self) -> str:
        """The node's uuid, which marks events read from it (fetched once)."""
        if self._uuid is None:
            version = NodeJSON(self._json("GET", "/version.json"), "version")
            self._uuid = version.required("uuid", str)
        return self._uuid

    # -- node -------------------------------------------------------------------------

    def info(self) -> NodeInfo:
        """The node's version, name, uuid and disk use."""
        version_json = self._json("GET", "/version.json")
        return NodeInfo.from_json(version_json, self._json("GET", "/dbinfo"))

    # -- folders ----------------------------------------------------------------------

    def folder_root(self) -> Folder:
        """The root folder with the whole tree below it."""
        return Folder.from_json(self._json("GET", "/folders.json"))

    def folder_get(self, folder: Folder | str | int) -> Folder:
        """One folder (and its tree), by object, path or id."""
        return Folder.from_json(
            self._json("GET", "/folder.json", params=_spec(folder, Folder, "folder"))
        )

    def folder_move(self, source: Folder | str | int, destination: Folder | str | int) -> None:
        """Move ``source`` into ``destination``, which is created if it does not exist."""
        body = {
            **_spec(source, Folder, "source folder", prefix="src_"),
            **_spec(destination, Folder, "destination folder", prefix="dest_"),
        }
        self._ok("PUT", "/folder/move.json", json=body)

    def folder_update(self, folder: Folder) -> None:
        """Save a folder's ``name`` and ``description`` (the only attributes that change)."""
        _require_model(folder, Folder, "folder")
        _require_text(folder.name, "folder name")
        self._ok("PUT", "/folder.json", json={"id": folder.id, "folder": folder.to_json()})

    def folder_delete(self, folder: Folder | str | int, recursive: bool = False) -> None:
        """Delete a folder; one with sub-folders needs ``recursive=True``."""
        params = {**_spec(folder, Folder, "folder"), "recursive": int(bool(recursive))}
        self._ok("DELETE", "/folder.json", params=params)

    # -- data streams -----------------------------------------------------------------

    def data_stream_get(self, stream: DataStream | str | int) -> DataStream:
        """One data stream, by object, path or id."""
        params = {**self._stream_spec(stream), "no-info": ""}
        return DataStream.from_json(self._json("GET", "/stream.json", params=params))

    def data_stream_move(self, stream: DataStream | str | int, folder: Folder | str | int) -> None:
        """Move a stream into ``folder``, which is created if it does not exist."""
        body = {
            **_spec(stream, DataStream, "data stream", prefix="src_"),
            **_spec(folder, Folder, "destination folder", prefix="dest_"),
        }
        self._ok("PUT", "/stream/move.json", json=body)

    def data_stream_update(self, stream: DataStream) -> None:
        """Save a stream's attributes and its elements' (not its datatype or width)."""
        _require_model(stream, DataStream, "data stream")
        _check_data_stream(stream)
        self._ok("PUT", "/stream.json", json={"id": stream.id, "stream": stream.to_json()})

    def data_stream_delete(self, stream: DataStream | str | int) -> None:
        """Delete a stream and all its data."""
        self._ok("DELETE", "/stream.json", params=self._stream_spec(stream))

    def data_stream_create(self, stream: DataStream, folder: Folder | str | int) -> DataStream:
        """Create ``stream`` in ``folder`` (a folder given by path is created if missing)."""
        if not isinstance(stream, DataStream):
            raise InvalidArgument(
                f"data_stream_create needs a DataStream, not {type(stream).__name__}"
            )
        _check_data_stream(stream)
        body = {"stream": stream.to_json(), **_spec(folder, Folder, "folder", prefix="dest_")}
        return DataStream.from_json(self._json("POST", "/stream.json", json=body))

    def data_stream_info(self, stream: DataStream | str | int) -> DataStreamInfo:
        """The extent of a stream's data (rows and bytes are the node's estimates)."""
        data = self._json("GET", "/stream.json", params=self._stream_spec(stream))
        return DataStreamInfo.from_json(_data_info(data, "DataStream"))

    def data_stream_annotation_delete(
        self, stream: DataStream | str | int, start: int | None = None, end: int | None = None
    ) -> None:
        """Delete a stream's annotations, or only those within ``[start, end)``."""
        params = {
            **_spec(stream, DataStream, "data stream", prefix="stream_"),
            **_time_range(start, end),
        }
        self._ok("DELETE", "/stream/annotations.json", params=params)

    # -- data -------------------------------------------------------------------------

    def data_delete(
        self, stream: DataStream | str | int, start: int | None = None, end: int | None = None
    ) -> None:
        """Delete a stream's rows in ``[start, end)`` (all of them by default).

        An interval break is left where the rows were.
        """
        params = {**self._stream_spec(stream), **_time_range(start, end)}
        self._ok("DELETE", "/data", params=params)

    def data_intervals(
        self, stream: DataStream | str | int, start: int | None = None, end: int | None = None
    ) -> list[list[int]]:
        """The ``[start, end]`` of each run of data without a break, within the bounds."""
        params = {**self._stream_spec(stream), **_time_range(start, end)}
        return intervals_from_json(self._json("GET", "/data/intervals.json", params=params))

    def data_consolidate(
        self,
        stream: DataStream | str | int,
        max_gap: int,
        start: int | None = None,
        end: int | None = None,
    ) -> int:
        """Remove interval breaks where the gap is at most ``max_gap`` µs; returns how many."""
        gap = _timestamp(max_gap, "max_gap", dated=False)
        if gap <= 0:
            raise InvalidArgument(f"max_gap must be > 0 µs, not {max_gap!r}")
        params = {**self._stream_spec(stream), **_time_range(start, end), "max_gap": gap}
        answer = self._json("POST", "/data/consolidate.json", params=params)
        return NodeJSON(answer, "consolidate").required("num_consolidated", int)

    def data_decimate(self, stream: DataStream | str | int) -> None:
        """Rebuild all of a stream's decimation levels from its rows."""
        self._ok("POST", "/data/decimate.json", params=self._stream_spec(stream))

    def data_drop_decimations(self, stream: DataStream | str | int) -> None:
        """Drop a stream's decimation levels (decimated reads are empty until rebuilt)."""
        self._ok("DELETE", "/data/decimate.json", params=self._stream_spec(stream))

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
        params = self._read_params(stream, start, end, max_rows)
        return self._pipe(open_read_pipe(self, params, stream=self._model_of(stream)))

    def data_subscribe(self, stream: DataStream | str | int) -> ReadPipe:
        """A pipe of live rows as the node receives them; close it to end the subscription."""
        params = self._stream_spec(stream)
        return self._pipe(
            open_read_pipe(self, params, subscribe=True, stream=self._model_of(stream))
        )

    def _model_of(self, stream: DataStream | str | int) -> DataStream | Callable[[], DataStream]:
        """The stream itself, or how to get it when a pipe's ``stream`` is asked for."""
        if isinstance(stream, DataStream):
            return stream
        return lambda: self.data_stream_get(stream)

    def _pipe(self, pipe: ReadPipe) -> ReadPipe:
        self._read_pipes.add(pipe)
        return pipe

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
        gap = _timestamp(merge_gap, "merge_gap", dated=False)
        if gap < 0:
            raise InvalidArgument(f"merge_gap must be >= 0 µs, not {merge_gap!r}")
        replaced = _time_range(start, end)  # checked before the node is asked anything
        target = self.data_stream_get(stream)
        if isinstance(stream, DataStream) and stream.layout != target.layout:
            raise InvalidArgument(
                f"data stream {stream.name!r} is {stream.layout} here but {target.layout} on "
                "the node"
            )
        if replaced:
            self.data_delete(target, start, end)
        params: Params = {**self._stream_spec(target), "merge-gap": gap}
        return WritePipe(self, params, stream=target)

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
        rows = self._read_rows(stream, start, end, max_rows, partitions)[0].data
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
        """The range as a pandas DataFrame (see ``joule_sync._frames`` for the columns)."""
        return self._read_table(_frames.to_pandas, stream, start, end, max_rows, partitions)

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
        return self._read_table(_frames.to_arrow, stream, start, end, max_rows, partitions)

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
        return self._read_table(_frames.to_polars, stream, start, end, max_rows, partitions)

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
        _require_count(rows, "rows")
        params = self._read_params(stream, start, end, None)  # checked now, read when iterated
        return iter_chunks(_blocks(self, params), rows)

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
        return _numbered_frames(chunks, [e.name for e in self.data_stream_get(stream).elements])

    def export(
        self,
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
        """Stream the range to a CSV, Parquet, ``.npy`` or HDF5 file with bounded memory.

        The format follows the suffix unless ``format`` says otherwise; ``elements`` picks
        columns by name or index; ``resume`` continues a partial file after its last row.
        """
        _time_range(start, end, dated=False)  # before the node is asked, or a file made
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
        )

    def _read_params(
        self, stream: DataStream | str | int, start: object, end: object, max_rows: object
    ) -> Params:
        params: Params = {**self._stream_spec(stream), **_time_range(start, end, dated=False)}
        if max_rows is not None:
            params["max-rows"] = _require_count(max_rows, "max_rows")
        return params

    def _read_rows(
        self,
        stream: DataStream | str | int,
        start: int | None,
        end: int | None,
        max_rows: int | None,
        partitions: int,
    ) -> tuple[Decoded, int]:
        """Rows and decimation factor of a range, read whole or in parallel pieces."""
        _require_count(partitions, "partitions")
        params = self._read_params(stream, start, end, max_rows)
        if partitions == 1:
            return read_array(self, params)
        if max_rows is not None:
            raise InvalidArgument(
                "partitions cannot be combined with max_rows: each piece would be decimated "
                "on its own"
            )
        spec = self._stream_spec(stream)
        # the pieces' bounds are computed from these: integers, as the node requires
        bounds = _time_range(start, end)
        first, last = bounds.get("start"), bounds.get("end")
        intervals = self.data_intervals(stream, first, last)
        return read_partitioned(self, spec, intervals, first, last, partitions), 1

    def _read_table(
        self,
        convert: Callable[[npt.NDArray[np.void], list[int], list[str], bool], _Table],
        stream: DataStream | str | int,
        start: int | None,
        end: int | None,
        max_rows: int | None,
        partitions: int,
    ) -> _Table:
        decoded, factor = self._read_rows(stream, start, end, max_rows, partitions)
        names = [e.name for e in self.data_stream_get(stream).elements]
        return convert(decoded.data, decoded.interval_ends, names, factor > 1)

    # -- event streams ----------------------------------------------------------------

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
        spec = _spec(stream, EventStream, "event stream")
        try:
            return EventStream.from_json(self._json("GET", "/event.json", params=spec))
        except StreamNotFound:
            if not create or not isinstance(stream, str):
                raise
            folder, _, name = stream.rpartition("/")
        new_stream = EventStream(
            name,
            description,
            chunk_duration=chunk_duration,
            chunk_duration_us=chunk_duration_us,
            event_fields=event_fields,
        )
        return self.event_stream_create(new_stream, folder or "/")

    def event_stream_move(
        self, stream: EventStream | str | int, folder: Folder | str | int
    ) -> None:
        """Move an event stream into ``folder``, which is created if it does not exist."""
        body = {
            **_spec(stream, EventStream, "event stream", prefix="src_"),
            **_spec(folder, Folder, "destination folder", prefix="dest_"),
        }
        self._ok("PUT", "/event/move.json", json=body)

    def event_stream_update(self, stream: EventStream) -> None:
        """Save an event stream's name, description and fields."""
        _require_model(stream, EventStream, "event stream")
        _require_text(stream.name, "event stream name")
        _check_event_fields(stream.event_fields)
        self._ok("PUT", "/event.json", json={"id": stream.id, "stream": stream.to_json()})

    def event_stream_delete(self, stream: EventStream | str | int) -> None:
        """Delete an event stream and its events."""
        self._ok("DELETE", "/event.json", params=_spec(stream, EventStream, "event stream"))

    def event_stream_create(self, stream: EventStream, folder: Folder | str | int) -> EventStream:
        """Create ``stream`` in ``folder`` (a folder given by path is created if missing)."""
        if not isinstance(stream, EventStream):
            raise InvalidArgument(
                f"event_stream_create needs an EventStream, not {type(stream).__name__}"
            )
        _require_text(stream.name, "event stream name")
        _check_event_fields(stream.event_fields)
        body = {"stream": stream.to_json(), **_spec(folder, Folder, "folder", prefix="dest_")}
        return EventStream.from_json(self._json("POST", "/event.json", json=body))

    def event_stream_info(self, stream: EventStream | str | int) -> EventStreamInfo:
        """The extent of an event stream: first start, last end, number of events."""
        data = self._json("GET", "/event.json", params=_spec(stream, EventStream, "event stream"))
        return EventStreamInfo.from_json(_data_info(data, "EventStream"))

    def event_stream_write(
        self, stream: EventStream | str | int, events: Sequence[Event]
    ) -> list[Event]:
        """Store ``events``; returns them, now carrying the ids the node gave them.

        An event read from this node (or returned here) is updated in place when written
        again; any other event is added.
        """
        spec = _spec(stream, EventStream, "event stream")
        if not isinstance(events, Iterable):
            raise InvalidArgument(f"events must be a list of Event objects, not {events!r}")
        events = list(events)
        for event in events:
            if not isinstance(event, Event):
                raise InvalidArgument(f"events must be Event objects, not {event!r}")
            _check_event_times(event)
        uuid = self._node_uuid()
        for first in range(0, len(events), EVENT_WRITE_BLOCK):
            block = events[first : first + EVENT_WRITE_BLOCK]
            body = {**spec, "events": [e.to_json(destination_node_uuid=uuid) for e in block]}
            answer = NodeJSON(self._json("POST", "/event/data.json", json=body), "event write")
            stored = answer.list_of("events", Event.from_json)
            if len(stored) != len(block):
                raise ApiError(
                    f"the node's event write JSON lists {len(stored)} events for the "
                    f"{len(block)} sent"
                )
            for event, saved in zip(block, stored, strict=True):
                event.id = saved.id
                event.event_stream_id = saved.event_stream_id
                event.node_uuid = uuid
        return events

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
        if block_size is not None:
            _require_count(block_size, "block_size")
        params: Params = {
            **_event_query(stream, start, end, json_filter),
            "limit": block_size or EVENT_BLOCK_SIZE,
            "return-subset": 1,
            "include-ongoing-events": int(bool(include_on_going_events)),
        }
        pages = self._event_pages(stream, params)
        if block_size is None:
            return itertools.chain.from_iterable(pages)
        return pages

    def _event_pages(
        self, stream: EventStream | str | int, params: Params
    ) -> Iterator[list[Event]]:
        """Page through ``GET /event/data.json``, each page starting where the last ended.

        The next page starts *at* the last start time seen, not after it, and drops the
        events already yielded: events sharing a start time across a page boundary are
        all read (upstream's ``last + 1`` skips them).  A page that is full and cannot move
        forward means more than ``limit`` events share one start time; those beyond the
        page cannot be reached and a warning says so.
        """
        first_start = params.get("start")
        end = params.get("end")
        if first_start is None and end is not None:
            # with an end but no start the node returns the *last* events before end
            first_start = self.event_stream_info(stream).start
            if first_start is None:
                return
            params["start"] = first_start
        uuid = self._node_uuid()
        limit = int(params["limit"])
        seen: set[int | None] = set()
        while True:
            answer = NodeJSON(self._json("GET", "/event/data.json", params=params), "event read")
            page = answer.list_of("events", lambda e: Event.from_json(e, uuid))
            events = [e for e in page if e.id not in seen]
            if events:
                yield events
            if len(page) < limit:
                return
            current = params.get("start")
            next_start = page[-1].start_time
            if first_start is not None:  # ongoing events may start before the range
                next_start = max(next_start, int(first_start))
            if current is not None and next_start <= int(current):
                log.warning(
                    "more than %d events start at %d: some of them are skipped; "
                    "read with a larger block_size",
                    limit,
                    next_start,
                )
                next_start = int(current) + 1
                seen = set()
            else:
                seen = {e.id for e in page if e.start_time == next_start}
            if end is not None and next_start >= int(end):
                return
            params["start"] = next_start
            params["include-ongoing-events"] = 0  # the first page had them all

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
        _require_count(limit, "limit")
        events: list[Event] = []
        for block in self.event_stream_read(
            stream,
            start,
            end,
            json_filter,
            include_on_going_events,
            block_size=min(limit, EVENT_BLOCK_SIZE),
        ):
            events += block
            if len(events) >= limit:
                log.warning("read limit of %d events reached before the end of the stream", limit)
                break
        return events[:limit]

    def event_stream_count(
        self,
        stream: EventStream | str | int,
        start: int | None = None,
        end: int | None = None,
        json_filter: str | list[Any] | None = None,
        include_on_going_events: bool = True,
    ) -> int:
        """How many events ``event_stream_read`` would yield with these arguments."""
        params = {
            **_event_query(stream, start, end, json_filter),
            "include-ongoing-events": int(bool(include_on_going_events)),
        }
        answer = NodeJSON(self._json("GET", "/event/data/count.json", params=params), "event count")
        return answer.required("count", int)

    def event_stream_remove(
        self,
        stream: EventStream | str | int,
        start: int | None = None,
        end: int | None = None,
        json_filter: str | list[Any] | None = None,
    ) -> None:
        """Remove the events in ``[start, end)`` matching ``json_filter`` (all by default)."""
        params = _event_query(stream, start, end, json_filter)
        self._ok("DELETE", "/event/data.json", params=params)

    # -- annotations ------------------------------------------------------------------

    def annotation_create(
        self, annotation: Annotation, stream: DataStream | str | int
    ) -> Annotation:
        """Attach ``annotation`` to a data stream; returns it as stored (with its id)."""
        if not isinstance(annotation, Annotation):
            raise InvalidArgument(
                f"annotation_create needs an Annotation, not {type(annotation).__name__}"
            )
        _require_text(annotation.title, "annotation title")
        times = _time_range(_timestamp(annotation.start, "annotation start"), annotation.end)
        body = {
            "title": annotation.title,
            "content": annotation.content,
            "start": times["start"],
            "end": times.get("end"),
            **_spec(stream, DataStream, "data stream", prefix="stream_"),
        }
        return Annotation.from_json(self._json("POST", "/annotation.json", json=body))

    def annotation_get(
        self, stream: DataStream | str | int, start: int | None = None, end: int | None = None
    ) -> list[Annotation]:
        """A stream's annotations, or those overlapping ``[start, end)``."""
        params = {
            **_spec(stream, DataStream, "data stream", prefix="stream_"),
            **_time_range(start, end),
        }
        return [
            Annotation.from_json(a) for a in self._json("GET", "/annotations.json", params=params)
        ]

    def annotation_update(self, annotation: Annotation) -> Annotation:
        """Save an annotation's title and content (its times cannot change)."""
        _require_model(annotation, Annotation, "annotation")
        _require_text(annotation.title, "annotation title")
        body = {"id": annotation.id, "title": annotation.title, "content": annotation.content}
        return Annotation.from_json(self._json("PUT", "/annotation.json", json=body))

    def annotation_delete(self, annotation: Annotation | int) -> None:
        """Delete one annotation, by object or id."""
        params = _spec(annotation, Annotation, "annotation", name_key=None)
        self._ok("DELETE", "/annotation.json", params=params)

    def annotation_info(self, stream: DataStream | str | int) -> AnnotationInfo:
        """How many annotations a stream has and the span they cover."""
        params = _spec(stream, DataStream, "data stream", prefix="stream_")
        return AnnotationInfo.from_json(self._json("GET", "/annotations/info.json", params=params))

    # -- modules and proxies ----------------------------------------------------------

    def module_list(self, statistics: bool = False) -> list[Module]:
        """The node's modules; ``statistics=True`` adds CPU and memory use (takes ~0.5 s)."""
        params = {"statistics": int(bool(statistics))}
        return [Module.from_json(m) for m in self._json("GET", "/modules.json", params=params)]

    def module_get(self, module: Module | str | int, statistics: bool = False) -> Module:
        """One module, by object, name or id."""
        params = {
            **_spec(module, Module, "module", name_key="name"),
            "statistics": int(bool(statistics)),
        }
        return Module.from_json(self._json("GET", "/module.json", params=params))

    def module_logs(self, module: Module | str | int) -> list[str]:
        """A module's recent output lines (stdout and stderr)."""
        params = _spec(module, Module, "module", name_key="name")
        logs: list[str] = self._json("GET", "/module/logs.json", params=params)
        return logs

    def proxy_list(self) -> list[Proxy]:
        """The URLs the node proxies."""
        return [Proxy.from_json(p) for p in self._json("GET", "/proxies.json")]

    def proxy_get(self, proxy: Proxy | str | int) -> Proxy:
        """One proxy, by object, name or id."""
        params = _spec(proxy, Proxy, "proxy", name_key="name")
        return Proxy.from_json(self._json("GET", "/proxy.json", params=params))

    # -- masters and followers --------------------------------------------------------

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
        wire_type = _master_type(master_type)
        _require_text(identifier, "master identifier")
        body = {
            "master_type": wire_type,
            "identifier": identifier,
            "lumen_params": lumen_parameters,
            "api_key": api_key,
        }
        answer = NodeJSON(self._json("POST", "/master.json", json=body), "master")
        # only a user gets a key; the node answers other types with its name alone
        key = answer.required("key", str) if wire_type == "user" else None
        return Master(_MASTER_MODEL_TYPES[wire_type], identifier, key=key)

    def master_list(self) -> list[Master]:
        """The users and nodes that may control this node (their keys are never listed)."""
        return [Master.from_json(m) for m in self._json("GET", "/masters.json")]

    def master_delete(self, master: Master | str, name: str | None = None) -> None:
        """Revoke a master's access: ``master_delete(master)`` or ``(master_type, name)``."""
        if isinstance(master, Master):
            master_type, name = master.master_type, master.name
        else:
            master_type = master
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgument("master_delete needs a Master, or a master type and a name")
        params = {"master_type": _master_type(master_type), "name": name}
        self._ok("DELETE", "/master.json", params=params)

    master_remove = master_delete

    def follower_list(self) -> list[Follower]:
        """The nodes this node may control."""
        return [Follower.from_json(f) for f in self._json("GET", "/followers.json")]

    def follower_delete(self, follower: Follower | str) -> None:
        """Forget a follower (by object or name); its API key stays valid on it."""
        name = follower.name if isinstance(follower, Follower) else follower
        _require_text(name, "follower name")
        self._ok("DELETE", "/follower.json", params={"name": name})

    follower_remove = follower_delete

    # -- database ---------------------------------------------------------------------

    def db_connection_info(self) -> ConnectionInfo:
        """How to reach the node's database; a loopback host is replaced by the node's."""
        info = ConnectionInfo.from_json(self._json("GET", "/db/connection.json"))
        if _is_loopback(info.host):
            info.host = urlsplit(self.url).hostname or info.host
        return info

    def db_connect(self) -> sqlalchemy.engine.Engine:
        """A SQLAlchemy engine on the node's database (needs ``joule-sync[db]``)."""
        try:
            import sqlalchemy
        except ImportError as exc:
            raise ConfigurationError(
                "db_connect needs SQLAlchemy and psycopg: pip install 'joule-sync[db]'"
            ) from exc
        info = self.db_connection_info()
        # psycopg 3 by name: SQLAlchemy 2.0 and 2.1 both have it, but pick different drivers
        # for a bare postgresql://
        url = sqlalchemy.engine.URL.create(
            "postgresql+psycopg",
            username=info.username,
            password=info.password,
            host=info.host,
            port=info.port,
            database=info.database,
        )
        try:
            return sqlalchemy.create_engine(url)
        except ImportError as exc:
            raise ConfigurationError(
                "db_connect needs the psycopg driver: pip install 'joule-sync[db]'"
            ) from exc


def _blocks(node: Node, params: Params) -> Iterator[tuple[npt.NDArray[np.void], bool]]:
    """The blocks of a read and whether an interval ends after each; the request starts
    when the first is taken and ends with the last."""
    with open_read_pipe(node, params) as pipe:
        for block in pipe:
            yield block.data, block.end_of_interval


def _numbered_frames(chunks: Iterator[Decoded], names: list[str]) -> Iterator[pandas.DataFrame]:
    """DataFrames of the chunks, their intervals numbered on from one chunk to the next."""
    breaks_before = 0
    for chunk in chunks:
        frame = _frames.to_pandas(chunk.data, chunk.interval_ends, names, False)
        frame[_frames.INTERVAL_COLUMN] += breaks_before
        breaks_before += len(chunk.interval_ends)
        yield frame


def _data_info(data: object, model: str) -> dict[str, Any] | None:
    """A stream's ``data_info``: absent or null when the stream has none."""
    answer = NodeJSON(data, model)
    return answer.nullable("data_info", dict) if "data_info" in answer.data else None


def _named(error: StreamNotFound, params: Params | None, body: Any) -> StreamNotFound:
    """The node's "stream does not exist", naming the stream or folder the request asked for:
    "stream '/a/b' does not exist"."""
    for source in (params or {}, body if isinstance(body, dict) else {}):
        for prefix in ("", "src_", "stream_"):
            if prefix + "path" in source:
                name = repr(str(source[prefix + "path"]))
            elif prefix + "id" in source:
                name = f"id {source[prefix + 'id']}"
            else:
                continue
            noun, _, rest = error.message.partition(" ")
            return StreamNotFound(f"{noun} {name} {rest}", error.status)
    return error


def _master_type(master_type: str) -> str:
    """The wire name (user/joule/lumen) of a master type, as upstream or Master spell it."""
    wire = _MASTER_TYPES.get(str(master_type).lower())
    if wire is None:
        raise InvalidArgument(
            f"master_type must be user, joule or lumen (or joule_node, lumen_node), "
            f"not {master_type!r}"
        )
    return wire


def _spec(
    obj: object,
    model: type[_Model],
    what: str,
    *,
    prefix: str = "",
    name_key: str | None = "path",
) -> Spec:
    """Request parameters naming an object: ``{prefix+"id": n}`` or ``{prefix+name_key: s}``.

    ``obj`` is the model itself, a numeric id, or (unless ``name_key`` is None) a string:
    a path for streams and folders, a name for modules and proxies.
    """
    if isinstance(obj, model):
        if obj.id is None:
            raise InvalidArgument(
                f"this {what} has no id (it was made locally): create it on the node first, "
                "or name it by path"
            )
        return {prefix + "id": obj.id}
    if isinstance(obj, int) and not isinstance(obj, bool):
        if obj < 0:
            raise InvalidArgument(f"{what} ids are >= 0, not {obj}")
        return {prefix + "id": obj}
    if isinstance(obj, str) and name_key is not None:
        if name_key == "path" and not obj.startswith("/"):
            raise InvalidArgument(f"{what} paths start with '/', unlike {obj!r}")
        _require_text(obj, f"{what} {name_key}")
        return {prefix + name_key: obj}
    kinds = f"a {model.__name__}, a {name_key} or an id" if name_key else f"an {what} or an id"
    raise InvalidArgument(f"{what} must be given as {kinds}, not {type(obj).__name__}")


def _require_model(obj: object, model: type[_Model], what: str) -> None:
    """``obj`` must be a ``model`` that exists on the node (has an id)."""
    if not isinstance(obj, model):
        raise InvalidArgument(f"expected a {model.__name__}, not {type(obj).__name__}")
    if obj.id is None:
        raise InvalidArgument(f"this {what} has no id: get it from the node first")


def _require_count(
    value: object,
    what: str,
    *,
    minimum: int = 1,
    error: type[ConfigurationError] = InvalidArgument,
) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise error(f"{what} must be an integer >= {minimum}, not {value!r}")
    return value


def _require_text(value: object, label: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"the {label} must be a non-empty string, not {value!r}")


def _check_data_stream(stream: DataStream) -> None:
    """What the node would refuse anyway, said before sending, in the node's words."""
    if not isinstance(stream.name, str) or not stream.name.strip():
        raise InvalidArgument(
            f"invalid stream specification: missing name (the data stream name must be a "
            f"non-empty string, not {stream.name!r})"
        )
    if str(stream.datatype).lower() not in DATATYPES:
        raise InvalidArgument(f"datatype {stream.datatype!r} is not one of {', '.join(DATATYPES)}")
    if not stream.elements:
        raise InvalidArgument(
            f"invalid stream specification: stream must have at least one element "
            f"({stream.name!r} has none)"
        )
    for element in stream.elements:
        _require_text(element.name, "element name")


def _timestamp(value: object, what: str, *, dated: bool = True) -> int:
    """An integer µs timestamp from any real number, truncated as upstream's ``int(x)`` is
    (so ``time_now() - 1e6`` works); strings, booleans, NaN and infinities are refused.

    It must fit the node's int64; ``dated`` times also within years 1 to 9999, as every call
    but a data read turns them into datetimes on the node, which fails (500) beyond them.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgument(f"{what} must be a timestamp in µs (an int), not {value!r}")
    if isinstance(value, numbers.Integral):  # exact, also for numpy's int64
        timestamp = int(value)
    else:
        try:
            timestamp = int(float(value))
        except (ValueError, OverflowError) as exc:
            raise InvalidArgument(f"{what} must be a finite timestamp, not {value!r}") from exc
    low, high, span = DATED_RANGE if dated else INT64_RANGE
    if not low <= timestamp <= high:
        raise InvalidArgument(f"{what} {timestamp} µs is out of range: the node takes {span} here")
    return timestamp


def _time_range(start: object, end: object, *, dated: bool = True) -> dict[str, int]:
    """``start``/``end`` query parameters; ``start`` must come before ``end``."""
    params: dict[str, int] = {}
    if start is not None:
        params["start"] = _timestamp(start, "start", dated=dated)
    if end is not None:
        params["end"] = _timestamp(end, "end", dated=dated)
    if "start" in params and "end" in params and params["start"] >= params["end"]:
        raise InvalidArgument(f"start ({params['start']}) must be before end ({params['end']})")
    return params


def _check_event_fields(fields: dict[str, str]) -> None:
    """Event fields the node would refuse, refused as it would: ``ApiError`` too."""
    try:
        _validate_event_fields(fields)
    except ConfigurationError as exc:
        raise InvalidArgument(str(exc)) from None


def _check_event_times(event: Event) -> None:
    """The node fails (500) on an event without an end or that does not end after it starts."""
    start = _timestamp(event.start_time, "event start_time")
    if event.end_time is None:
        raise InvalidArgument(f"{event!r} needs an end_time: the node stores none without")
    if _timestamp(event.end_time, "event end_time") <= start:
        raise InvalidArgument(f"{event!r} must end after it starts")


def _event_query(
    stream: EventStream | str | int,
    start: object,
    end: object,
    json_filter: str | list[Any] | None,
) -> Params:
    """The parameters selecting events: the stream, ``[start, end)`` and the filter."""
    params: Params = {**_spec(stream, EventStream, "event stream"), **_time_range(start, end)}
    event_filter = _event_filter(json_filter)
    if event_filter is not None:
        params["filter"] = event_filter
    return params


def _event_filter(json_filter: str | list[Any] | None) -> str | None:
    """The ``filter`` parameter: ``json_filter`` as JSON, its structure checked first."""
    if json_filter is None:
        return None
    if isinstance(json_filter, str):
        try:
            groups = json.loads(json_filter)
        except ValueError as exc:
            raise InvalidArgument(f"json_filter is not valid JSON: {json_filter!r}") from exc
    else:
        groups = json_filter
    shape = 'a list of OR-groups, each a list of [key, op, value], e.g. [[["name", "is", "x"]]]'
    if not isinstance(groups, list | tuple):
        raise InvalidArgument(f"json_filter must be {shape}")
    for group in groups:
        if not isinstance(group, list | tuple) or not group:
            raise InvalidArgument(f"json_filter must be {shape}; got group {group!r}")
        for clause in group:
            if not (
                isinstance(clause, list | tuple)
                and len(clause) == 3
                and isinstance(clause[0], str)
                and clause[1] in _FILTER_OPS
            ):
                raise InvalidArgument(
                    f"json_filter clause {clause!r} must be [key, op, value] with op one of "
                    f"{', '.join(sorted(_FILTER_OPS))}"
                )
    return json.dumps(groups)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
