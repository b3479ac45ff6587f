"""Event stream calls: what each sends to a respx-mocked node (pages, blocks, filters) and how
it reads the answers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from joule_sync import ConfigurationError, Event, EventStream, StreamNotFound
from wire import (
    EVENT_STREAM_JSON,
    UUID,
    VERSION_JSON,
    body_of,
    event_json,
    not_found,
    ok,
    params_of,
)


def test_event_stream_get(mocked_node, mock):
    route = mock.get("/event.json").respond(json=EVENT_STREAM_JSON)
    stream = mocked_node.event_stream_get("/test/events/events")
    assert params_of(route) == {"path": "/test/events/events"}
    assert (stream.id, stream.event_fields, stream.chunk_duration_us) == (
        2,
        {"label": "string", "value": "numeric"},
        0,
    )
    mocked_node.event_stream_get(EventStream(id=2))
    assert params_of(route) == {"id": "2"}


def test_event_stream_get_with_create_makes_a_missing_stream(mocked_node, mock):
    not_found(mock.get("/event.json"), "stream does not exist")
    post = mock.post("/event.json").respond(json=EVENT_STREAM_JSON)
    mocked_node.event_stream_get(
        "/test/events/events", create=True, chunk_duration="1h", event_fields={"a": "numeric"}
    )
    assert body_of(post) == {
        "stream": {
            "id": None,
            "name": "events",
            "description": "",
            "event_fields": {"a": "numeric"},
            "chunk_duration_us": 3_600_000_000,
            "keep_us": -1,
        },
        "dest_path": "/test/events",
    }


def test_event_stream_get_without_create_raises(mocked_node, mock):
    not_found(mock.get("/event.json"), "stream does not exist")
    with pytest.raises(StreamNotFound):
        mocked_node.event_stream_get("/test/events/nope")


def test_event_stream_move(mocked_node, mock):
    route = mock.put("/event/move.json").respond(json={"stream": EVENT_STREAM_JSON})
    mocked_node.event_stream_move("/test/events/events_ts", "/test/events2")
    assert body_of(route) == {"src_path": "/test/events/events_ts", "dest_path": "/test/events2"}


def test_event_stream_update(mocked_node, mock):
    route = mock.put("/event.json").respond(json=EVENT_STREAM_JSON)
    stream = EventStream.from_json(EVENT_STREAM_JSON)
    stream.description = "updated"
    assert mocked_node.event_stream_update(stream) is None
    assert body_of(route) == {
        "id": 2,
        "stream": {
            "id": 2,
            "name": "events",
            "description": "updated",
            "event_fields": {"label": "string", "value": "numeric"},
            "chunk_duration_us": 0,
            "keep_us": -1,
        },
    }


def test_event_stream_delete(mocked_node, mock):
    route = ok(mock.delete("/event.json"))
    mocked_node.event_stream_delete("/test/events2/events_ts")
    assert params_of(route) == {"path": "/test/events2/events_ts"}


def test_event_stream_create(mocked_node, mock):
    route = mock.post("/event.json").respond(json=EVENT_STREAM_JSON)
    stream = EventStream("events", "ev", event_fields={"label": "string", "value": "numeric"})
    created = mocked_node.event_stream_create(stream, "/test/events")
    assert created.id == 2
    # the stream's JSON itself: test_models.py
    assert body_of(route) == {"stream": stream.to_json(), "dest_path": "/test/events"}


def test_event_stream_info(mocked_node, mock):
    data_info = {
        "start": 1700000000000000,
        "end": 1700000099500000,
        "event_count": 100,
        "bytes": 0,
        "total_time": 99500000,
    }
    route = mock.get("/event.json").respond(json={**EVENT_STREAM_JSON, "data_info": data_info})
    info = mocked_node.event_stream_info("/test/events/events")
    assert params_of(route) == {"path": "/test/events/events"}
    assert (info.start, info.end, info.event_count, info.total_time) == (
        1700000000000000,
        1700000099500000,
        100,
        99500000,
    )


def _echo_events(request: httpx.Request) -> httpx.Response:
    """The node's answer to POST /event/data.json: the events with ids."""
    body = json.loads(request.content)
    stored = [
        {**e, "id": e["id"] or 1000 + i, "event_stream_id": 2} for i, e in enumerate(body["events"])
    ]
    return httpx.Response(200, json={"count": len(stored), "events": stored})


def test_event_stream_write_posts_in_blocks_of_500_and_returns_ids(mocked_node, mock):
    version = mock.get("/version.json").respond(json=VERSION_JSON)
    route = mock.post("/event/data.json").mock(side_effect=_echo_events)
    events = [Event(1700000000000000 + i, 1700000000000000 + i + 1) for i in range(1200)]
    returned = mocked_node.event_stream_write("/test/events/events", events)
    assert [len(body_of(route, i)["events"]) for i in range(3)] == [500, 500, 200]
    assert route.call_count == 3
    first = body_of(route, 0)
    assert first["path"] == "/test/events/events"
    assert first["events"][0] == {
        "id": None,
        "event_stream_id": None,
        "start_time": 1700000000000000,
        "end_time": 1700000000000001,
        "content": {},
    }
    assert returned == events
    assert [e.id for e in events[:2]] == [1000, 1001]
    assert events[0].event_stream_id == 2 and events[0].node_uuid == UUID
    # written again, they update what was stored rather than adding copies
    mocked_node.event_stream_write(2, events[:1])
    again = body_of(route)
    assert again["id"] == 2
    assert again["events"][0]["id"] == 1000
    assert again["events"][0]["event_stream_id"] == 2
    assert version.call_count == 1  # the node's uuid is asked once


def test_event_stream_write_checks_events_before_sending(mocked_node, mock):
    with pytest.raises(ConfigurationError, match="end after it starts"):
        mocked_node.event_stream_write("/e/s", [Event(10, 5)])
    with pytest.raises(ConfigurationError, match="end after it starts"):
        mocked_node.event_stream_write("/e/s", [Event(10, 10)])
    with pytest.raises(ConfigurationError, match="needs an end_time"):
        mocked_node.event_stream_write("/e/s", [Event(10)])
    with pytest.raises(ConfigurationError, match="Event objects"):
        mocked_node.event_stream_write("/e/s", [{"start_time": 1}])  # type: ignore[list-item]
    assert not mock.calls


def _pages_of(events: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    """The node's answers to GET /event/data.json: the events from ``start``, ``limit`` of them."""

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        start, limit = int(params.get("start", 0)), int(params["limit"])
        chosen = [e for e in events if e["start_time"] >= start][:limit]
        return httpx.Response(200, json={"count": len(chosen), "events": chosen, "type": "events"})

    return answer


def _pages(route: respx.Route) -> list[dict[str, str]]:
    return [params_of(route, i) for i in range(route.call_count)]


def test_event_stream_read_pages_through_the_stream(mocked_node, mock):
    mock.get("/version.json").respond(json=VERSION_JSON)
    all_events = [event_json(n) for n in range(5)]
    route = mock.get("/event/data.json").mock(side_effect=_pages_of(all_events))
    blocks = list(mocked_node.event_stream_read("/test/events/events", block_size=2))
    assert [[e.content["value"] for e in block] for block in blocks] == [[0, 1], [2], [3], [4]]
    pages = _pages(route)
    assert pages[0] == {
        "path": "/test/events/events",
        "limit": "2",
        "return-subset": "1",
        "include-ongoing-events": "1",
    }
    # each next page starts at the last start time seen, without ongoing events
    second_start = str(all_events[1]["start_time"])
    assert pages[1] == {**pages[0], "start": second_start, "include-ongoing-events": "0"}
    assert [p.get("start") for p in pages[2:]] == [str(e["start_time"]) for e in all_events[2:]]
    events = list(mocked_node.event_stream_read("/test/events/events"))
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert all(e.node_uuid == UUID and e.event_stream_id == 2 for e in events)
    assert params_of(route)["limit"] == "1000"


def test_event_stream_read_keeps_events_that_share_a_start_time(mocked_node, mock):
    mock.get("/version.json").respond(json=VERSION_JSON)
    same = 1700000000000000
    all_events = [event_json(0), *(event_json(n, start=same + 10) for n in (1, 2, 3))]
    mock.get("/event/data.json").mock(side_effect=_pages_of(all_events))
    events = list(mocked_node.event_stream_read(2, block_size=3))
    # upstream's "last start_time + 1" would lose event 4 (it shares event 3's start)
    assert [e.id for block in events for e in block] == [1, 2, 3, 4]


def test_event_stream_read_warns_when_a_start_time_holds_more_than_a_page(
    mocked_node, mock, caplog
):
    mock.get("/version.json").respond(json=VERSION_JSON)
    same = 1700000000000000
    route = mock.get("/event/data.json")
    route.side_effect = [
        httpx.Response(200, json={"events": [event_json(n, start=same) for n in (0, 1)]}),
        httpx.Response(200, json={"events": [event_json(n, start=same) for n in (0, 1)]}),
        httpx.Response(200, json={"events": [event_json(5, start=same + 7)]}),
    ]
    with caplog.at_level(logging.WARNING, logger="joule_sync"):
        ids = [e.id for block in mocked_node.event_stream_read(2, block_size=2) for e in block]
    assert ids == [1, 2, 6]
    assert "more than 2 events start at" in caplog.text
    assert params_of(route)["start"] == str(same + 1)


def test_event_stream_read_stops_at_the_end(mocked_node, mock):
    mock.get("/version.json").respond(json=VERSION_JSON)
    route = mock.get("/event/data.json").respond(
        json={"events": [event_json(0), event_json(1)], "type": "events"}
    )
    end = event_json(1)["start_time"]
    blocks = list(mocked_node.event_stream_read(2, start=1, end=end, block_size=2))
    assert len(blocks) == 1 and route.call_count == 1
    assert params_of(route) == {
        "id": "2",
        "start": "1",
        "end": str(end),
        "limit": "2",
        "return-subset": "1",
        "include-ongoing-events": "1",
    }


def test_event_stream_read_with_only_an_end_starts_at_the_first_event(mocked_node, mock):
    # with an end but no start the node would answer the *last* events before end
    mock.get("/version.json").respond(json=VERSION_JSON)
    info = {"start": 1700000000000000, "end": 1, "event_count": 1, "bytes": 0, "total_time": 0}
    mock.get("/event.json").respond(json={**EVENT_STREAM_JSON, "data_info": info})
    route = mock.get("/event/data.json").respond(json={"events": [event_json(0)]})
    assert len(list(mocked_node.event_stream_read("/e/s", end=1800000000000000))) == 1
    assert params_of(route)["start"] == "1700000000000000"


@pytest.mark.parametrize(
    "json_filter",
    [
        '[[["label", "is", "even"], ["value", "gt", "10"]]]',
        [[["label", "is", "even"], ["value", "gt", "10"]]],
    ],
)
def test_event_filters_go_out_as_json_in_either_form(mocked_node, mock, json_filter):
    mock.get("/version.json").respond(json=VERSION_JSON)
    read = mock.get("/event/data.json").respond(json={"events": []})
    count = mock.get("/event/data/count.json").respond(json={"count": 44})
    remove = ok(mock.delete("/event/data.json"))
    expected = '[[["label", "is", "even"], ["value", "gt", "10"]]]'
    assert list(mocked_node.event_stream_read("/e/s", json_filter=json_filter)) == []
    assert mocked_node.event_stream_count("/e/s", json_filter=json_filter) == 44
    mocked_node.event_stream_remove("/e/s", json_filter=json_filter)
    for route in (read, count, remove):
        assert params_of(route)["filter"] == expected


@pytest.mark.parametrize(
    ("json_filter", "complaint"),
    [
        ("notjson", "not valid JSON"),
        ('{"a": 1}', "list of OR-groups"),
        ([["label", "is", "x"]], "clause"),
        ([[["label", "contains", "x"]]], "op one of"),
        ([[["label", "is"]]], "clause"),
        ([[]], "group"),
    ],
)
def test_bad_event_filters_are_refused_before_sending(mocked_node, mock, json_filter, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        mocked_node.event_stream_read("/e/s", json_filter=json_filter)
    with pytest.raises(ConfigurationError, match=complaint):
        mocked_node.event_stream_count("/e/s", json_filter=json_filter)
    with pytest.raises(ConfigurationError, match=complaint):
        mocked_node.event_stream_remove("/e/s", json_filter=json_filter)
    assert not mock.calls


def test_event_stream_read_list_stops_at_the_limit(mocked_node, mock, caplog):
    mock.get("/version.json").respond(json=VERSION_JSON)
    route = mock.get("/event/data.json").respond(json={"events": [event_json(n) for n in range(3)]})
    with caplog.at_level(logging.WARNING, logger="joule_sync"):
        events = mocked_node.event_stream_read_list("/e/s", limit=3)
    assert [e.id for e in events] == [1, 2, 3]
    assert params_of(route)["limit"] == "3"
    assert "read limit of 3 events" in caplog.text


def test_event_stream_count(mocked_node, mock):
    route = mock.get("/event/data/count.json").respond(json={"count": 100})
    assert mocked_node.event_stream_count("/test/events/events") == 100
    assert params_of(route) == {"path": "/test/events/events", "include-ongoing-events": "1"}
    mocked_node.event_stream_count(2, start=5, end=6, include_on_going_events=False)
    assert params_of(route) == {"id": "2", "start": "5", "end": "6", "include-ongoing-events": "0"}


def test_event_stream_remove(mocked_node, mock):
    route = ok(mock.delete("/event/data.json"))
    mocked_node.event_stream_remove(
        "/test/events/events", start=1700000000000000, end=1700000010000000
    )
    assert params_of(route) == {
        "path": "/test/events/events",
        "start": "1700000000000000",
        "end": "1700000010000000",
    }
    mocked_node.event_stream_remove(EventStream(id=2))
    assert params_of(route) == {"id": "2"}
