"""Annotation calls: what each sends to a respx-mocked node and how it reads the answer."""

from __future__ import annotations

from joule_sync import Annotation, DataStream
from wire import ANNOTATION_JSON, body_of, ok, params_of


def test_data_stream_annotation_delete(mocked_node, mock):
    route = ok(mock.delete("/stream/annotations.json"))
    mocked_node.data_stream_annotation_delete("/test/bulk/f32")
    assert params_of(route) == {"stream_path": "/test/bulk/f32"}
    mocked_node.data_stream_annotation_delete(3, start=10, end=20)
    assert params_of(route) == {"stream_id": "3", "start": "10", "end": "20"}


def test_annotation_create(mocked_node, mock):
    route = mock.post("/annotation.json").respond(json=ANNOTATION_JSON)
    note = Annotation(title="range", start=1700000000000010, end=1700000000002000, content="c1")
    created = mocked_node.annotation_create(note, "/test/bulk/f32")
    assert body_of(route) == {
        "title": "range",
        "content": "c1",
        "start": 1700000000000010,
        "end": 1700000000002000,
        "stream_path": "/test/bulk/f32",
    }
    assert (created.id, created.stream_id) == (1, 3)
    assert created == note
    mocked_node.annotation_create(Annotation("point", start=5), 3)
    assert body_of(route) == {
        "title": "point",
        "content": "",
        "start": 5,
        "end": None,
        "stream_id": 3,
    }


def test_annotation_get(mocked_node, mock):
    route = mock.get("/annotations.json").respond(json=[ANNOTATION_JSON])
    notes = mocked_node.annotation_get(
        "/test/bulk/f32", start=1700000000000000, end=1700000000000100
    )
    assert params_of(route) == {
        "stream_path": "/test/bulk/f32",
        "start": "1700000000000000",
        "end": "1700000000000100",
    }
    assert [(n.id, n.title, n.end) for n in notes] == [(1, "range", 1700000000002000)]
    mocked_node.annotation_get(DataStream(id=3))
    assert params_of(route) == {"stream_id": "3"}


def test_annotation_update(mocked_node, mock):
    route = mock.put("/annotation.json").respond(
        json={**ANNOTATION_JSON, "title": "renamed", "content": "updated"}
    )
    note = Annotation.from_json(ANNOTATION_JSON)
    note.title, note.content = "renamed", "updated"
    updated = mocked_node.annotation_update(note)
    assert body_of(route) == {"id": 1, "title": "renamed", "content": "updated"}
    assert updated.title == "renamed"


def test_annotation_delete(mocked_node, mock):
    route = ok(mock.delete("/annotation.json"))
    mocked_node.annotation_delete(1)
    assert params_of(route) == {"id": "1"}
    mocked_node.annotation_delete(Annotation.from_json(ANNOTATION_JSON))
    assert params_of(route) == {"id": "1"}


def test_annotation_info(mocked_node, mock):
    route = mock.get("/annotations/info.json").respond(
        json={"start": 1700000000000010, "end": 1700000000000500, "count": 2}
    )
    info = mocked_node.annotation_info("/test/bulk/f32")
    assert params_of(route) == {"stream_path": "/test/bulk/f32"}
    assert (info.start, info.end, info.count) == (1700000000000010, 1700000000000500, 2)
