"""Every answer from the node is checked before use.

A broken proxy, another server on the port or a buggy node must give ``ApiError`` naming what
was wrong (the model, the key, the value), never garbage or a bare KeyError/TypeError.

``MODELS`` describes the JSON of every model as the node sends it: which keys
it always sends, which may be null, which only some nodes or requests send.  From it come the
hypothesis properties (valid JSON with extra keys parses and round-trips; a key removed or a
value of the wrong type is an ``ApiError``) and the respx-mocked answers that reach each model
through the Node method that reads it.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from joule_sync import (
    Annotation,
    AnnotationInfo,
    ApiError,
    ConnectionInfo,
    DataError,
    DataStream,
    DataStreamInfo,
    Element,
    Event,
    EventStream,
    EventStreamInfo,
    Folder,
    Follower,
    Master,
    Module,
    ModuleStatistics,
    Node,
    NodeInfo,
    Proxy,
    _models,
    codec,
)
from wire import (
    ANNOTATION_JSON,
    CONNECTION_JSON,
    DATA_INFO_JSON,
    ELEMENT_JSON,
    EVENT_STREAM_JSON,
    FOLDER_JSON,
    MODULE_JSON,
    PROXY_JSON,
    STATISTICS_JSON,
    STREAM_JSON,
    UUID,
    VERSION_JSON,
    event_json,
)

DBINFO_JSON = {"path": "/pg", "other": 10, "reserved": 20, "free": 30, "size": 40}
EVENT_INFO_JSON = {
    "start": 1700000000000000,
    "end": 1700000099500000,
    "event_count": 100,
    "bytes": 0,
    "total_time": 99500000,
}
MASTER_JSON = {"id": 1, "name": "refnode", "type": "USER", "grantor_id": None}
FOLLOWER_JSON = {"id": 1, "name": "f1", "location": "http://f1:8088", "key": "follower-key"}


# -- the node's JSON, model by model -----------------------------------------------------

INT = st.integers(-(2**63), 2**63 - 1)
TEXT = st.text(max_size=8)
NUMBER = st.one_of(INT, st.floats(allow_nan=False))
ANY_JSON = st.recursive(
    st.none() | st.booleans() | INT | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(TEXT, inner, max_size=2),
    max_leaves=4,
)
VALUES = {
    int: INT,
    float: NUMBER,
    str: TEXT,
    bool: st.booleans(),
    dict: st.dictionaries(TEXT, ANY_JSON, max_size=3),
}
# values that are not of a kind: JSON's other types (null is added where it is wrong)
NOT = {
    int: st.floats() | TEXT | st.booleans() | st.lists(INT, max_size=2) | st.just({}),
    float: TEXT | st.booleans() | st.lists(NUMBER, max_size=2) | st.just({}),
    str: INT | st.floats() | st.booleans() | st.lists(TEXT, max_size=2) | st.just({}),
    bool: INT | st.floats() | TEXT | st.lists(st.booleans(), max_size=2) | st.just({}),
    list: INT | TEXT | st.booleans() | st.dictionaries(TEXT, INT, max_size=2),
    dict: INT | TEXT | st.booleans() | st.lists(INT, max_size=2),
}
NOTHING = st.nothing()


@dataclass(frozen=True)
class Key:
    """One key of a model's JSON."""

    kind: type
    values: st.SearchStrategy[Any] | None = None  # default: VALUES[kind]
    null: bool = False  # the node sends null when there is no value
    absent: bool = False  # only some nodes or requests send it
    items: str | None = None  # a list of this model's JSON
    wrong: st.SearchStrategy[Any] = NOTHING  # wrong values beyond NOT[kind]

    def valid(self) -> st.SearchStrategy[Any]:
        values = VALUES[self.kind] if self.values is None else self.values
        return st.none() | values if self.null else values

    def invalid(self) -> st.SearchStrategy[Any]:
        wrong = NOT[self.kind] | self.wrong
        return wrong if self.null else st.none() | wrong


def json_of(shape: dict[str, Key]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {name: key.valid() for name, key in shape.items() if not key.absent},
        optional={name: key.valid() for name, key in shape.items() if key.absent},
    )


def models_of(label: str, shape: Callable[[], dict[str, Key]]) -> Key:
    """A key holding a list of ``label`` JSON; a list of anything else is wrong."""
    return Key(
        list,
        st.lists(st.deferred(lambda: json_of(shape())), max_size=2),
        items=label,
        wrong=st.lists(INT | TEXT, min_size=1, max_size=2),
    )


NAMES = Key(
    dict,
    st.dictionaries(TEXT, TEXT, max_size=3),
    wrong=st.dictionaries(TEXT, INT, min_size=1, max_size=2),
)
ELEMENT = {
    "id": Key(int),
    "index": Key(int),
    "name": Key(str),
    "units": Key(str, null=True),
    "plottable": Key(bool),
    "display_type": Key(str),
    "offset": Key(float),
    "scale_factor": Key(float),
    "default_max": Key(float, null=True),
    "default_min": Key(float, null=True),
}
DATA_STREAM = {
    "id": Key(int),
    "name": Key(str),
    "description": Key(str),
    "datatype": Key(str),
    "keep_us": Key(int),
    "decimate": Key(bool),
    "is_configured": Key(bool),
    "is_source": Key(bool),
    "is_destination": Key(bool),
    "locked": Key(bool),
    "active": Key(bool),
    "elements": models_of("Element", lambda: ELEMENT),
}
DATA_STREAM_INFO = {
    "start": Key(int, null=True),
    "end": Key(int, null=True),
    "rows": Key(int),
    "total_time": Key(int),
    "bytes": Key(int),
}
EVENT_STREAM = {
    "id": Key(int),
    "name": Key(str),
    "description": Key(str),
    "keep_us": Key(int),
    "chunk_duration_us": Key(int, absent=True),  # older nodes do not send it
    "event_fields": NAMES,
}
EVENT_STREAM_INFO = {  # DataStreamInfo's, with event_count for rows
    **{name: key for name, key in DATA_STREAM_INFO.items() if name != "rows"},
    "event_count": Key(int),
}
EVENT = {
    "id": Key(int),
    "event_stream_id": Key(int),
    "start_time": Key(int),
    "end_time": Key(int, null=True),
    "content": Key(dict),
}
ANNOTATION = {
    "id": Key(int),
    "title": Key(str),
    "content": Key(str, null=True),
    "start": Key(int),
    "end": Key(int, null=True),
    "stream_id": Key(int),
}
ANNOTATION_INFO = {"start": Key(int, null=True), "end": Key(int, null=True), "count": Key(int)}
MODULE_STATISTICS = {  # all null while the module's process is not running
    "pid": Key(int, null=True),
    "create_time": Key(float, null=True),
    "cpu_percent": Key(float, null=True),
    "memory_percent": Key(float, null=True),
}
MODULE = {
    "id": Key(int),
    "name": Key(str),
    "description": Key(str),
    "is_app": Key(bool),
    "inputs": NAMES,
    "outputs": NAMES,
    "statistics": Key(dict, json_of(MODULE_STATISTICS), absent=True),
}
PROXY = {"id": Key(int), "name": Key(str), "url": Key(str)}
MASTER = {"id": Key(int), "name": Key(str), "type": Key(str), "grantor_id": Key(int, null=True)}
FOLLOWER = {"id": Key(int), "name": Key(str), "location": Key(str), "key": Key(str)}
VERSION = {"version": Key(str), "name": Key(str), "uuid": Key(str, absent=True)}
DBINFO = {name: Key(int) for name in ("other", "reserved", "free", "size")} | {"path": Key(str)}
CONNECTION = {
    "username": Key(str),
    "password": Key(str),
    "port": Key(int),
    "database": Key(str),
    "host": Key(str),
}
FOLDER: dict[str, Key] = {
    "id": Key(int),
    "name": Key(str),
    "description": Key(str, null=True),
    "locked": Key(bool),
    "streams": models_of("DataStream", lambda: DATA_STREAM),
    "event_streams": models_of("EventStream", lambda: EVENT_STREAM),
    # one level of children: deeper trees are read the same way, only slower to generate
    "children": models_of("Folder", lambda: FOLDER | {"children": Key(list, st.just([]))}),
}

JSON_TYPE = {"content-type": "application/json"}
Route = tuple[str, str, dict[str, Any]]  # method, path, respx respond() arguments


def answer(method: str, path: str, body: Any) -> Route:
    """An answer of JSON ``body`` (which may be null)."""
    return (method, path, {"content": json.dumps(body).encode(), "headers": JSON_TYPE})


VERSION_ROUTE = answer("GET", "/version.json", VERSION_JSON)


@dataclass(frozen=True)
class Model:
    """A model, the shape of its JSON, and how a Node method reads it from the node."""

    cls: type
    label: str  # what the node's JSON is called in messages
    shape: dict[str, Key]
    sample: dict[str, Any]  # as recorded from a real node
    path: str  # GET path of the answer carrying the model
    read: Callable[[Node], object]  # the Node method that reads it
    wrap: Callable[[Any], Any] = lambda wire: wire  # the model's JSON in the answer
    also: tuple[Route, ...] = ()  # other answers the method needs
    parse: Callable[[Any], Any] | None = None  # default: cls.from_json
    dump: Callable[[Any], Any] | None = None  # to_json, where the model has one

    def from_json(self, wire: Any) -> Any:
        return self.cls.from_json(wire) if self.parse is None else self.parse(wire)

    def routes(self, wire: Any) -> list[Route]:
        return [answer("GET", self.path, self.wrap(wire)), *self.also]


MODELS = [
    Model(
        Element,
        "Element",
        ELEMENT,
        ELEMENT_JSON,
        "/stream.json",
        lambda n: n.data_stream_get("/a/s"),
        wrap=lambda wire: {**STREAM_JSON, "elements": [wire]},
        dump=Element.to_json,
    ),
    Model(
        DataStream,
        "DataStream",
        DATA_STREAM,
        STREAM_JSON,
        "/stream.json",
        lambda n: n.data_stream_get("/a/s"),
        dump=DataStream.to_json,
    ),
    Model(
        DataStreamInfo,
        "DataStreamInfo",
        DATA_STREAM_INFO,
        DATA_INFO_JSON,
        "/stream.json",
        lambda n: n.data_stream_info("/a/s"),
        wrap=lambda wire: {**STREAM_JSON, "data_info": wire},
    ),
    Model(
        EventStream,
        "EventStream",
        EVENT_STREAM,
        EVENT_STREAM_JSON,
        "/event.json",
        lambda n: n.event_stream_get("/a/e"),
        dump=EventStream.to_json,
    ),
    Model(
        EventStreamInfo,
        "EventStreamInfo",
        EVENT_STREAM_INFO,
        EVENT_INFO_JSON,
        "/event.json",
        lambda n: n.event_stream_info("/a/e"),
        wrap=lambda wire: {**EVENT_STREAM_JSON, "data_info": wire},
    ),
    Model(
        Event,
        "Event",
        EVENT,
        event_json(0),
        "/event/data.json",
        lambda n: n.event_stream_read_list("/a/e"),
        wrap=lambda wire: {"count": 1, "events": [wire], "type": "events"},
        also=(VERSION_ROUTE,),
        parse=lambda wire: Event.from_json(wire, UUID),
        dump=lambda event: event.to_json(UUID),
    ),
    Model(
        Annotation,
        "Annotation",
        ANNOTATION,
        ANNOTATION_JSON,
        "/annotations.json",
        lambda n: n.annotation_get("/a/s"),
        wrap=lambda wire: [wire],
        dump=Annotation.to_json,
    ),
    Model(
        AnnotationInfo,
        "AnnotationInfo",
        ANNOTATION_INFO,
        {"start": 1700000000000010, "end": 1700000000000500, "count": 2},
        "/annotations/info.json",
        lambda n: n.annotation_info("/a/s"),
    ),
    Model(
        ModuleStatistics,
        "ModuleStatistics",
        MODULE_STATISTICS,
        STATISTICS_JSON,
        "/module.json",
        lambda n: n.module_get("random", statistics=True),
        wrap=lambda wire: {**MODULE_JSON, "statistics": wire},
    ),
    Model(
        Module,
        "Module",
        MODULE,
        MODULE_JSON,
        "/modules.json",
        lambda n: n.module_list(),
        wrap=lambda wire: [wire],
    ),
    Model(Proxy, "Proxy", PROXY, PROXY_JSON, "/proxy.json", lambda n: n.proxy_get("p")),
    Model(
        Master,
        "Master",
        MASTER,
        MASTER_JSON,
        "/masters.json",
        lambda n: n.master_list(),
        wrap=lambda wire: [wire],
    ),
    Model(
        Follower,
        "Follower",
        FOLLOWER,
        FOLLOWER_JSON,
        "/followers.json",
        lambda n: n.follower_list(),
        wrap=lambda wire: [wire],
    ),
    Model(
        NodeInfo,
        "version",
        VERSION,
        VERSION_JSON,
        "/version.json",
        lambda n: n.info(),
        also=(answer("GET", "/dbinfo", DBINFO_JSON),),
        parse=lambda wire: NodeInfo.from_json(wire, DBINFO_JSON),
    ),
    Model(
        NodeInfo,
        "dbinfo",
        DBINFO,
        DBINFO_JSON,
        "/dbinfo",
        lambda n: n.info(),
        also=(VERSION_ROUTE,),
        parse=lambda wire: NodeInfo.from_json(VERSION_JSON, wire),
    ),
    Model(
        ConnectionInfo,
        "ConnectionInfo",
        CONNECTION,
        CONNECTION_JSON,
        "/db/connection.json",
        lambda n: n.db_connection_info(),
        dump=ConnectionInfo.to_json,
    ),
    Model(
        Folder,
        "Folder",
        FOLDER,
        FOLDER_JSON,
        "/folders.json",
        lambda n: n.folder_root(),
        dump=Folder.to_json,
    ),
]
BY_LABEL = {model.label: model for model in MODELS}
each_model = pytest.mark.parametrize("model", MODELS, ids=[m.label for m in MODELS])


def test_every_model_with_from_json_is_covered():
    with_from_json = {
        cls
        for _, cls in inspect.getmembers(_models, inspect.isclass)
        if cls.__module__ == _models.__name__ and hasattr(cls, "from_json")
    }
    assert with_from_json == {model.cls for model in MODELS}


# -- properties of every model's JSON ----------------------------------------------------

properties = settings(max_examples=50, deadline=None)


def assert_carries(out: Any, sent: Any) -> None:
    """``out`` (a model's ``to_json``) gives back every value of ``sent`` it has a key for."""
    if isinstance(out, dict) and isinstance(sent, dict):
        for key in out.keys() & sent.keys():
            assert_carries(out[key], sent[key])
    elif isinstance(out, list) and isinstance(sent, list):
        assert len(out) == len(sent)
        for item_out, item_sent in zip(out, sent, strict=True):
            assert_carries(item_out, item_sent)
    else:
        assert out == sent


@each_model
@properties
@given(data=st.data())
def test_valid_json_with_extra_keys_parses_and_round_trips(model: Model, data: st.DataObject):
    wire = data.draw(json_of(model.shape), "json")
    extra = data.draw(st.dictionaries(TEXT, ANY_JSON, max_size=3), "extra keys")
    parsed = model.from_json(wire)
    with_extra = model.from_json({**extra, **wire})
    assert vars(with_extra) == vars(parsed)  # a newer node's keys are ignored
    if model.dump is not None:
        out = model.dump(parsed)
        assert_carries(out, wire)
        always_sent = {name for name, key in model.shape.items() if not key.absent}
        if always_sent <= out.keys():  # Annotation's to_json is a request: no stream_id
            assert vars(model.from_json(out)) == vars(parsed)


@each_model
@properties
@given(data=st.data())
def test_json_lacking_a_key_the_node_always_sends_is_an_api_error(
    model: Model, data: st.DataObject
):
    wire = data.draw(json_of(model.shape), "json")
    always_sent = sorted(name for name, key in model.shape.items() if not key.absent)
    name = data.draw(st.sampled_from(always_sent), "key removed")
    del wire[name]
    with pytest.raises(ApiError) as error:
        model.from_json(wire)
    assert f"the node's {model.label} JSON lacks {name!r}" in error.value.message


@each_model
@properties
@given(data=st.data())
def test_json_with_a_value_of_the_wrong_type_is_an_api_error(model: Model, data: st.DataObject):
    wire = data.draw(json_of(model.shape), "json")
    name = data.draw(st.sampled_from(sorted(model.shape)), "key")
    key = model.shape[name]
    wire[name] = data.draw(key.invalid(), "wrong value")
    with pytest.raises(ApiError) as error:
        model.from_json(wire)
    message = error.value.message
    if key.items is not None and isinstance(wire[name], list):
        assert f"the node's {key.items} JSON must be an object" in message
    else:
        said = (f"JSON: {name!r} must be", f"JSON: {name}[")  # the key, or a value in it
        assert message.startswith(f"the node's {model.label} JSON: ")
        assert any(phrase in message for phrase in said)


def test_a_non_object_is_never_any_models_json():
    for model in MODELS:
        for wire in ([model.sample], "x", 1):
            with pytest.raises(ApiError, match=f"the node's {model.label} JSON must be an object"):
                model.from_json(wire)


# -- answers of a respx-mocked node --------------------------------------------------------


def serve(mock: respx.MockRouter, routes: list[Route]) -> None:
    for method, path, response in routes:
        mock.request(method, path).respond(**response)


@each_model
def test_the_sample_answer_is_read(mocked_node, mock, model: Model):
    serve(mock, model.routes(model.sample))
    model.read(mocked_node)


@each_model
def test_an_answer_lacking_a_key_is_an_api_error_naming_it(mocked_node, mock, model: Model):
    # one key a model: the properties above take out each of them
    name = next(name for name, key in model.shape.items() if not key.absent)
    serve(mock, model.routes({k: v for k, v in model.sample.items() if k != name}))
    with pytest.raises(ApiError) as error:
        model.read(mocked_node)
    assert error.value.message == f"the node's {model.label} JSON lacks {name!r}"


@pytest.mark.parametrize(
    ("label", "name", "value", "says"),
    [
        ("DataStream", "keep_us", "-1", "'keep_us' must be an int, got str"),
        ("DataStream", "locked", 1, "'locked' must be a bool, got int"),
        ("DataStream", "elements", {"0": ELEMENT_JSON}, "'elements' must be a list, got dict"),
        ("Annotation", "start", True, "'start' must be an int, got bool"),
        ("AnnotationInfo", "count", 2.0, "'count' must be an int, got float"),
        ("Proxy", "name", None, "'name' must be a string, got null"),
        ("Element", "offset", "0.0", "'offset' must be a number, got str"),
        ("Element", "name", 5, "'name' must be a string, got int"),
        ("Event", "content", ["a"], "'content' must be an object, got list"),
        ("Module", "outputs", {"output": 7}, "outputs['output'] must be a string, got int"),
        ("ModuleStatistics", "pid", "4455", "'pid' must be an int, got str"),
        ("EventStream", "chunk_duration_us", "1w", "'chunk_duration_us' must be an int, got str"),
        ("version", "uuid", 5, "'uuid' must be a string, got int"),
        ("dbinfo", "free", [30], "'free' must be an int, got list"),
    ],
)
def test_an_answer_with_a_wrong_type_is_an_api_error_naming_it(
    mocked_node, mock, label: str, name: str, value: Any, says: str
):
    model = BY_LABEL[label]
    serve(mock, model.routes({**model.sample, name: value}))
    with pytest.raises(ApiError) as error:
        model.read(mocked_node)
    assert error.value.message == f"the node's {label} JSON: {says}"
    assert error.value.status is None


@dataclass(frozen=True)
class Bad:
    """A malformed answer: what the node sends, the call that reads it, what the error says."""

    routes: list[Route]
    call: Callable[[Node], object]
    says: str
    status: int | None = None  # the HTTP status, when the body itself is wrong


def intervals(wire: Any, says: str) -> Bad:
    return Bad(
        [answer("GET", "/data/intervals.json", wire)],
        lambda n: n.data_intervals("/a/s"),
        f"the node's intervals JSON{says}",
    )


def events_written(wire: Any, says: str) -> Bad:
    return Bad(
        [VERSION_ROUTE, answer("POST", "/event/data.json", wire)],
        lambda n: n.event_stream_write("/a/e", [Event(1, 2)]),
        says,
    )


BAD_ANSWERS = {
    "text where JSON is due": Bad(
        [("GET", "/folders.json", {"text": "ok"})],
        lambda n: n.folder_root(),
        "GET /folders.json: expected JSON from the node, got 'ok'",
        200,
    ),
    "a body labelled JSON that is not": Bad(
        [
            (
                "GET",
                "/folders.json",
                {"text": "<h1>Bad gateway</h1>", "headers": JSON_TYPE},
            )
        ],
        lambda n: n.folder_root(),
        "GET /folders.json: the node sent invalid JSON: '<h1>Bad gateway</h1>'",
        200,
    ),
    "a JSON number": Bad(
        [answer("GET", "/modules.json", 5)],
        lambda n: n.module_list(),
        "GET /modules.json: expected a JSON object or list from the node, got '5'",
        200,
    ),
    "JSON null": Bad(
        [answer("GET", "/stream.json", None)],
        lambda n: n.data_stream_info("/a/s"),
        "GET /stream.json: expected a JSON object or list from the node, got 'null'",
        200,
    ),
    "a list where an object is due": Bad(
        [answer("GET", "/folders.json", [FOLDER_JSON])],
        lambda n: n.folder_root(),
        "the node's Folder JSON must be an object, got list",
    ),
    "a number in a list of models": Bad(
        [answer("GET", "/folders.json", {**FOLDER_JSON, "children": [1]})],
        lambda n: n.folder_root(),
        "the node's Folder JSON must be an object, got int",
    ),
    "an object where a list is due": Bad(
        [answer("GET", "/modules.json", MODULE_JSON)],
        lambda n: n.module_list(),
        "the node's Module JSON must be an object, got str",
    ),
    "intervals: end before start": intervals(
        [[5, 1]], ": interval [5, 1] does not end after it starts"
    ),
    "intervals: an empty interval": intervals(
        [[5, 5]], ": interval [5, 5] does not end after it starts"
    ),
    "intervals: not numbers": intervals(
        [["a", None]], ": interval ['a', None] is not a [start, end] pair of ints"
    ),
    "intervals: one number": intervals([[1]], ": interval [1] is not a [start, end] pair of ints"),
    "intervals: bools": intervals(
        [[False, True]], ": interval [False, True] is not a [start, end] pair of ints"
    ),
    "intervals: floats": intervals(
        [[0, 10.5]], ": interval [0, 10.5] is not a [start, end] pair of ints"
    ),
    "intervals: not a list": intervals(
        [[0, 10], 20], ": interval 20 is not a [start, end] pair of ints"
    ),
    "intervals: overlapping": intervals(
        [[0, 10], [5, 20]], ": interval [5, 20] starts before the interval before it ends"
    ),
    "intervals: out of order": intervals(
        [[30, 40], [0, 10]], ": interval [0, 10] starts before the interval before it ends"
    ),
    "intervals: an object": intervals({"intervals": []}, " must be a list, got dict"),
    "consolidate: a string": Bad(
        [answer("POST", "/data/consolidate.json", {"num_consolidated": "1"})],
        lambda n: n.data_consolidate("/a/s", 10),
        "the node's consolidate JSON: 'num_consolidated' must be an int, got str",
    ),
    "consolidate: nothing": Bad(
        [answer("POST", "/data/consolidate.json", {})],
        lambda n: n.data_consolidate("/a/s", 10),
        "the node's consolidate JSON lacks 'num_consolidated'",
    ),
    "event count: a bool": Bad(
        [answer("GET", "/event/data/count.json", {"count": True})],
        lambda n: n.event_stream_count("/a/e"),
        "the node's event count JSON: 'count' must be an int, got bool",
    ),
    "event count: a string": Bad(
        [answer("GET", "/event/data/count.json", {"count": "44"})],
        lambda n: n.event_stream_count("/a/e"),
        "the node's event count JSON: 'count' must be an int, got str",
    ),
    "event write: no events": events_written(
        {"count": 1}, "the node's event write JSON lacks 'events'"
    ),
    "event write: events not a list": events_written(
        {"count": 1, "events": {"id": 1}},
        "the node's event write JSON: 'events' must be a list, got dict",
    ),
    "event write: an event without ids": events_written(
        {"count": 1, "events": [{"start_time": 1, "end_time": 2, "content": {}}]},
        "the node's Event JSON lacks 'id'",
    ),
    "event write: a number for an event": events_written(
        {"count": 1, "events": [1]}, "the node's Event JSON must be an object, got int"
    ),
    "event write: fewer events than sent": events_written(
        {"count": 0, "events": []}, "the node's event write JSON lists 0 events for the 1 sent"
    ),
    "event read: events not a list": Bad(
        [VERSION_ROUTE, answer("GET", "/event/data.json", {"count": 0, "events": "none"})],
        lambda n: n.event_stream_read_list("/a/e"),
        "the node's event read JSON: 'events' must be a list, got str",
    ),
    "uuid: a number": Bad(
        [answer("GET", "/version.json", {**VERSION_JSON, "uuid": 5})],
        lambda n: n.event_stream_write("/a/e", [Event(1, 2)]),
        "the node's version JSON: 'uuid' must be a string, got int",
    ),
    "uuid: missing": Bad(
        [answer("GET", "/version.json", {"version": "1.0.1", "name": "refnode"})],
        lambda n: n.event_stream_write("/a/e", [Event(1, 2)]),
        "the node's version JSON lacks 'uuid'",
    ),
    "master add: a list": Bad(
        [answer("POST", "/master.json", ["key"])],
        lambda n: n.master_add("user", "bob"),
        "the node's master JSON must be an object, got list",
    ),
    "master add: no key for a user": Bad(
        [answer("POST", "/master.json", {"name": "refnode"})],
        lambda n: n.master_add("user", "bob"),
        "the node's master JSON lacks 'key'",
    ),
}


@pytest.mark.parametrize("bad", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_a_malformed_answer_is_an_api_error_naming_it(mocked_node, mock, bad: Bad):
    serve(mock, bad.routes)
    with pytest.raises(ApiError) as error:
        bad.call(mocked_node)
    assert (error.value.message, error.value.status) == (bad.says, bad.status)


# -- data answers: the headers that say what the rows are ----------------------------------

# a body of two float32_1 rows: 24 bytes
TWO_ROWS = bytes(range(1, 25))


def data_answer(mock: respx.MockRouter, headers: dict[str, str], body: bytes = TWO_ROWS) -> None:
    mock.get("/data").respond(200, headers=headers, content=body)


BAD_DATA_HEADERS = {
    "no joule-layout": ({"joule-decimation": "1"}, "lacks the joule-layout header"),
    "no joule-decimation": ({"joule-layout": "float32_1"}, "lacks the joule-decimation header"),
    "neither": ({}, "lacks the joule-layout and joule-decimation header"),
    "an unknown type": (
        {"joule-layout": "float99_1", "joule-decimation": "1"},
        "joule-layout header 'float99_1' is unusable",
    ),
    "no width": ({"joule-layout": "float32", "joule-decimation": "1"}, "'float32' is unusable"),
    "a width of 0": (
        {"joule-layout": "float32_0", "joule-decimation": "1"},
        "'float32_0'",
    ),
    "a width over 1024": (
        {"joule-layout": "float32_1025", "joule-decimation": "1"},
        "has 1025 elements: expected 1 to 1024",
    ),
    "a negative decimation": (
        {"joule-layout": "float32_3", "joule-decimation": "-4"},
        "joule-decimation header '-4' is not a power of 4",
    ),
    "a decimation of 0": (
        {"joule-layout": "float32_3", "joule-decimation": "0"},
        "'0' is not a power of 4",
    ),
    "a power of 2, not of 4": (
        {"joule-layout": "float32_3", "joule-decimation": "8"},
        "'8' is not a power of 4",
    ),
    "a decimation that is not a number": (
        {"joule-layout": "float32_3", "joule-decimation": "4.0"},
        "'4.0' is not a power of 4",
    ),
    "decimated rows that are not float32": (
        {"joule-layout": "int32_3", "joule-decimation": "16"},
        "cannot hold decimated rows",
    ),
    "decimated rows that are not means, minimums and maximums": (
        {"joule-layout": "float32_4", "joule-decimation": "16"},
        "cannot hold decimated rows",
    ),
}


@pytest.mark.parametrize(
    ("headers", "says"), BAD_DATA_HEADERS.values(), ids=BAD_DATA_HEADERS.keys()
)
@pytest.mark.parametrize("read", ["array", "pipe"])
def test_data_headers_no_node_sends_are_a_data_error_naming_them(
    mocked_node, mock, headers: dict[str, str], says: str, read: str
):
    data_answer(mock, headers)
    with pytest.raises(DataError, match=re.escape(says)):
        if read == "array":
            mocked_node.data_read_array("/a/b")
        else:
            mocked_node.data_read("/a/b").read()


@pytest.mark.parametrize(
    ("layout", "factor", "rows"),
    [("float32_1", "1", 2), ("float32_3", "4", 1), ("int16_2", "1", 2)],
)
def test_data_headers_a_node_sends_are_read(mocked_node, mock, layout: str, factor: str, rows: int):
    width = int(layout.rsplit("_", 1)[1])
    size = 8 + width * (2 if layout.startswith("int16") else 4)
    data_answer(
        mock, {"joule-layout": layout, "joule-decimation": factor}, bytes(range(1, 1 + size)) * rows
    )
    data = mocked_node.data_read_array("/a/b")
    assert len(data) == rows and data.dtype == codec.layout_dtype(layout)


def test_a_data_answer_cut_inside_a_row_is_a_data_error_not_a_short_array(mocked_node, mock):
    data_answer(mock, {"joule-layout": "float32_1", "joule-decimation": "1"}, TWO_ROWS[:-5])
    with pytest.raises(DataError, match="data ended inside a row"):
        mocked_node.data_read_array("/a/b")
