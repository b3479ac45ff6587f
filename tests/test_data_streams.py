"""Data stream calls: what each sends to a respx-mocked node and how it reads the answer."""

from __future__ import annotations

import pytest

from joule_sync import DataStream, Element, Folder
from wire import DATA_INFO_JSON, STREAM_JSON, body_of, ok, params_of


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ("/test/bulk/f32", {"path": "/test/bulk/f32"}),
        (3, {"id": "3"}),
        (DataStream(id=3), {"id": "3"}),
    ],
)
def test_data_stream_get(mocked_node, mock, stream, expected):
    route = mock.get("/stream.json").respond(json=STREAM_JSON)
    result = mocked_node.data_stream_get(stream)
    assert params_of(route) == {**expected, "no-info": ""}
    assert (result.id, result.layout, result.elements[0].display_type) == (
        3,
        "float32_1",
        "CONTINUOUS",
    )


def test_data_stream_move(mocked_node, mock):
    route = mock.put("/stream/move.json").respond(json={"stream": STREAM_JSON})
    assert mocked_node.data_stream_move("/test/bulk/i16", "/moved/streams") is None
    assert body_of(route) == {"src_path": "/test/bulk/i16", "dest_path": "/moved/streams"}
    mocked_node.data_stream_move(DataStream(id=4), Folder(id=8))
    assert body_of(route) == {"src_id": 4, "dest_id": 8}


def test_data_stream_update(mocked_node, mock):
    route = mock.put("/stream.json").respond(json=STREAM_JSON)
    stream = DataStream.from_json(STREAM_JSON)
    stream.elements[0].name = "renamed"
    assert mocked_node.data_stream_update(stream) is None
    assert body_of(route) == {"id": 3, "stream": stream.to_json()}
    assert body_of(route)["stream"]["elements"][0]["name"] == "renamed"


def test_data_stream_delete(mocked_node, mock):
    route = ok(mock.delete("/stream.json"))
    mocked_node.data_stream_delete("/moved/streams/i16")
    assert params_of(route) == {"path": "/moved/streams/i16"}


def test_data_stream_create_sends_every_key_the_node_requires(mocked_node, mock):
    route = mock.post("/stream.json").respond(json=STREAM_JSON)
    stream = DataStream(
        name="f32",
        description="float32_3 stream",
        elements=[Element(name=n, units="u") for n in "xyz"],
    )
    created = mocked_node.data_stream_create(stream, "/test/bulk")
    assert created.id == 3
    # as the upstream client sends it (POST /stream.json)
    element = {
        "id": None,
        "index": None,
        "units": "u",
        "plottable": True,
        "display_type": "continuous",
        "offset": 0.0,
        "scale_factor": 1.0,
        "default_max": None,
        "default_min": None,
    }
    assert body_of(route) == {
        "stream": {
            "id": None,
            "name": "f32",
            "description": "float32_3 stream",
            "is_configured": False,
            "is_source": False,
            "is_destination": False,
            "datatype": "float32",
            "keep_us": -1,
            "locked": False,
            "active": False,
            "decimate": True,
            "elements": [{**element, "name": n} for n in "xyz"],
        },
        "dest_path": "/test/bulk",
    }
    mocked_node.data_stream_create(stream, Folder(id=5))
    assert body_of(route)["dest_id"] == 5


def test_data_stream_info(mocked_node, mock):
    route = mock.get("/stream.json").respond(json={**STREAM_JSON, "data_info": DATA_INFO_JSON})
    info = mocked_node.data_stream_info("/test/bulk/f32")
    assert params_of(route) == {"path": "/test/bulk/f32"}  # no `no-info`: the info is wanted
    assert (info.start, info.end, info.rows, info.bytes, info.total_time) == (
        1700000000000000,
        1700000999999000,
        999424,
        33357824,
        999999000,
    )


def test_data_stream_info_of_a_stream_without_info(mocked_node, mock):
    mock.get("/stream.json").respond(json=STREAM_JSON)
    info = mocked_node.data_stream_info(3)
    assert (info.start, info.end, info.rows) == (None, None, 0)
