"""The models: upstream defaults, wire-exact JSON both ways, readable reprs without secrets."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from joule_sync import (
    Annotation,
    AnnotationInfo,
    ConfigurationError,
    ConnectionInfo,
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
    NodeInfo,
    Proxy,
)
from wire import ELEMENT_JSON

# as a real node sends them
STREAM_JSON = {
    "id": 2,
    "name": "configured",
    "description": "statically configured stream",
    "datatype": "int32",
    "layout": "int32_2",
    "keep_us": -1,
    "is_configured": True,
    "is_source": False,
    "is_destination": False,
    "updated_at": "2026-11-24T02:38:18.334598+00:00",
    "locked": True,
    "active": False,
    "decimate": True,
    "elements": [
        {**ELEMENT_JSON, "id": 4 + i, "index": i, "name": name, "units": units}
        for i, (name, units) in enumerate([("a", "V"), ("b", "A")])
    ],
}
EVENT_STREAM_JSON = {
    "id": 1,
    "name": "configured_events",
    "description": "statically configured event stream",
    "event_fields": {"label": "string"},
    "chunk_duration_us": 0,
    "keep_us": -1,
    "updated_at": "2026-11-24T02:38:18.337756+00:00",
}
ROOT_JSON = {
    "id": 1,
    "name": "root",
    "description": None,
    "locked": True,
    "updated_at": "2026-11-24T02:38:18.340426+00:00",
    "children": [
        {
            "id": 3,
            "name": "static",
            "description": None,
            "locked": True,
            "updated_at": "2026-11-24T02:38:18.337756+00:00",
            "children": [],
            "streams": [STREAM_JSON],
            "event_streams": [EVENT_STREAM_JSON],
        }
    ],
    "streams": [],
    "event_streams": [],
}

STREAM_KEYS = {
    "id",
    "name",
    "description",
    "datatype",
    "keep_us",
    "decimate",
    "is_configured",
    "is_source",
    "is_destination",
    "elements",
    "locked",
    "active",
}
ELEMENT_KEYS = {
    "id",
    "index",
    "name",
    "units",
    "plottable",
    "display_type",
    "offset",
    "scale_factor",
    "default_max",
    "default_min",
}


def test_a_data_stream_from_scratch_has_upstreams_defaults():
    stream = DataStream(name="power", elements=[Element(name="P", units="W")])
    assert (stream.datatype, stream.decimate, stream.keep_us, stream.description) == (
        "float32",
        True,
        -1,
        "",
    )
    assert stream.id is None
    assert not (stream.is_configured or stream.is_source or stream.is_destination)
    assert not (stream.locked or stream.active)
    element = stream.elements[0]
    assert (element.plottable, element.display_type, element.offset, element.scale_factor) == (
        True,
        "continuous",
        0.0,
        1.0,
    )
    assert (element.default_min, element.default_max, element.id, element.index) == (
        None,
        None,
        None,
        None,
    )


def test_a_data_stream_takes_upstreams_positional_arguments():
    stream = DataStream("s", "desc", "int16", 1000, [Element("a"), Element("b")])
    assert (stream.description, stream.datatype, stream.keep_us, stream.layout) == (
        "desc",
        "int16",
        1000,
        "int16_2",
    )


def test_new_streams_do_not_share_their_element_lists():
    first, second = DataStream("a"), DataStream("b")
    first.elements.append(Element("x"))
    assert second.elements == []


def test_data_stream_json_round_trip_keeps_every_wire_key():
    stream = DataStream.from_json(STREAM_JSON)
    assert (stream.id, stream.name, stream.layout, stream.locked, stream.is_configured) == (
        2,
        "configured",
        "int32_2",
        True,
        True,
    )
    assert [(e.id, e.index, e.name, e.units) for e in stream.elements] == [
        (4, 0, "a", "V"),
        (5, 1, "b", "A"),
    ]
    out = stream.to_json()
    assert set(out) == STREAM_KEYS
    assert all(set(e) == ELEMENT_KEYS for e in out["elements"])
    wire = {k: v for k, v in STREAM_JSON.items() if k in STREAM_KEYS}
    assert out == wire
    assert DataStream.from_json(out) == stream


def test_layout_and_dtype_follow_datatype_and_width():
    stream = DataStream("s", datatype="float64", elements=[Element("a"), Element("b"), Element()])
    assert stream.layout == "float64_3"
    assert stream.dtype == np.dtype([("timestamp", "<i8"), ("data", "<f8", (3,))])
    assert stream.dtype.itemsize == 8 + 3 * 8
    assert DataStream("s", datatype="int16", elements=[Element()]).dtype["data"].base == np.dtype(
        "<i2"
    )


@pytest.mark.parametrize(
    "stream", [DataStream("s"), DataStream("s", datatype="uint8", elements=[Element()])]
)
def test_a_stream_without_a_storable_layout_has_no_dtype(stream):
    with pytest.raises(ConfigurationError, match="has no dtype"):
        stream.dtype  # noqa: B018 (the property is the test)


def test_reprs_are_short_and_readable():
    stream = DataStream.from_json(STREAM_JSON)
    assert repr(stream) == (
        "<joule_sync.DataStream id=2 name='configured' description='statically configured "
        "stream' datatype='int32' is_configured=True is_source=False is_destination=False "
        "locked=True decimate=True>"
    )
    assert repr(stream.elements[0]) == (
        "<joule_sync.Element id=4 index=0 name='a' units='V' plottable=True "
        "display_type='CONTINUOUS'>"
    )
    assert repr(Folder.from_json(ROOT_JSON)) == (
        "<joule_sync.Folder id=1 name='root' description=None locked=True>"
    )


def test_a_folder_tree_from_json():
    root = Folder.from_json(ROOT_JSON)
    [static] = root.children
    assert (static.id, static.name, static.locked) == (3, "static", True)
    assert static.data_streams[0].name == "configured"
    assert static.event_streams[0].event_fields == {"label": "string"}
    out = root.to_json()
    assert set(out) == {
        "id",
        "name",
        "description",
        "streams",
        "event_streams",
        "children",
        "locked",
    }
    assert out["children"][0]["streams"][0]["elements"][1]["name"] == "b"


def test_data_stream_info_from_json_and_from_nothing():
    info = DataStreamInfo.from_json({"start": 1, "end": 5, "rows": 4, "bytes": 80, "total_time": 4})
    assert (info.start, info.end, info.rows, info.bytes, info.total_time) == (1, 5, 4, 80, 4)
    assert DataStreamInfo.from_json(None) == DataStreamInfo(None, None, 0, 0, 0)
    assert repr(info) == "<joule_sync.DataStreamInfo start=1 end=5 rows=4 total_time=4 bytes=80>"


def test_an_event_stream_from_scratch():
    stream = EventStream("events", "ev", event_fields={"label": "string", "value": "numeric"})
    assert stream.to_json() == {
        "id": None,
        "name": "events",
        "description": "ev",
        "event_fields": {"label": "string", "value": "numeric"},
        "chunk_duration_us": 0,
        "keep_us": -1,
    }


DAY_US = 86_400_000_000


@pytest.mark.parametrize(
    ("duration", "us"),
    [
        ("", 0),
        ("3600000000", 3_600_000_000),
        ("1h", 3_600_000_000),
        ("2d", 2 * DAY_US),
        ("1w", 7 * DAY_US),
        ("1m", 28 * DAY_US),
        ("1y", 365 * DAY_US),
    ],
)
def test_event_stream_chunk_durations_as_upstream_reads_them(duration, us):
    assert EventStream("e", chunk_duration=duration).chunk_duration_us == us


@pytest.mark.parametrize("duration", ["0h", "1x", "h", "-1d", "1.5h"])
def test_bad_chunk_durations_are_refused(duration):
    with pytest.raises(ConfigurationError, match="chunk duration"):
        EventStream("e", chunk_duration=duration)


def test_chunk_duration_and_chunk_duration_us_are_exclusive():
    assert EventStream("e", chunk_duration_us=5).chunk_duration_us == 5
    with pytest.raises(ConfigurationError, match="not both"):
        EventStream("e", chunk_duration="1h", chunk_duration_us=5)


@pytest.mark.parametrize(
    "fields",
    [
        {"a": "string", "b": "numeric", "c": 'category:["on","off"]'},
        {},
    ],
)
def test_valid_event_fields(fields):
    assert EventStream("e", event_fields=fields).event_fields == fields


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"a": "text"}, "event field 'a'"),
        ({"a": "category"}, "JSON list"),
        ({"a": "category:[]"}, "JSON list"),
        ({"a": "category:[1, 2]"}, "JSON list"),
        ({"a": "category:nope"}, "JSON list"),
        (["a"], "must be a dict"),
    ],
)
def test_invalid_event_fields(fields, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        EventStream("e", event_fields=fields)


def test_event_stream_json_round_trip():
    stream = EventStream.from_json(EVENT_STREAM_JSON)
    assert (stream.id, stream.name, stream.chunk_duration_us) == (1, "configured_events", 0)
    assert EventStream.from_json(stream.to_json()) == stream
    older = {k: v for k, v in EVENT_STREAM_JSON.items() if k != "chunk_duration_us"}
    assert EventStream.from_json(older).chunk_duration_us == 0
    odd = {**EVENT_STREAM_JSON, "event_fields": {"x": "from a newer node"}}
    assert EventStream.from_json(odd).event_fields == {"x": "from a newer node"}
    assert repr(stream) == (
        "<joule_sync.EventStream id=1 name='configured_events' "
        "description='statically configured event stream' event_fields={'label': 'string'}>"
    )


EVENT_JSON = {
    "id": 1,
    "event_stream_id": 2,
    "start_time": 1700000000000000,
    "end_time": 1700000000500000,
    "content": {"label": "even", "value": 0},
}


def test_events_compare_by_time_and_content_only():
    event = Event.from_json(EVENT_JSON, node_uuid="uuid-1")
    copy_elsewhere = Event(1700000000000000, 1700000000500000, {"label": "even", "value": 0})
    assert event == copy_elsewhere
    assert event != Event(1700000000000000, 1700000000500001, {"label": "even", "value": 0})
    assert event != Event(1700000000000000, 1700000000500000, {"label": "odd", "value": 0})


def test_event_ids_go_only_to_the_node_the_event_came_from():
    event = Event.from_json(EVENT_JSON, node_uuid="uuid-1")
    assert event.to_json(destination_node_uuid="uuid-1") == EVENT_JSON
    assert event.to_json(destination_node_uuid="uuid-2") == {
        **EVENT_JSON,
        "id": None,
        "event_stream_id": None,
    }
    fresh = Event(5, 6)
    assert fresh.to_json("uuid-1") == {
        "id": None,
        "event_stream_id": None,
        "start_time": 5,
        "end_time": 6,
        "content": {},
    }


def test_where_an_event_is_stored_is_not_taken_from_its_json():
    event = Event.from_json({**EVENT_JSON, "node_uuid": "uuid-9"})
    assert event.node_uuid is None
    assert event.to_json("uuid-9")["id"] is None


def test_event_repr_shortens_long_content():
    event = Event(1, 2, {"text": "x" * 100}, id=7)
    text = repr(event)
    assert text.startswith("<joule_sync.Event id=7 start_time=1 end_time=2 content={")
    assert text.endswith(" ...}>")
    assert len(text) < 120


def test_event_stream_info():
    info = EventStreamInfo.from_json(
        {"start": 1, "end": 9, "event_count": 3, "bytes": 0, "total_time": 8}
    )
    assert (info.start, info.end, info.event_count, info.total_time) == (1, 9, 3, 8)
    assert EventStreamInfo.from_json(None).event_count == 0


def test_extents_take_start_end_and_count_by_position():
    assert EventStreamInfo(1, 9, 3) == EventStreamInfo(
        start=1, end=9, event_count=3, total_time=0, bytes=0
    )
    assert AnnotationInfo(None, None, 0) == AnnotationInfo(start=None, end=None, count=0)
    assert repr(AnnotationInfo(1, 2, 2)) == "<joule_sync.AnnotationInfo start=1 end=2 count=2>"


ANNOTATION_JSON = {
    "id": 2,
    "title": "point",
    "content": "",
    "start": 1700000000000500,
    "stream_id": 3,
    "end": None,
}


def test_annotations():
    note = Annotation.from_json(ANNOTATION_JSON)
    assert (note.id, note.stream_id, note.end) == (2, 3, None)
    assert note == Annotation("point", 1700000000000500)
    assert note.to_json() == {
        "title": "point",
        "start": 1700000000000500,
        "end": None,
        "content": "",
        "id": 2,
    }
    assert repr(note) == (
        "<joule_sync.Annotation id=2 title='point' start=1700000000000500 end=None stream_id=3>"
    )
    info = AnnotationInfo.from_json({"start": 1, "end": 2, "count": 2})
    assert (info.start, info.end, info.count) == (1, 2, 2)


def test_modules_with_and_without_statistics():
    module_json = {
        "id": 0,
        "name": "random",
        "description": "reader",
        "is_app": False,
        "inputs": {},
        "outputs": {"output": "/live/random"},
    }
    module = Module.from_json(module_json)
    assert (module.name, module.outputs, module.statistics) == (
        "random",
        {"output": "/live/random"},
        None,
    )
    stats = {"pid": 8741, "create_time": 1795487897.95, "cpu_percent": 0.0, "memory_percent": 0.4}
    with_stats = Module.from_json({**module_json, "statistics": stats})
    assert with_stats.statistics is not None
    assert (with_stats.statistics.pid, with_stats.statistics.create_time) == (8741, 1795487897.95)
    assert repr(module) == (
        "<joule_sync.Module id=0 name='random' description='reader' is_app=False>"
    )
    assert "pid=8741" in repr(with_stats.statistics)


def test_proxy_target_url_comes_from_url():
    proxy = Proxy.from_json({"id": 0, "name": "self", "url": "http://127.0.0.1:18088/version/"})
    assert proxy.target_url == "http://127.0.0.1:18088/version/"
    assert repr(proxy) == (
        "<joule_sync.Proxy id=0 name='self' target_url='http://127.0.0.1:18088/version/'>"
    )


def test_masters_and_followers_as_the_node_lists_them():
    master = Master.from_json({"id": 2, "name": "bob", "type": "USER", "grantor_id": 1})
    assert (master.master_type, master.name, master.key, master.grantor_id) == (
        "user",
        "bob",
        None,
        1,
    )
    listed = Master.from_json(
        {"id": 2, "name": "bob", "type": "USER", "grantor_id": 1, "key": "not-a-key"}
    )
    assert listed.key is None  # only master_add learns a key
    with_key = Master("user", "bob", key="the-new-key-123")
    assert with_key == Master("user", "bob")  # keys are not part of identity
    follower = Follower.from_json(
        {"id": 1, "name": "f1", "location": "http://f1:8088", "key": "follower-key-456"}
    )
    assert follower.url == "http://f1:8088"


def test_node_info_combines_version_and_dbinfo():
    info = NodeInfo.from_json(
        {"version": "1.0.1", "name": "refnode", "uuid": "u-1"},
        {"path": "/pg", "other": 1, "reserved": 2, "free": 3, "size": 4},
    )
    assert (info.version, info.name, info.uuid, info.path) == ("1.0.1", "refnode", "u-1", "/pg")
    assert (info.size_other, info.size_reserved, info.size_free, info.size_db) == (1, 2, 3, 4)


def test_connection_info_hides_the_password_and_quotes_the_dsn():
    wire = {
        "username": "joule_module",
        "password": "p@ss:/word",
        "port": 55432,
        "database": "joule",
        "host": "db.test",
    }
    info = ConnectionInfo.from_json(wire)
    assert info.to_json() == wire
    assert info.to_dsn() == "postgresql://joule_module:p%40ss%3A%2Fword@db.test:55432/joule"
    assert "p@ss" not in repr(info) and "word" not in repr(info)


def test_models_copy_deeply():
    stream = DataStream.from_json(STREAM_JSON)
    clone = copy.deepcopy(stream)
    clone.elements[0].name = "changed"
    assert stream.elements[0].name == "a"
