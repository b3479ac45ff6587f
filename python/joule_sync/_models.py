"""The objects a node hands out and takes in, with upstream `joule.api`'s attribute names.

Each model converts from the node's JSON (``from_json``) and, where the node takes it back, to
it (``to_json``) with exactly the keys the wire carries: POST ``/stream.json`` refuses a stream
that lacks any of them, so the key sets here are the contract, not a convenience.  Models made
from scratch (``DataStream(name="x", elements=[Element(name="a")])``) carry upstream's
defaults and have ``id=None`` until the node assigns one.

Every ``from_json`` checks the node's JSON as it reads it (``NodeJSON``): a missing key or a
value of the wrong type raises ``ApiError`` naming the model and the key, never ``KeyError`` or
a half-built model.  Keys a newer node adds are ignored.

Secrets (API keys, database passwords) are kept out of every ``repr``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import quote

import numpy as np

from ._errors import ApiError, ConfigurationError
from .codec import layout_dtype

JSON = dict[str, Any]
_T = TypeVar("_T")

DATATYPES = ("int16", "int32", "int64", "float32", "float64")
"""The element types a node stores (anything else is refused with 400)."""


def _repr(obj: object, *names: str) -> str:
    """``<joule_sync.Name a=1 b='x'>``: short, like upstream's, and never showing secrets."""
    fields = " ".join(f"{name}={getattr(obj, name)!r}" for name in names)
    return f"<joule_sync.{type(obj).__name__} {fields}>"


_KIND_NAMES: dict[type[Any], str] = {
    int: "an int",
    float: "a number",
    str: "a string",
    bool: "a bool",
    list: "a list",
    dict: "an object",
}


def _checked(value: object, kind: type[_T], what: str) -> _T:
    """``value`` if it is of ``kind``, else ApiError saying ``what`` should have been."""
    # True is an int to Python, never to the node; an int is a fine float
    accepted = (int, float) if kind is float else kind
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, accepted):
        got = "null" if value is None else type(value).__name__
        raise ApiError(f"{what} must be {_KIND_NAMES[kind]}, got {got}")
    return cast(_T, value)


class NodeJSON:
    """A JSON object from the node, read as model ``model``: each key is checked as it is read."""

    def __init__(self, data: object, model: str) -> None:
        self.model = model
        self.data: JSON = _checked(data, dict, f"the node's {model} JSON")

    def required(self, key: str, kind: type[_T]) -> _T:
        """A key the node always sends, never null."""
        if key not in self.data:
            raise ApiError(f"the node's {self.model} JSON lacks {key!r}")
        return _checked(self.data[key], kind, f"the node's {self.model} JSON: {key!r}")

    def nullable(self, key: str, kind: type[_T]) -> _T | None:
        """A key the node always sends, null when there is no value."""
        if key in self.data and self.data[key] is None:
            return None
        return self.required(key, kind)

    def optional(self, key: str, kind: type[_T]) -> _T | None:
        """A key only some nodes or some requests send (None when absent), never null."""
        return self.required(key, kind) if key in self.data else None

    def names(self, key: str) -> dict[str, str]:
        """An object of strings, e.g. a module's pipe names to stream paths."""
        names: dict[str, str] = self.required(key, dict)
        for name, value in names.items():
            _checked(value, str, f"the node's {self.model} JSON: {key}[{name!r}]")
        return names

    def list_of(self, key: str, from_json: Callable[[object], _T]) -> list[_T]:
        """A list of models, each checked by its own ``from_json``."""
        return [from_json(item) for item in self.required(key, list)]


def intervals_from_json(data: object) -> list[list[int]]:
    """The node's ``[[start, end], ...]``: ordered, non-overlapping ``start < end`` int pairs."""
    intervals: list[list[int]] = _checked(data, list, "the node's intervals JSON")
    previous_end: int | None = None
    for interval in intervals:
        if not (
            isinstance(interval, list)
            and len(interval) == 2
            and all(type(time) is int for time in interval)
        ):
            why = "is not a [start, end] pair of ints"
        elif interval[0] >= interval[1]:
            why = "does not end after it starts"
        elif previous_end is not None and interval[0] < previous_end:
            why = "starts before the interval before it ends"
        else:
            previous_end = interval[1]
            continue
        raise ApiError(f"the node's intervals JSON: interval {interval!r} {why}")
    return intervals


@dataclass(repr=False)
class Element:
    """One column of a data stream.

    ``display_type`` is one of continuous, discrete, event; ``offset`` and ``scale_factor``
    only change how Lumen plots the element (``y = (x - offset) * scale_factor``).
    ``units`` is None where the node has none (elements of a stream a module declared).
    """

    name: str = ""
    units: str | None = ""
    plottable: bool = True
    display_type: str = "continuous"
    offset: float = 0.0
    scale_factor: float = 1.0
    default_max: float | None = None
    default_min: float | None = None
    id: int | None = None
    index: int | None = None

    def __repr__(self) -> str:
        return _repr(self, "id", "index", "name", "units", "plottable", "display_type")

    @classmethod
    def from_json(cls, data: object) -> Element:
        wire = NodeJSON(data, "Element")
        return cls(
            name=wire.required("name", str),
            units=wire.nullable("units", str),
            plottable=wire.required("plottable", bool),
            display_type=wire.required("display_type", str),
            offset=wire.required("offset", float),
            scale_factor=wire.required("scale_factor", float),
            default_max=wire.nullable("default_max", float),
            default_min=wire.nullable("default_min", float),
            id=wire.required("id", int),
            index=wire.required("index", int),
        )

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "index": self.index,
            "name": self.name,
            "units": self.units,
            "plottable": self.plottable,
            "display_type": self.display_type,
            "offset": self.offset,
            "scale_factor": self.scale_factor,
            "default_max": self.default_max,
            "default_min": self.default_min,
        }


@dataclass(repr=False)
class DataStream:
    """A stream of timestamped rows of ``len(elements)`` values of one ``datatype``.

    ``keep_us`` is how much history the node keeps (-1 all, 0 none).  The status flags
    (``is_configured``, ``is_source``, ``is_destination``, ``active``, ``locked``) are set by
    the node; a locked stream (configured or in use by a module) refuses changes.
    """

    name: str = ""
    description: str = ""
    datatype: str = "float32"
    keep_us: int = -1
    elements: list[Element] = field(default_factory=list)
    decimate: bool = True
    id: int | None = None
    is_configured: bool = False
    is_source: bool = False
    is_destination: bool = False
    locked: bool = False
    active: bool = False

    def __repr__(self) -> str:
        return _repr(
            self,
            "id",
            "name",
            "description",
            "datatype",
            "is_configured",
            "is_source",
            "is_destination",
            "locked",
            "decimate",
        )

    @property
    def layout(self) -> str:
        """The wire name of the row format, e.g. ``float32_3``."""
        return f"{self.datatype.lower()}_{len(self.elements)}"

    @property
    def dtype(self) -> np.dtype[np.void]:
        """The numpy dtype of one row: ``[('timestamp', '<i8'), ('data', <type>, (N,))]``."""
        if self.datatype.lower() not in DATATYPES or not self.elements:
            raise ConfigurationError(
                f"stream layout {self.layout!r} has no dtype: the datatype must be one of "
                f"{', '.join(DATATYPES)} and the stream needs at least one element"
            )
        return layout_dtype(self.layout)

    @classmethod
    def from_json(cls, data: object) -> DataStream:
        wire = NodeJSON(data, "DataStream")
        return cls(
            name=wire.required("name", str),
            description=wire.required("description", str),
            datatype=wire.required("datatype", str),
            keep_us=wire.required("keep_us", int),
            elements=wire.list_of("elements", Element.from_json),
            decimate=wire.required("decimate", bool),
            id=wire.required("id", int),
            is_configured=wire.required("is_configured", bool),
            is_source=wire.required("is_source", bool),
            is_destination=wire.required("is_destination", bool),
            locked=wire.required("locked", bool),
            active=wire.required("active", bool),
        )

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "is_configured": self.is_configured,
            "is_source": self.is_source,
            "is_destination": self.is_destination,
            "datatype": self.datatype,
            "keep_us": self.keep_us,
            "locked": self.locked,
            "active": self.active,
            "decimate": self.decimate,
            "elements": [e.to_json() for e in self.elements],
        }


@dataclass(repr=False)
class DataStreamInfo:
    """Extent of a stream's data.  ``rows`` and ``bytes`` are the node's estimates."""

    start: int | None
    end: int | None
    rows: int
    total_time: int = 0
    bytes: int = 0

    def __repr__(self) -> str:
        return _repr(self, "start", "end", "rows", "total_time", "bytes")

    @classmethod
    def from_json(cls, data: object) -> DataStreamInfo:
        """``None`` (no data yet) gives an empty info, as upstream does."""
        if data is None:
            return cls(None, None, 0)
        wire = NodeJSON(data, "DataStreamInfo")
        return cls(
            wire.nullable("start", int),
            wire.nullable("end", int),
            wire.required("rows", int),
            wire.required("total_time", int),
            wire.required("bytes", int),
        )


_EVENT_FIELD_TYPES = ("string", "numeric", "category")


def _validate_event_fields(fields: dict[str, str]) -> dict[str, str]:
    """Event fields map a name to ``string``, ``numeric`` or ``category:["a","b",...]``."""
    if not isinstance(fields, dict):
        raise ConfigurationError(f"event_fields must be a dict, not {type(fields).__name__}")
    for name, kind in fields.items():
        base, _, categories = str(kind).partition(":")
        if base not in _EVENT_FIELD_TYPES:
            raise ConfigurationError(
                f"event field {name!r} has type {kind!r}: use string, numeric or "
                'category:["a","b",...]'
            )
        if base == "category":
            try:
                values = json.loads(categories)
            except ValueError:
                values = None
            if not (
                isinstance(values, list) and values and all(isinstance(v, str) for v in values)
            ):
                raise ConfigurationError(
                    f'event field {name!r}: a category needs a JSON list of names after ":", '
                    'e.g. category:["on","off"]'
                )
    return fields


_DURATION_UNITS_US = {
    "h": 3_600_000_000,
    "d": 86_400_000_000,
    "w": 7 * 86_400_000_000,
    "m": 28 * 86_400_000_000,  # upstream's month is 4 weeks
    "y": 365 * 86_400_000_000,
}


def _parse_chunk_duration(duration: str) -> int:
    """Upstream's chunk durations: ``""`` (no chunking), microseconds, or ``<n><h|d|w|m|y>``."""
    if duration == "":
        return 0
    if duration.isdigit():
        return int(duration)
    match = re.fullmatch(r"(\d+)([hdwmy])", duration)
    if match is None or int(match.group(1)) == 0:
        raise ConfigurationError(
            f"invalid chunk duration {duration!r}: use <number><h|d|w|m|y>, e.g. 1w"
        )
    return int(match.group(1)) * _DURATION_UNITS_US[match.group(2)]


@dataclass(init=False, repr=False)
class EventStream:
    """A stream of events (a start, an end and a JSON ``content`` each).

    ``event_fields`` declares the content keys Lumen shows (``string``, ``numeric`` or
    ``category:[...]``).  ``chunk_duration`` (e.g. ``"1w"``) or ``chunk_duration_us`` makes the
    node store the events in time chunks; give at most one of them.
    """

    name: str
    description: str
    chunk_duration_us: int
    keep_us: int
    event_fields: dict[str, str]
    id: int | None

    def __init__(
        self,
        name: str = "",
        description: str = "",
        chunk_duration: str = "",
        chunk_duration_us: int | None = None,
        keep_us: int = -1,
        event_fields: dict[str, str] | None = None,
        id: int | None = None,
    ) -> None:
        if chunk_duration_us is not None and chunk_duration != "":
            raise ConfigurationError("give chunk_duration or chunk_duration_us, not both")
        self.name = name
        self.description = description
        self.chunk_duration_us = (
            chunk_duration_us
            if chunk_duration_us is not None
            else _parse_chunk_duration(chunk_duration)
        )
        self.keep_us = keep_us
        self.event_fields = _validate_event_fields({} if event_fields is None else event_fields)
        self.id = id

    def __repr__(self) -> str:
        return _repr(self, "id", "name", "description", "event_fields")

    @classmethod
    def from_json(cls, data: object) -> EventStream:
        wire = NodeJSON(data, "EventStream")
        stream = cls(
            name=wire.required("name", str),
            description=wire.required("description", str),
            # older nodes do not send it; None means no chunking
            chunk_duration_us=wire.optional("chunk_duration_us", int),
            keep_us=wire.required("keep_us", int),
            id=wire.required("id", int),
        )
        # taken as the node has them: what it stores is not for the client to refuse
        stream.event_fields = wire.names("event_fields")
        return stream

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "event_fields": self.event_fields,
            "chunk_duration_us": self.chunk_duration_us,
            "keep_us": self.keep_us,
        }


@dataclass(repr=False)
class EventStreamInfo:
    """Extent of an event stream: first start, last end, and how many events."""

    start: int | None
    end: int | None
    event_count: int
    total_time: int = 0
    bytes: int = 0

    def __repr__(self) -> str:
        return _repr(self, "start", "end", "event_count", "total_time")

    @classmethod
    def from_json(cls, data: object) -> EventStreamInfo:
        if data is None:
            return cls(None, None, 0)
        wire = NodeJSON(data, "EventStreamInfo")
        return cls(
            wire.nullable("start", int),
            wire.nullable("end", int),
            wire.required("event_count", int),
            wire.required("total_time", int),
            wire.required("bytes", int),
        )


@dataclass(repr=False)
class Event:
    """One event.  Two events are equal when their times and content are (not their ids).

    ``id``, ``event_stream_id`` and ``node_uuid`` say where the event is stored: writing an
    event back to the stream and node it came from updates it, anywhere else inserts a copy.
    """

    start_time: int
    end_time: int | None = None
    content: dict[str, Any] = field(default_factory=dict)
    id: int | None = field(default=None, compare=False)
    event_stream_id: int | None = field(default=None, compare=False)
    node_uuid: str | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        content = json.dumps(self.content)
        if len(content) > 40:
            content = content[:40] + " ...}"
        return (
            f"<joule_sync.Event id={self.id!r} start_time={self.start_time!r} "
            f"end_time={self.end_time!r} content={content}>"
        )

    @classmethod
    def from_json(cls, data: object, node_uuid: str | None = None) -> Event:
        wire = NodeJSON(data, "Event")
        return cls(
            start_time=wire.required("start_time", int),
            end_time=wire.nullable("end_time", int),
            content=wire.required("content", dict),
            id=wire.required("id", int),
            event_stream_id=wire.required("event_stream_id", int),
            node_uuid=node_uuid,
        )

    def to_json(self, destination_node_uuid: str | None = None) -> JSON:
        """The event as sent to the node with uuid ``destination_node_uuid``.

        The ids go only to the node the event was read from: on any other node they would
        name (and overwrite) an unrelated event.
        """
        same_node = self.node_uuid is not None and self.node_uuid == destination_node_uuid
        return {
            "id": self.id if same_node else None,
            "event_stream_id": self.event_stream_id if same_node else None,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "content": self.content,
        }


@dataclass(repr=False)
class Annotation:
    """A note on a data stream: a point (``end`` is None) or a range ``[start, end)``.

    Two annotations are equal when title, content, start and end are.  ``content`` is None
    where the annotation was made without any.
    """

    title: str
    start: int
    end: int | None = None
    content: str | None = ""
    id: int | None = field(default=None, compare=False)
    stream_id: int | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return _repr(self, "id", "title", "start", "end", "stream_id")

    @classmethod
    def from_json(cls, data: object) -> Annotation:
        wire = NodeJSON(data, "Annotation")
        return cls(
            title=wire.required("title", str),
            start=wire.required("start", int),
            end=wire.nullable("end", int),
            content=wire.nullable("content", str),
            id=wire.required("id", int),
            stream_id=wire.required("stream_id", int),
        )

    def to_json(self) -> JSON:
        return {
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "content": self.content,
            "id": self.id,
        }


@dataclass(repr=False)
class AnnotationInfo:
    """Extent of a stream's annotations (``start``/``end`` are None when it has none)."""

    start: int | None
    end: int | None
    count: int

    def __repr__(self) -> str:
        return _repr(self, "start", "end", "count")

    @classmethod
    def from_json(cls, data: object) -> AnnotationInfo:
        wire = NodeJSON(data, "AnnotationInfo")
        return cls(
            wire.nullable("start", int), wire.nullable("end", int), wire.required("count", int)
        )


@dataclass(repr=False)
class ModuleStatistics:
    """A module process's resource use (``create_time`` in UNIX seconds).

    Every value is None while the module's process is not running.
    """

    pid: int | None
    create_time: float | None
    cpu_percent: float | None
    memory_percent: float | None

    def __repr__(self) -> str:
        return _repr(self, "pid", "create_time", "cpu_percent", "memory_percent")

    @classmethod
    def from_json(cls, data: object) -> ModuleStatistics:
        wire = NodeJSON(data, "ModuleStatistics")
        return cls(
            wire.nullable("pid", int),
            wire.nullable("create_time", float),
            wire.nullable("cpu_percent", float),
            wire.nullable("memory_percent", float),
        )


@dataclass(repr=False)
class Module:
    """A module running on the node; ``inputs``/``outputs`` map pipe names to stream paths."""

    id: int
    name: str
    description: str
    is_app: bool
    inputs: dict[str, str]
    outputs: dict[str, str]
    statistics: ModuleStatistics | None = None

    def __repr__(self) -> str:
        return _repr(self, "id", "name", "description", "is_app")

    @classmethod
    def from_json(cls, data: object) -> Module:
        wire = NodeJSON(data, "Module")
        # only sent when asked for
        stats = wire.optional("statistics", dict)
        return cls(
            id=wire.required("id", int),
            name=wire.required("name", str),
            description=wire.required("description", str),
            is_app=wire.required("is_app", bool),
            inputs=wire.names("inputs"),
            outputs=wire.names("outputs"),
            statistics=None if stats is None else ModuleStatistics.from_json(stats),
        )


@dataclass(repr=False)
class Proxy:
    """A URL the node proxies (``target_url``; the wire calls it ``url``)."""

    id: int
    name: str
    target_url: str

    def __repr__(self) -> str:
        return _repr(self, "id", "name", "target_url")

    @classmethod
    def from_json(cls, data: object) -> Proxy:
        wire = NodeJSON(data, "Proxy")
        return cls(
            id=wire.required("id", int),
            name=wire.required("name", str),
            target_url=wire.required("url", str),
        )


@dataclass(repr=False)
class Master:
    """A user or node allowed to control this node.

    ``master_type`` is ``user``, ``joule_node`` or ``lumen_node``.  ``key`` is only known
    right after ``master_add`` of a user (the node never lists keys); it is never shown.
    """

    master_type: str
    name: str
    key: str | None = field(default=None, compare=False)
    id: int | None = None
    grantor_id: int | None = None

    def __repr__(self) -> str:
        return _repr(self, "id", "master_type", "name", "grantor_id")

    @classmethod
    def from_json(cls, data: object) -> Master:
        wire = NodeJSON(data, "Master")
        return cls(
            master_type=wire.required("type", str).lower(),
            name=wire.required("name", str),
            id=wire.required("id", int),
            grantor_id=wire.nullable("grantor_id", int),
        )


@dataclass(repr=False)
class Follower:
    """A node this node may control, reached at ``location`` with ``key`` (never shown)."""

    name: str
    location: str
    key: str = field(compare=False)
    id: int | None = None

    def __repr__(self) -> str:
        return _repr(self, "id", "name", "location")

    @property
    def url(self) -> str:
        """Upstream lists followers as nodes, whose address is ``url``."""
        return self.location

    @classmethod
    def from_json(cls, data: object) -> Follower:
        wire = NodeJSON(data, "Follower")
        return cls(
            name=wire.required("name", str),
            location=wire.required("location", str),
            key=wire.required("key", str),
            id=wire.required("id", int),
        )


@dataclass(repr=False)
class NodeInfo:
    """What ``Node.info()`` reports: version, identity and disk use (bytes)."""

    version: str
    name: str
    path: str
    size_reserved: int
    size_other: int
    size_free: int
    size_db: int
    uuid: str | None = None

    def __repr__(self) -> str:
        return _repr(self, "name", "version", "uuid", "size_db", "size_free")

    @classmethod
    def from_json(cls, version: object, dbinfo: object) -> NodeInfo:
        """Combine GET /version.json and GET /dbinfo."""
        version_wire = NodeJSON(version, "version")
        dbinfo_wire = NodeJSON(dbinfo, "dbinfo")
        return cls(
            version=version_wire.required("version", str),
            name=version_wire.required("name", str),
            path=dbinfo_wire.required("path", str),
            size_reserved=dbinfo_wire.required("reserved", int),
            size_other=dbinfo_wire.required("other", int),
            size_free=dbinfo_wire.required("free", int),
            size_db=dbinfo_wire.required("size", int),
            uuid=version_wire.optional("uuid", str),
        )


@dataclass(repr=False)
class ConnectionInfo:
    """How to reach the node's PostgreSQL database (the password is never shown)."""

    username: str
    password: str
    port: int
    database: str
    host: str

    def __repr__(self) -> str:
        return _repr(self, "username", "host", "port", "database")

    @classmethod
    def from_json(cls, data: object) -> ConnectionInfo:
        wire = NodeJSON(data, "ConnectionInfo")
        return cls(
            username=wire.required("username", str),
            password=wire.required("password", str),
            port=wire.required("port", int),
            database=wire.required("database", str),
            host=wire.required("host", str),
        )

    def to_json(self) -> JSON:
        return {
            "username": self.username,
            "password": self.password,
            "port": self.port,
            "database": self.database,
            "host": self.host,
        }

    def to_dsn(self) -> str:
        """``postgresql://user:password@host:port/database``, quoted for any character."""
        return (
            f"postgresql://{quote(self.username, safe='')}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{quote(self.database, safe='')}"
        )


@dataclass(repr=False)
class Folder:
    """A folder of the node's tree: its streams, event streams and sub-folders.

    Only ``name`` and ``description`` can be changed (``Node.folder_update``); a folder holding
    configured or active streams is locked.
    """

    name: str = ""
    description: str | None = ""
    locked: bool = False
    data_streams: list[DataStream] = field(default_factory=list)
    event_streams: list[EventStream] = field(default_factory=list)
    children: list[Folder] = field(default_factory=list)
    id: int | None = None

    def __repr__(self) -> str:
        return _repr(self, "id", "name", "description", "locked")

    @classmethod
    def from_json(cls, data: object) -> Folder:
        wire = NodeJSON(data, "Folder")
        return cls(
            name=wire.required("name", str),
            # null for folders made on the way to a new stream's path
            description=wire.nullable("description", str),
            locked=wire.required("locked", bool),
            data_streams=wire.list_of("streams", DataStream.from_json),
            event_streams=wire.list_of("event_streams", EventStream.from_json),
            children=wire.list_of("children", cls.from_json),
            id=wire.required("id", int),
        )

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "streams": [s.to_json() for s in self.data_streams],
            "event_streams": [s.to_json() for s in self.event_streams],
            "children": [c.to_json() for c in self.children],
            "locked": self.locked,
        }
