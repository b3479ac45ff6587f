"""The blocking ``Node``: every upstream ``joule.api.Node`` method, as a facade.

A script written for the upstream asyncio client ports by deleting ``await``: the method
names, arguments, defaults and return types are upstream's.  Nearly every method *is* a
function of the modules below, called on this node's transport: its signature and
docstring are that function's, so each is written once, where the work is done.  Down the
data path:

- ``_transport``: the one ``httpx.Client``, retries, timeouts, TLS, the error mapping;
- the resources, as functions on the transport: ``_folders``, ``_data_streams``, ``_data``,
  ``_event_streams``, ``_annotations``, ``_node_admin`` (modules, proxies, masters,
  followers) and ``_database``;
- the rows: ``_read_core`` (every ``GET /data``), ``_pipes``, ``_whole_reads``,
  ``_rebatch``, then ``_table_reads``, ``_arrow_stream``, ``_export``, ``_import`` and
  ``_copy`` for DataFrames, Arrow streams, files and other nodes.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit

import httpx

from . import (
    _annotations,
    _copy,
    _data,
    _data_streams,
    _database,
    _event_streams,
    _export,
    _folders,
    _import,
    _node_admin,
    _pipes,
    _table_reads,
    _whole_reads,
)
from ._arguments import require_count
from ._errors import ConfigurationError
from ._transport import Settings, Transport

_Arguments = ParamSpec("_Arguments")
_Result = TypeVar("_Result")


def _on_transport(
    function: Callable[Concatenate[Transport, _Arguments], _Result],
) -> Callable[Concatenate[Node, _Arguments], _Result]:
    """A ``Node`` method that is ``function`` called on the node's transport, with the
    function's signature (``self`` for the transport), annotations and docstring."""
    signature = inspect.signature(function)
    first, *rest = signature.parameters.values()
    receiver = first.replace(name="self", annotation=inspect.Parameter.empty)
    signature = signature.replace(parameters=[receiver, *rest])

    def method(node: Node, /, *args: _Arguments.args, **kwargs: _Arguments.kwargs) -> _Result:
        try:
            signature.bind(node, *args, **kwargs)
        except TypeError as exc:  # named after the method, not the function
            raise TypeError(f"{method.__qualname__}(): {exc}") from None
        return function(node.transport, *args, **kwargs)

    functools.update_wrapper(method, function, updated=())
    method.__signature__ = signature  # type: ignore[attr-defined]
    method.__annotations__ = {
        name: annotation
        for name, annotation in getattr(function, "__annotations__", {}).items()
        if name != first.name
    }
    return method


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
        url = url.rstrip("/")
        settings = Settings(
            url=url,
            key=key,
            name=urlsplit(url).netloc if name is None else name,
            ca_file=ca_file,
            verify=verify,
            timeout=timeout,
            connect_timeout=connect_timeout,
            retries=retries,
            uds=None if uds is None else os.fspath(uds),
        )
        self._transport = Transport(settings, transport)

    @property
    def url(self) -> str:
        """The node's URL, without a trailing slash."""
        return self._transport.url

    @property
    def name(self) -> str:
        """The node's label: the name given, else the URL's host and port (exports and
        copies name the node by it)."""
        return self._transport.name

    @name.setter
    def name(self, name: str) -> None:
        self._transport.name = name

    @property
    def transport(self) -> Transport:
        """The connection layer under this node, for code that reads rows itself through
        the read core (``joule_sync.dask`` does, on its workers)."""
        return self._transport

    def __repr__(self) -> str:
        uds = self._transport.uds
        where = f" uds={uds!r}" if uds else ""
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

    info = _on_transport(_node_admin.info)

    # -- folders --------------------------------------------------------------------

    folder_root = _on_transport(_folders.root)
    folder_get = _on_transport(_folders.get)
    folder_move = _on_transport(_folders.move)
    folder_update = _on_transport(_folders.update)
    folder_delete = _on_transport(_folders.delete)

    # -- data streams ---------------------------------------------------------------

    data_stream_get = _on_transport(_data_streams.get)
    data_stream_move = _on_transport(_data_streams.move)
    data_stream_update = _on_transport(_data_streams.update)
    data_stream_delete = _on_transport(_data_streams.delete)
    data_stream_create = _on_transport(_data_streams.create)
    data_stream_info = _on_transport(_data_streams.info)
    data_stream_annotation_delete = _on_transport(_annotations.delete_for_stream)

    # -- data -----------------------------------------------------------------------

    data_delete = _on_transport(_data.delete)
    data_intervals = _on_transport(_data.intervals)
    data_consolidate = _on_transport(_data.consolidate)
    data_decimate = _on_transport(_data.decimate)
    data_drop_decimations = _on_transport(_data.drop_decimations)

    # -- bulk data: pipes, arrays, tables, files and other nodes --------------------------

    data_read = _on_transport(_pipes.read_pipe)
    data_subscribe = _on_transport(_pipes.subscribe)
    data_write = _on_transport(_pipes.write_pipe)
    data_read_array = _on_transport(_whole_reads.read_range)
    data_read_dataframe = _on_transport(_table_reads.read_pandas)
    data_read_arrow = _on_transport(_table_reads.read_arrow)
    data_read_polars = _on_transport(_table_reads.read_polars)
    data_read_chunks = _on_transport(_pipes.read_chunks)
    data_read_dataframe_chunks = _on_transport(_table_reads.read_pandas_chunks)
    data_read_batches = _on_transport(_table_reads.read_batches)
    export = _on_transport(_export.export)
    data_import = _on_transport(_import.data_import)
    data_copy = _on_transport(_copy.copy_data)

    # -- event streams --------------------------------------------------------------

    event_stream_get = _on_transport(_event_streams.get)
    event_stream_move = _on_transport(_event_streams.move)
    event_stream_update = _on_transport(_event_streams.update)
    event_stream_delete = _on_transport(_event_streams.delete)
    event_stream_create = _on_transport(_event_streams.create_in)
    event_stream_info = _on_transport(_event_streams.info)
    event_stream_write = _on_transport(_event_streams.write)
    event_stream_read = _on_transport(_event_streams.read)
    event_stream_read_list = _on_transport(_event_streams.read_list)
    event_stream_read_dataframe = _on_transport(_table_reads.read_events_pandas)
    event_stream_count = _on_transport(_event_streams.count)
    event_stream_remove = _on_transport(_event_streams.remove)
    event_copy = _on_transport(_copy.copy_events)

    # -- annotations ----------------------------------------------------------------

    annotation_create = _on_transport(_annotations.create)
    annotation_get = _on_transport(_annotations.get)
    annotation_update = _on_transport(_annotations.update)
    annotation_delete = _on_transport(_annotations.delete)
    annotation_info = _on_transport(_annotations.info)

    # -- modules, proxies, masters and followers ------------------------------------

    module_list = _on_transport(_node_admin.module_list)
    module_get = _on_transport(_node_admin.module_get)
    module_logs = _on_transport(_node_admin.module_logs)
    proxy_list = _on_transport(_node_admin.proxy_list)
    proxy_get = _on_transport(_node_admin.proxy_get)
    master_add = _on_transport(_node_admin.master_add)
    master_list = _on_transport(_node_admin.master_list)
    master_delete = _on_transport(_node_admin.master_delete)
    master_remove = master_delete
    follower_list = _on_transport(_node_admin.follower_list)
    follower_delete = _on_transport(_node_admin.follower_delete)
    follower_remove = follower_delete

    # -- database -------------------------------------------------------------------

    db_connection_info = _on_transport(_database.connection_info)
    db_connect = _on_transport(_database.connect)


def _name_methods(cls: type) -> None:
    """Name each method ``_on_transport`` made after its attribute, for help() and
    tracebacks (an alias such as ``master_remove`` keeps its first name)."""
    for name, method in vars(cls).items():
        if hasattr(method, "__wrapped__") and not method.__qualname__.startswith(cls.__name__):
            method.__name__, method.__qualname__ = name, f"{cls.__name__}.{name}"


_name_methods(Node)
