"""Folder calls: what each sends to a respx-mocked node and how it reads the answer."""

from __future__ import annotations

import pytest

from joule_sync import ApiError, Folder
from wire import EVENT_STREAM_JSON, FOLDER_JSON, body_of, ok, params_of


def test_folder_root(mocked_node, mock):
    route = mock.get("/folders.json").respond(
        json={**FOLDER_JSON, "id": 1, "name": "root", "children": [FOLDER_JSON]}
    )
    root = mocked_node.folder_root()
    assert params_of(route) == {}
    assert root.name == "root"
    assert root.children[0].data_streams[0].elements[0].name == "x"
    assert root.children[0].event_streams[0].event_fields == EVENT_STREAM_JSON["event_fields"]


@pytest.mark.parametrize(
    ("folder", "expected"),
    [("/test/bulk", {"path": "/test/bulk"}), (5, {"id": "5"}), (Folder(id=7), {"id": "7"})],
)
def test_folder_get(mocked_node, mock, folder, expected):
    route = mock.get("/folder.json").respond(json=FOLDER_JSON)
    result = mocked_node.folder_get(folder)
    assert params_of(route) == expected
    assert (result.id, result.name, result.description) == (5, "bulk", None)


def test_folder_move(mocked_node, mock):
    route = mock.put("/folder/move.json").respond(json={"stream": FOLDER_JSON})
    assert mocked_node.folder_move("/test/events", "/moved") is None
    assert body_of(route) == {"src_path": "/test/events", "dest_path": "/moved"}
    mocked_node.folder_move(Folder(id=6), 9)
    assert body_of(route) == {"src_id": 6, "dest_id": 9}


def test_folder_update_sends_the_whole_folder(mocked_node, mock):
    route = mock.put("/folder.json").respond(json=FOLDER_JSON)
    folder = Folder.from_json(FOLDER_JSON)
    folder.description = "bulk data"
    assert mocked_node.folder_update(folder) is None
    body = body_of(route)
    assert body["id"] == 5
    # which keys to_json() sends: test_models.py
    assert body["folder"] == {**folder.to_json(), "description": "bulk data"}


@pytest.mark.parametrize(("recursive", "flag"), [(False, "0"), (True, "1")])
def test_folder_delete(mocked_node, mock, recursive, flag):
    route = ok(mock.delete("/folder.json"))
    mocked_node.folder_delete("/moved", recursive=recursive)
    assert params_of(route) == {"path": "/moved", "recursive": flag}


def test_folder_delete_defaults_to_not_recursive(mocked_node, mock):
    route = ok(mock.delete("/folder.json"))
    mocked_node.folder_delete(12)
    assert params_of(route) == {"id": "12", "recursive": "0"}


def test_folder_delete_with_children_reports_the_node_reason(mocked_node, mock):
    mock.delete("/folder.json").respond(
        400,
        text="400: specify [recursive] or remove child folders first",
        extensions={"reason_phrase": b"specify [recursive] or remove child folders first"},
    )
    with pytest.raises(ApiError, match=r"specify \[recursive\]") as error:
        mocked_node.folder_delete("/moved")
    assert error.value.status == 400
