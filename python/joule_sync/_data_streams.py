"""Data streams: their models, extent and place in the tree (their rows are in ``_data``)."""

from __future__ import annotations

from ._arguments import (
    check_data_stream,
    require_model,
    spec,
    stream_spec,
)
from ._errors import InvalidArgument
from ._models import DataStream, DataStreamInfo, Folder, data_info
from ._transport import Transport


def get(transport: Transport, stream: DataStream | str | int) -> DataStream:
    """One data stream, by object, path or id."""
    params = {**stream_spec(stream), "no-info": ""}
    return DataStream.from_json(transport.json("GET", "/stream.json", params=params))


def move(transport: Transport, stream: DataStream | str | int, folder: Folder | str | int) -> None:
    """Move a stream into ``folder``, which is created if it does not exist."""
    body = {
        **spec(stream, DataStream, "data stream", prefix="src_"),
        **spec(folder, Folder, "destination folder", prefix="dest_"),
    }
    transport.ok("PUT", "/stream/move.json", json=body)


def update(transport: Transport, stream: DataStream) -> None:
    """Save a stream's attributes and its elements' (not its datatype or width)."""
    require_model(stream, DataStream, "data stream")
    check_data_stream(stream)
    transport.ok("PUT", "/stream.json", json={"id": stream.id, "stream": stream.to_json()})


def delete(transport: Transport, stream: DataStream | str | int) -> None:
    """Delete a stream and all its data."""
    transport.ok("DELETE", "/stream.json", params=stream_spec(stream))


def create(transport: Transport, stream: DataStream, folder: Folder | str | int) -> DataStream:
    """Create ``stream`` in ``folder`` (a folder given by path is created if missing)."""
    if not isinstance(stream, DataStream):
        raise InvalidArgument(f"data_stream_create needs a DataStream, not {type(stream).__name__}")
    check_data_stream(stream)
    body = {"stream": stream.to_json(), **spec(folder, Folder, "folder", prefix="dest_")}
    return DataStream.from_json(transport.json("POST", "/stream.json", json=body))


def info(transport: Transport, stream: DataStream | str | int) -> DataStreamInfo:
    """The extent of a stream's data (rows and bytes are the node's estimates)."""
    data = transport.json("GET", "/stream.json", params=stream_spec(stream))
    return DataStreamInfo.from_json(data_info(data, "DataStream"))
