"""Calls on a stream's data (intervals, deletes, consolidate, decimate): what each sends to a
respx-mocked node and how it reads the answer (reading and writing rows: test_pipes.py and
test_bulk.py).
"""

from __future__ import annotations

from joule_sync import DataStream
from wire import ok, params_of


def test_data_delete(mocked_node, mock):
    route = ok(mock.delete("/data"))
    mocked_node.data_delete("/test/bulk/f32", start=1700000400000000, end=1700000500000000)
    assert params_of(route) == {
        "path": "/test/bulk/f32",
        "start": "1700000400000000",
        "end": "1700000500000000",
    }
    mocked_node.data_delete(DataStream(id=3))
    assert params_of(route) == {"id": "3"}


def test_data_intervals(mocked_node, mock):
    intervals = [[1700000000000000, 1700000399999001], [1700000500000000, 1700000999999001]]
    route = mock.get("/data/intervals.json").respond(json=intervals)
    assert mocked_node.data_intervals("/test/bulk/f32") == intervals
    assert params_of(route) == {"path": "/test/bulk/f32"}
    mocked_node.data_intervals(3, start=1.7e15, end=1700000000010000)  # floats as upstream's int()
    assert params_of(route) == {"id": "3", "start": "1700000000000000", "end": "1700000000010000"}


def test_data_consolidate(mocked_node, mock):
    route = mock.post("/data/consolidate.json").respond(json={"num_consolidated": 1})
    assert mocked_node.data_consolidate("/test/bulk/f32", max_gap=200000000) == 1
    assert params_of(route) == {"path": "/test/bulk/f32", "max_gap": "200000000"}
    mocked_node.data_consolidate(3, 5, start=1, end=2)
    assert params_of(route) == {"id": "3", "max_gap": "5", "start": "1", "end": "2"}


def test_data_decimate_and_drop_decimations(mocked_node, mock):
    post = ok(mock.post("/data/decimate.json"))
    delete = ok(mock.delete("/data/decimate.json"))
    mocked_node.data_decimate("/test/bulk/f32")
    mocked_node.data_drop_decimations(3)
    assert params_of(post) == {"path": "/test/bulk/f32"}
    assert params_of(delete) == {"id": "3"}
