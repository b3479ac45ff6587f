"""The objects a node hands out and takes in, with upstream `joule.api`'s attribute names.

Each model converts from the node's JSON (``from_json``) and, where the node takes it back, to
it (``to_json``) with exactly the keys the wire carries: POST ``/stream.json`` refuses a stream
that lacks any of them, so the key sets here are the contract, not a convenience.  Models made
from scratch (``DataStream(name="x", elements=[Element(name="a")])``) carry upstream's
defaults and have ``id=None`` until the node assigns one.

A model's dataclass fields are its wire fields: the annotation says what the node sends (``X |
None`` is the node's X, or null where the field says so; ``list[Model]`` and ``Model`` are
nested JSON; ``dict[str, str]`` an object of strings), and the field's ``metadata`` says where
it differs from a key of the field's name that the node always sends (see ``_WireField``).

Every ``from_json`` checks the node's JSON as it reads it (``NodeJSON``): a missing key or a
value of the wrong type raises ``ApiError`` naming the model and the key, never ``KeyError`` or
a half-built model.  Keys a newer node adds are ignored.

Secrets (API keys, database passwords) are kept out of every ``repr``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import Field, dataclass, field
from types import NoneType, UnionType
from typing import Any, TypeVar, cast, get_args, get_origin, get_type_hints
from urllib.parse import quote

import numpy as np

from ._errors import ApiError, ConfigurationError
from .codec import layout_dtype

JSON = dict[str, Any]
_T = TypeVar("_T")
_M = TypeVar("_M")

DATATYPES = ("int16", "int32", "int64", "float32", "float64")
"""The element types a node stores (anything else is refused with 400)."""


def _repr_of(*names: str) -> Callable[[object], str]:
    """A ``__repr__`` like upstream's, ``<joule_sync.Name a=1 b='x'>``, showing only ``names``."""

    def __repr__(obj: object) -> str:
        shown = " ".join(f"{name}={getattr(obj, name)!r}" for name in names)
        return f"<joule_sync.{type(obj).__name__} {shown}>"

    return __repr__


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

    def list_of(self, key: str, from_json: Callable[[object], _T]) -> list[_T]:
        """A list of models, each checked by its own ``from_json``."""
        return [from_json(item) for item in self.required(key, list)]


# the ``metadata`` of model fields the node does not always send
_NULLABLE = {"read": NodeJSON.nullable}
_OPTIONAL = {"read": NodeJSON.optional}
_NOT_ON_WIRE = {"wire": False}


@dataclass(frozen=True)
class _WireField:
    """One field of a model as the node's JSON carries it.

    Where that is not a key of the field's own name that the node always sends and takes back,
    the dataclass field's ``metadata`` says so: ``read`` (``NodeJSON.nullable`` or
    ``.optional``), ``key`` (the JSON key), ``sent`` (False: ``to_json`` leaves it out),
    ``wire`` (False: the client's own, in no JSON), ``answer`` (which of the answers a model
    made of several carries it).
    """

    name: str
    key: str
    read: Callable[[NodeJSON, str, type[Any]], Any]  # NodeJSON.required, nullable or optional
    kind: type[Any]  # what the JSON value must be: int, float, str, bool, list or dict
    model: Any  # the model a JSON object, or each of a list's, becomes (None: kept as JSON)
    names: bool  # an object of strings
    sent: bool
    answer: str | None

    @classmethod
    def of(cls, declared: Field[Any], hint: Any) -> _WireField:
        """The dataclass field ``declared``, annotated ``hint``, as the wire carries it."""
        if isinstance(hint, UnionType):  # X | None: the node's X; None is null, or not yet set
            (hint,) = (arg for arg in get_args(hint) if arg is not NoneType)
        args = get_args(hint)
        if hasattr(hint, "from_json"):  # a nested model
            kind, model = dict, hint
        else:
            kind = get_origin(hint) or hint
            model = args[0] if kind is list else None
        meta = declared.metadata
        return cls(
            name=declared.name,
            key=meta.get("key", declared.name),
            read=meta.get("read", NodeJSON.required),
            kind=kind,
            model=model,
            names=args == (str, str),
            sent=meta.get("sent", True),
            answer=meta.get("answer"),
        )

    def value(self, wire: NodeJSON) -> Any:
        """The field's value, read and checked from the node's JSON."""
        value = self.read(wire, self.key, self.kind)
        if value is None:
            return None
        if self.names:
            for name, item in value.items():
                _checked(item, str, f"the node's {wire.model} JSON: {self.key}[{name!r}]")
        if self.model is None:
            return value
        if self.kind is list:
            return [self.model.from_json(item) for item in value]
        return self.model.from_json(value)

    def json(self, value: Any) -> Any:
        """``value`` as the node takes it: a list of models as a list of their JSON."""
        return [item.to_json() for item in value] if self.kind is list else value


_WIRE_FIELDS: dict[type[Any], tuple[_WireField, ...]] = {}


def _wire_fields(model: type[Any]) -> tuple[_WireField, ...]:
    """The fields of ``model`` the wire carries, in the order they are declared."""
    # worked out on first use: a model's annotations may name models declared after it
    if model not in _WIRE_FIELDS:
        hints = get_type_hints(model)
        _WIRE_FIELDS[model] = tuple(
            _WireField.of(declared, hints[declared.name])
            for declared in dataclasses.fields(model)
            if declared.metadata.get("wire", True)
        )
    return _WIRE_FIELDS[model]


def _fields(model: type[Any], data: object, answer: str | None = None) -> dict[str, Any]:
    """``model``'s arguments from the node's JSON ``data``, each checked.

    A model made of several answers reads each as its own: ``answer`` names the one ``data`` is.
    """
    wire = NodeJSON(data, answer or model.__name__)
    return {f.name: f.value(wire) for f in _wire_fields(model) if f.answer == answer}


def _from_json(model: type[_M], data: object) -> _M:
    """A ``model`` from the node's JSON ``data``, every field of it checked."""
    return model(**_fields(model, data))


class _FromJSON:
    """``Model.from_json`` of a model its fields describe fully, typed as that model.

    ``null`` are the model's arguments where the node's JSON is null (as upstream does, an
    empty extent for a stream with no data yet).
    """

    def __init__(self, null: tuple[object, ...] | None = None) -> None:
        self.null = null

    def __get__(self, instance: object, model: type[_M]) -> Callable[[object], _M]:
        def from_json(data: object) -> _M:
            """The model from the node's JSON, every field of it checked."""
            if data is None and self.null is not None:
                return model(*self.null)
            return _from_json(model, data)

        return from_json


_KEYS_FIRST = {"id": 0, "index": 1}
"""Upstream writes a model's ``id`` (and an element's ``index``) first: JSON text such as
the ``element_json`` of an HDF5 export then reads as upstream's does."""


def _to_json(model: object) -> JSON:
    """The model's JSON as the node takes it: every wire key it sends."""
    sent = [f for f in _wire_fields(type(model)) if f.sent]
    # a stable sort: the other keys stay in the order they are declared
    sent.sort(key=lambda f: _KEYS_FIRST.get(f.key, len(_KEYS_FIRST)))
    return {f.key: f.json(getattr(model, f.name)) for f in sent}


def data_info(data: object, model: str) -> JSON | None:
    """A stream's ``data_info``: absent or null when the stream has none."""
    answer = NodeJSON(data, model)
    return answer.nullable("data_info", dict) if "data_info" in answer.data else None


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
    units: str | None = field(default="", metadata=_NULLABLE)
    plottable: bool = True
    display_type: str = "continuous"
    offset: float = 0.0
    scale_factor: float = 1.0
    default_max: float | None = field(default=None, metadata=_NULLABLE)
    default_min: float | None = field(default=None, metadata=_NULLABLE)
    id: int | None = None
    index: int | None = None

    __repr__ = _repr_of("id", "index", "name", "units", "plottable", "display_type")
    from_json = _FromJSON()
    to_json = _to_json


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

    __repr__ = _repr_of(
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
    from_json = _FromJSON()
    to_json = _to_json

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


@dataclass(repr=False)
class _Extent:
    """Where a stream's data, events or annotations lie: None where there are none."""

    start: int | None = field(metadata=_NULLABLE)
    end: int | None = field(metadata=_NULLABLE)


@dataclass(repr=False)
class DataStreamInfo(_Extent):
    """Extent of a stream's data.  ``rows`` and ``bytes`` are the node's estimates."""

    rows: int
    total_time: int = 0
    bytes: int = 0

    __repr__ = _repr_of("start", "end", "rows", "total_time", "bytes")
    from_json = _FromJSON(null=(None, None, 0))


_EVENT_FIELD_TYPES = ("string", "numeric", "category")


def validate_event_fields(fields: dict[str, str]) -> dict[str, str]:
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
    # older nodes do not send it: no chunking
    chunk_duration_us: int = field(metadata=_OPTIONAL)
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
        self.event_fields = validate_event_fields({} if event_fields is None else event_fields)
        self.id = id

    __repr__ = _repr_of("id", "name", "description", "event_fields")
    to_json = _to_json

    @classmethod
    def from_json(cls, data: object) -> EventStream:
        values = _fields(cls, data)
        # taken as the node has them: what it stores is not for the client to refuse
        event_fields = values.pop("event_fields")
        stream = cls(**values)
        stream.event_fields = event_fields
        return stream


@dataclass(repr=False)
class EventStreamInfo(_Extent):
    """Extent of an event stream: first start, last end, and how many events."""

    event_count: int
    total_time: int = 0
    bytes: int = 0

    __repr__ = _repr_of("start", "end", "event_count", "total_time")
    from_json = _FromJSON(null=(None, None, 0))


@dataclass(repr=False)
class Event:
    """One event.  Two events are equal when their times and content are (not their ids).

    ``id``, ``event_stream_id`` and ``node_uuid`` say where the event is stored: writing an
    event back to the stream and node it came from updates it, anywhere else inserts a copy.
    """

    start_time: int
    end_time: int | None = field(default=None, metadata=_NULLABLE)
    content: dict[str, Any] = field(default_factory=dict)
    id: int | None = field(default=None, compare=False)
    event_stream_id: int | None = field(default=None, compare=False)
    node_uuid: str | None = field(default=None, compare=False, metadata=_NOT_ON_WIRE)

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
        return cls(**_fields(cls, data), node_uuid=node_uuid)

    def to_json(self, destination_node_uuid: str | None = None) -> JSON:
        """The event as sent to the node with uuid ``destination_node_uuid``.

        The ids go only to the node the event was read from: on any other node they would
        name (and overwrite) an unrelated event.
        """
        event = _to_json(self)
        if self.node_uuid is None or self.node_uuid != destination_node_uuid:
            event.update(id=None, event_stream_id=None)
        return event


@dataclass(repr=False)
class Annotation:
    """A note on a data stream: a point (``end`` is None) or a range ``[start, end)``.

    Two annotations are equal when title, content, start and end are.  ``content`` is None
    where the annotation was made without any.
    """

    title: str
    start: int
    end: int | None = field(default=None, metadata=_NULLABLE)
    content: str | None = field(default="", metadata=_NULLABLE)
    id: int | None = field(default=None, compare=False)
    # the node takes the stream from the request's path, not from the annotation
    stream_id: int | None = field(default=None, compare=False, metadata={"sent": False})

    __repr__ = _repr_of("id", "title", "start", "end", "stream_id")
    from_json = _FromJSON()
    to_json = _to_json


@dataclass(repr=False)
class AnnotationInfo(_Extent):
    """Extent of a stream's annotations (``start``/``end`` are None when it has none)."""

    count: int

    __repr__ = _repr_of("start", "end", "count")
    from_json = _FromJSON()


@dataclass(repr=False)
class ModuleStatistics:
    """A module process's resource use (``create_time`` in UNIX seconds).

    Every value is None while the module's process is not running.
    """

    pid: int | None = field(metadata=_NULLABLE)
    create_time: float | None = field(metadata=_NULLABLE)
    cpu_percent: float | None = field(metadata=_NULLABLE)
    memory_percent: float | None = field(metadata=_NULLABLE)

    __repr__ = _repr_of("pid", "create_time", "cpu_percent", "memory_percent")
    from_json = _FromJSON()


@dataclass(repr=False)
class Module:
    """A module running on the node; ``inputs``/``outputs`` map pipe names to stream paths."""

    id: int
    name: str
    description: str
    is_app: bool
    inputs: dict[str, str]
    outputs: dict[str, str]
    # only sent when asked for
    statistics: ModuleStatistics | None = field(default=None, metadata=_OPTIONAL)

    __repr__ = _repr_of("id", "name", "description", "is_app")
    from_json = _FromJSON()


@dataclass(repr=False)
class Master:
    """A user or node allowed to control this node.

    ``master_type`` is ``user``, ``joule_node`` or ``lumen_node``.  ``key`` is only known
    right after ``master_add`` of a user (the node never lists keys); it is never shown.
    """

    master_type: str = field(metadata={"key": "type"})
    name: str
    key: str | None = field(default=None, compare=False, metadata=_NOT_ON_WIRE)
    id: int | None = None
    grantor_id: int | None = field(default=None, metadata=_NULLABLE)

    __repr__ = _repr_of("id", "master_type", "name", "grantor_id")

    @classmethod
    def from_json(cls, data: object) -> Master:
        master = _from_json(cls, data)
        master.master_type = master.master_type.lower()  # the node's are USER, JOULE_NODE...
        return master


@dataclass(repr=False)
class Follower:
    """A node this node may control, reached at ``location`` with ``key`` (never shown)."""

    name: str
    location: str
    key: str = field(compare=False)
    id: int | None = None

    __repr__ = _repr_of("id", "name", "location")
    from_json = _FromJSON()

    @property
    def url(self) -> str:
        """Upstream lists followers as nodes, whose address is ``url``."""
        return self.location


@dataclass(repr=False)
class Proxy:
    """A URL the node proxies (``target_url``; the wire calls it ``url``)."""

    id: int
    name: str
    target_url: str = field(metadata={"key": "url"})

    __repr__ = _repr_of("id", "name", "target_url")
    from_json = _FromJSON()


_VERSION, _DBINFO = {"answer": "version"}, {"answer": "dbinfo"}


@dataclass(repr=False)
class NodeInfo:
    """What ``Node.info()`` reports: version, identity and disk use (bytes)."""

    version: str = field(metadata=_VERSION)
    name: str = field(metadata=_VERSION)
    path: str = field(metadata=_DBINFO)
    size_reserved: int = field(metadata={**_DBINFO, "key": "reserved"})
    size_other: int = field(metadata={**_DBINFO, "key": "other"})
    size_free: int = field(metadata={**_DBINFO, "key": "free"})
    size_db: int = field(metadata={**_DBINFO, "key": "size"})
    uuid: str | None = field(default=None, metadata={**_VERSION, **_OPTIONAL})

    __repr__ = _repr_of("name", "version", "uuid", "size_db", "size_free")

    @classmethod
    def from_json(cls, version: object, dbinfo: object) -> NodeInfo:
        """Combine GET /version.json and GET /dbinfo."""
        return cls(**_fields(cls, version, "version"), **_fields(cls, dbinfo, "dbinfo"))


@dataclass(repr=False)
class ConnectionInfo:
    """How to reach the node's PostgreSQL database (the password is never shown)."""

    username: str
    password: str
    port: int
    database: str
    host: str

    __repr__ = _repr_of("username", "host", "port", "database")
    from_json = _FromJSON()
    to_json = _to_json

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
    # null for folders made on the way to a new stream's path
    description: str | None = field(default="", metadata=_NULLABLE)
    locked: bool = False
    data_streams: list[DataStream] = field(default_factory=list, metadata={"key": "streams"})
    event_streams: list[EventStream] = field(default_factory=list)
    children: list[Folder] = field(default_factory=list)
    id: int | None = None

    __repr__ = _repr_of("id", "name", "description", "locked")
    from_json = _FromJSON()
    to_json = _to_json

    def path_of(self, stream: DataStream | EventStream, parent: str = "") -> str:
        """The path of ``stream`` (found by id) in the tree under this folder, which is at
        ``parent`` (the root: ""); ``LookupError`` when it is not there."""
        kind = DataStream if isinstance(stream, DataStream) else EventStream
        for candidate in self.data_streams if kind is DataStream else self.event_streams:
            if candidate.id == stream.id:
                return f"{parent}/{candidate.name}"
        for child in self.children:
            try:
                return child.path_of(stream, f"{parent}/{child.name}")
            except LookupError:
                continue
        raise LookupError(f"{kind.__name__} {stream.id} is not in the folder tree")
