"""Every Node method against a real upstream node (the session's ``joule_node``).

The behaviours are those the upstream API reference shows: folders and streams by object,
path or id; moves into missing folders create them; folders with children need
``recursive``; locked (configured or live) streams and folders refuse changes; annotations
and events round-trip; modules, proxies, masters, followers and the database are reachable.
Each test works in its own folder (``base``), as the node is shared by the whole session.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy

import joule_sync
from joule_sync import (
    Annotation,
    ApiError,
    DataStream,
    Element,
    Event,
    EventStream,
    Folder,
    Node,
    StreamNotFound,
)
from joule_sync._arguments import stream_spec
from joule_sync.devnode import NODE_NAME

T0 = 1_700_000_000_000_000  # µs
MS = 1000
S = 1_000_000


@pytest.fixture
def base(node: Node) -> Iterator[str]:
    """A folder path of this test's own (created by whatever the test puts in it)."""
    path = f"/conformance_{uuid.uuid4().hex[:10]}"
    yield path
    with contextlib.suppress(StreamNotFound):  # the test moved or deleted it
        node.folder_delete(path, recursive=True)


def make_stream(node: Node, folder: str, name: str = "s", width: int = 2) -> DataStream:
    stream = DataStream(
        name=name,
        description="made by a test",
        datatype="int32",
        elements=[Element(name=f"e{i}", units="u") for i in range(width)],
    )
    return node.data_stream_create(stream, folder)


def write_rows(node: Node, stream: DataStream, timestamps: np.ndarray) -> None:
    """Store rows (element i of row k holds k + i) with a raw POST /data."""
    rows = np.zeros(len(timestamps), dtype=stream.dtype)
    rows["timestamp"] = timestamps
    rows["data"] = np.arange(len(timestamps))[:, None] + np.arange(len(stream.elements))
    node.transport.upload("/data", {**stream_spec(stream), "merge-gap": 0}, iter([rows.tobytes()]))


# -- node --------------------------------------------------------------------------------


def test_info(node, joule_node):
    info = node.info()
    assert (info.version, info.name) == ("1.0.1", NODE_NAME)
    assert len(info.uuid or "") == 36
    assert info.size_db > 0 and info.size_free > 0
    assert info.path


def test_the_nodes_unix_socket_needs_no_key(joule_node):
    socket_path = Path(joule_node.state_dir) / "run" / "api"
    assert socket_path.is_socket(), f"jouled's API socket is not at {socket_path}"
    with Node("http://localhost", None, uds=socket_path) as local:
        assert local.info().name == NODE_NAME
        assert "uds=" in repr(local)


def test_get_node_from_the_environment(joule_node, monkeypatch):
    monkeypatch.setenv("JOULE_URL", joule_node.url)
    monkeypatch.setenv("JOULE_KEY", joule_node.key)
    with joule_sync.get_node() as node:
        assert node.info().name == NODE_NAME


def test_get_node_from_the_upstream_cli_files(joule_node, monkeypatch, tmp_path):
    """The files as `joule node add` writes them."""
    monkeypatch.delenv("JOULE_URL", raising=False)
    monkeypatch.setenv("JOULE_USER_CONFIG_DIR", str(tmp_path))
    nodes = tmp_path / "nodes.json"
    nodes.write_text(f'[{{"name": "dev", "url": "{joule_node.url}", "key": "{joule_node.key}"}}]')
    nodes.chmod(0o600)
    (tmp_path / "default_node.txt").write_text("dev\n")
    with joule_sync.get_node() as node:
        assert node.name == "dev"
        assert node.info().name == NODE_NAME


# -- folders -----------------------------------------------------------------------------


def test_folder_root_holds_the_configured_tree(node):
    root = node.folder_root()
    children = {child.name: child for child in root.children}
    assert {"live", "static"} <= set(children)
    assert children["static"].locked
    assert [s.name for s in children["static"].data_streams] == ["configured"]
    assert [s.name for s in children["static"].event_streams] == ["configured_events"]
    live = {s.name: s for s in children["live"].data_streams}
    assert live["random"].layout == "float32_3" and live["random"].is_destination


def test_folder_get_by_path_id_and_object(node, base):
    make_stream(node, f"{base}/sub")
    folder = node.folder_get(base)
    assert folder.name == base.lstrip("/")
    assert [child.name for child in folder.children] == ["sub"]
    assert node.folder_get(folder.id) == folder
    assert node.folder_get(folder) == folder
    assert node.folder_get(f"{base}/sub").data_streams[0].name == "s"


def test_folder_get_of_a_missing_folder_raises_stream_not_found(node):
    with pytest.raises(StreamNotFound) as error:
        node.folder_get("/does/not/exist")
    assert (error.value.message, error.value.status) == (
        "folder '/does/not/exist' does not exist",
        404,
    )


def test_folder_move_creates_a_missing_destination(node, base):
    make_stream(node, f"{base}/parent1/my_folder")
    node.folder_move(f"{base}/parent1/my_folder", f"{base}/parent2")
    parent2 = node.folder_get(f"{base}/parent2")
    assert [child.name for child in parent2.children] == ["my_folder"]
    assert node.folder_get(f"{base}/parent1").children == []
    # by object and id too
    node.folder_move(parent2.children[0], node.folder_get(f"{base}/parent1").id)
    assert [c.name for c in node.folder_get(f"{base}/parent1").children] == ["my_folder"]


def test_folder_move_of_a_missing_folder_or_into_its_own_child_fails(node, base):
    make_stream(node, f"{base}/a/b")
    with pytest.raises(StreamNotFound):
        node.folder_move(f"{base}/missing", f"{base}/a")
    with pytest.raises(ApiError, match="cannot place a parent in a child folder") as error:
        node.folder_move(f"{base}/a", f"{base}/a/b")
    assert error.value.status == 400


def test_folder_update_renames(node, base):
    make_stream(node, f"{base}/old")
    folder = node.folder_get(f"{base}/old")
    folder.name = "new"
    folder.description = "renamed by a test"
    assert node.folder_update(folder) is None
    renamed = node.folder_get(f"{base}/new")
    assert (renamed.id, renamed.description) == (folder.id, "renamed by a test")
    with pytest.raises(StreamNotFound):
        node.folder_get(f"{base}/old")


def test_folder_delete_with_children_needs_recursive(node, base):
    make_stream(node, f"{base}/child")
    with pytest.raises(ApiError) as error:
        node.folder_delete(base, False)
    assert error.value.message == "specify [recursive] or remove child folders first"
    assert error.value.status == 400
    node.folder_delete(node.folder_get(base), recursive=True)
    with pytest.raises(StreamNotFound):
        node.folder_get(base)


def test_locked_folders_refuse_deletion(node):
    with pytest.raises(ApiError, match="folder is locked"):
        node.folder_delete("/static", recursive=True)
    assert node.folder_get("/static").locked


# -- data streams ------------------------------------------------------------------------


def test_data_stream_create_into_a_new_folder_and_get_it_every_way(node, base):
    created = make_stream(node, f"{base}/new_folder", width=3)
    assert created.id is not None
    assert (created.layout, created.description) == ("int32_3", "made by a test")
    assert [(e.index, e.name, e.units) for e in created.elements] == [
        (0, "e0", "u"),
        (1, "e1", "u"),
        (2, "e2", "u"),
    ]
    assert node.data_stream_get(f"{base}/new_folder/s") == created
    assert node.data_stream_get(created.id) == created
    assert node.data_stream_get(created) == created
    folder = node.folder_get(f"{base}/new_folder")
    assert [s.id for s in folder.data_streams] == [created.id]


def test_a_stream_name_is_unique_in_its_folder(node, base):
    make_stream(node, base)
    with pytest.raises(ApiError, match="same name exists in the folder") as error:
        make_stream(node, base)
    assert error.value.status == 400


def test_data_stream_get_of_a_missing_stream_raises_stream_not_found(node):
    with pytest.raises(StreamNotFound) as error:
        node.data_stream_get("/does/not/exist")
    assert (error.value.message, error.value.status) == (
        "stream '/does/not/exist' does not exist",
        404,
    )
    with pytest.raises(StreamNotFound):
        node.data_stream_get(999_999)


def test_data_stream_update_changes_stream_and_elements(node, base):
    stream = make_stream(node, base)
    stream.name = "renamed"
    stream.description = "updated"
    stream.keep_us = 3_600_000_000
    stream.decimate = False
    stream.elements[0].name = "New Name"
    stream.elements[1].default_max = 10.0
    assert node.data_stream_update(stream) is None
    updated = node.data_stream_get(stream.id)
    assert (updated.name, updated.description, updated.keep_us, updated.decimate) == (
        "renamed",
        "updated",
        3_600_000_000,
        False,
    )
    assert updated.elements[0].name == "New Name"
    assert updated.elements[1].default_max == 10.0


def test_locked_streams_refuse_changes(node, base):
    configured = node.data_stream_get("/static/configured")
    assert configured.locked and configured.is_configured
    configured.description = "changed"
    with pytest.raises(ApiError, match="stream is locked"):
        node.data_stream_update(configured)
    with pytest.raises(ApiError, match="stream is locked"):
        node.data_stream_delete("/static/configured")
    assert node.data_stream_get("/static/configured").description == "statically configured stream"


def test_data_stream_move_creates_the_destination(node, base):
    stream = make_stream(node, f"{base}/parent1")
    node.data_stream_move(f"{base}/parent1/s", f"{base}/parent2")
    assert [s.id for s in node.folder_get(f"{base}/parent2").data_streams] == [stream.id]
    make_stream(node, f"{base}/parent1")  # a new stream of the same name
    with pytest.raises(ApiError, match="same name exists in the destination"):
        node.data_stream_move(stream, f"{base}/parent1")
    with pytest.raises(StreamNotFound):
        node.data_stream_move(f"{base}/nope", f"{base}/parent2")


def test_data_stream_delete(node, base):
    stream = make_stream(node, base)
    node.data_stream_delete(stream)
    with pytest.raises(StreamNotFound):
        node.data_stream_get(stream.id)
    with pytest.raises(StreamNotFound):
        node.data_stream_delete(f"{base}/s")


def test_datatypes_are_case_insensitive_as_on_the_node(node, base):
    stream = DataStream("upper", datatype="FLOAT64", elements=[Element("a")])
    assert node.data_stream_create(stream, base).datatype == "float64"


# -- data --------------------------------------------------------------------------------


def test_intervals_delete_consolidate_and_info(node, base):
    stream = make_stream(node, base)
    assert node.data_intervals(stream) == []
    empty = node.data_stream_info(stream)
    assert (empty.start, empty.end, empty.rows) == (None, None, 0)
    write_rows(node, stream, T0 + np.arange(1000) * MS)
    assert node.data_intervals(f"{base}/s") == [[T0, T0 + 999 * MS + 1]]
    info = node.data_stream_info(stream.id)
    assert (info.start, info.end) == (T0, T0 + 999 * MS)
    assert info.total_time == 999 * MS
    assert info.rows > 0  # an estimate, from the coarsest decimation level

    node.data_delete(stream, start=T0 + 400 * MS, end=T0 + 500 * MS)
    assert node.data_intervals(stream) == [
        [T0, T0 + 399 * MS + 1],
        [T0 + 500 * MS, T0 + 999 * MS + 1],
    ]
    assert node.data_intervals(stream, start=T0, end=T0 + 10 * MS) == [[T0, T0 + 9 * MS + 1]]
    assert node.data_consolidate(stream, max_gap=50 * MS) == 0  # the gap is 101 ms
    assert node.data_consolidate(stream, max_gap=200 * MS) == 1
    assert node.data_intervals(stream) == [[T0, T0 + 999 * MS + 1]]

    node.data_delete(stream)
    assert node.data_intervals(stream) == []


def _decimated_rows(node: Node, stream: DataStream) -> tuple[int, int]:
    """(decimation factor, rows) of a 10-row read of the stream, through /data.json."""
    answer = node.transport.json(
        "GET", "/data.json", params={**stream_spec(stream), "max-rows": 10}
    )
    return answer["decimation_factor"], sum(len(interval) for interval in answer["data"])


def test_decimations_can_be_dropped_and_rebuilt(node, base):
    stream = make_stream(node, base)
    write_rows(node, stream, T0 + np.arange(1024) * MS)
    factor, rows = _decimated_rows(node, stream)
    assert factor > 1 and 0 < rows <= 20
    node.data_drop_decimations(stream)
    assert _decimated_rows(node, stream)[1] == 0  # upstream quirk: no rows until rebuilt
    node.data_decimate(f"{base}/s")
    assert _decimated_rows(node, stream) == (factor, rows)


def test_data_delete_on_a_missing_stream(node):
    with pytest.raises(StreamNotFound):
        node.data_delete("/does/not/exist")


# -- annotations -------------------------------------------------------------------------


def test_annotations_round_trip(node, base):
    stream = make_stream(node, base)
    event_note = node.annotation_create(Annotation("Event Annotation", start=T0 + 500), stream)
    range_note = node.annotation_create(
        Annotation("Range Annotation", start=T0 + 10, end=T0 + 2000, content="c1"), f"{base}/s"
    )
    assert (event_note.stream_id, event_note.end) == (stream.id, None)
    assert range_note == Annotation("Range Annotation", T0 + 10, T0 + 2000, "c1")
    by_start = sorted(node.annotation_get(stream), key=lambda a: a.start)
    assert by_start == [range_note, event_note]
    assert [a.id for a in by_start] == [range_note.id, event_note.id]
    assert node.annotation_get(stream.id, start=T0, end=T0 + 100) == [range_note]
    info = node.annotation_info(stream)
    assert (info.start, info.end, info.count) == (T0 + 10, T0 + 500, 2)

    range_note.title, range_note.content = "renamed", "updated"
    range_note.start = T0  # times do not change
    updated = node.annotation_update(range_note)
    assert (updated.title, updated.content, updated.start) == ("renamed", "updated", T0 + 10)

    node.annotation_delete(event_note)
    assert [a.id for a in node.annotation_get(stream)] == [range_note.id]
    with pytest.raises(ApiError, match="annotation does not exist") as error:
        node.annotation_delete(event_note.id)
    assert error.value.status == 404


def test_data_stream_annotation_delete_within_a_range(node, base):
    stream = make_stream(node, base)
    for offset in (0, 10, 20):
        node.annotation_create(Annotation(f"at {offset}", start=T0 + offset), stream)
    node.data_stream_annotation_delete(stream, start=T0 + 5, end=T0 + 15)
    assert [a.title for a in node.annotation_get(stream)] == ["at 0", "at 20"]
    node.data_stream_annotation_delete(f"{base}/s")
    assert node.annotation_get(stream) == []


def test_annotations_of_a_missing_stream(node):
    with pytest.raises(StreamNotFound):
        node.annotation_get("/does/not/exist")


# -- event streams -----------------------------------------------------------------------


def make_events(count: int, start: int = T0) -> list[Event]:
    return [
        Event(
            start + n * S,
            start + n * S + S // 2,
            {"label": "even" if n % 2 == 0 else "odd", "value": n},
        )
        for n in range(count)
    ]


def make_event_stream(node: Node, folder: str, name: str = "events") -> EventStream:
    stream = EventStream(name, "ev", event_fields={"label": "string", "value": "numeric"})
    return node.event_stream_create(stream, folder)


def test_event_stream_create_get_update_move_delete(node, base):
    created = make_event_stream(node, f"{base}/events")
    assert created.event_fields == {"label": "string", "value": "numeric"}
    assert node.event_stream_get(f"{base}/events/events") == created
    assert node.event_stream_get(created.id) == created
    created.description = "updated"
    assert node.event_stream_update(created) is None
    assert node.event_stream_get(created).description == "updated"
    node.event_stream_move(created, f"{base}/moved")
    assert [s.id for s in node.folder_get(f"{base}/moved").event_streams] == [created.id]
    node.event_stream_delete(f"{base}/moved/events")
    with pytest.raises(StreamNotFound):
        node.event_stream_get(created.id)


def test_event_stream_get_can_create_the_stream(node, base):
    path = f"{base}/made/events"
    with pytest.raises(StreamNotFound):
        node.event_stream_get(path)
    made = node.event_stream_get(path, create=True, chunk_duration="1h", description="new")
    assert (made.name, made.description, made.chunk_duration_us) == ("events", "new", 3_600 * S)
    assert node.event_stream_get(path, create=True) == made


def test_configured_event_streams_are_locked(node):
    configured = node.event_stream_get("/static/configured_events")
    configured.description = "changed"
    with pytest.raises(ApiError, match="stream is locked"):
        node.event_stream_update(configured)


def test_event_stream_write_read_count_and_info(node, base):
    stream = make_event_stream(node, base)
    events = make_events(1200)  # more than one 500-event POST
    returned = node.event_stream_write(stream, events)
    assert returned == events
    assert all(e.id is not None for e in events)
    assert len({e.id for e in events}) == 1200

    assert node.event_stream_count(stream) == 1200
    read = list(node.event_stream_read(f"{base}/events"))  # pages of 1000
    assert read == events
    assert [e.id for e in read] == [e.id for e in events]
    blocks = list(node.event_stream_read(stream, block_size=500))
    assert all(isinstance(block, list) and len(block) <= 500 for block in blocks)
    assert [e for block in blocks for e in block] == events

    info = node.event_stream_info(stream)
    assert (info.start, info.end, info.event_count) == (T0, T0 + 1199 * S + S // 2, 1200)


def test_event_reads_within_a_range_with_and_without_ongoing_events(node, base):
    stream = make_event_stream(node, base)
    node.event_stream_write(stream, make_events(10))  # event n covers [n s, n s + 0.5 s)
    start, end = T0 + 2 * S + S // 4, T0 + 5 * S
    within = node.event_stream_read_list(stream, start=start, end=end)
    assert [e.content["value"] for e in within] == [2, 3, 4]  # 2 is still going at start
    starting = list(node.event_stream_read(stream, start, end, include_on_going_events=False))
    assert [e.content["value"] for e in starting] == [3, 4]
    assert node.event_stream_count(stream, start=start, end=end) == 3
    assert node.event_stream_count(stream, start, end, include_on_going_events=False) == 2
    only_end = node.event_stream_read_list(stream, end=T0 + 3 * S)
    assert [e.content["value"] for e in only_end] == [0, 1, 2]


@pytest.mark.parametrize(
    "json_filter",
    [
        '[[["label", "is", "even"], ["value", "gt", "10"]]]',
        [[["label", "is", "even"], ["value", "gt", 10]]],
    ],
)
def test_event_filters_in_both_forms(node, base, json_filter):
    stream = make_event_stream(node, base)
    node.event_stream_write(stream, make_events(100))
    expected = [n for n in range(100) if n % 2 == 0 and n > 10]
    read = node.event_stream_read_list(stream, json_filter=json_filter)
    assert [e.content["value"] for e in read] == expected
    assert node.event_stream_count(stream, json_filter=json_filter) == len(expected) == 44


def test_an_or_of_filters(node, base):
    stream = make_event_stream(node, base)
    node.event_stream_write(stream, make_events(20))
    # value < 2 OR (label like odd AND value >= 17)
    json_filter = [[["value", "lt", 2]], [["label", "like", "od%"], ["value", "gte", 17]]]
    read = node.event_stream_read_list(stream, json_filter=json_filter)
    assert [e.content["value"] for e in read] == [0, 1, 17, 19]


def test_events_read_back_are_updated_in_place_when_written_again(node, base):
    stream = make_event_stream(node, base)
    node.event_stream_write(stream, make_events(5))
    [third] = [e for e in node.event_stream_read(stream) if e.content["value"] == 2]
    third.content["label"] = "updated"
    node.event_stream_write(stream, [third])
    assert node.event_stream_count(stream) == 5
    labels = {e.id: e.content["label"] for e in node.event_stream_read(stream)}
    assert labels[third.id] == "updated"


def test_events_written_again_are_updated_not_copied(node, base):
    # upstream returns the written events without their node: writing them again adds copies
    stream = make_event_stream(node, base)
    events = node.event_stream_write(stream, make_events(3))
    events[0].content["label"] = "changed"
    node.event_stream_write(stream, events)
    assert node.event_stream_count(stream) == 3
    assert node.event_stream_read_list(stream)[0].content["label"] == "changed"


def test_events_copied_to_another_stream_are_added_there(node, base):
    source = make_event_stream(node, base, "source")
    target = make_event_stream(node, base, "target")
    node.event_stream_write(source, make_events(3))
    copied = node.event_stream_read_list(source)
    node.event_stream_write(target, copied)
    assert node.event_stream_count(target) == 3
    assert node.event_stream_count(source) == 3
    assert node.event_stream_read_list(target) == node.event_stream_read_list(source)


def test_events_sharing_a_start_time_across_pages_are_all_read(node, base, caplog):
    stream = make_event_stream(node, base)
    same = [Event(T0 + S, T0 + 2 * S, {"label": "tie", "value": n}) for n in range(3)]
    node.event_stream_write(stream, [*make_events(1), *same])
    with caplog.at_level(logging.WARNING, logger="joule_sync"):
        read = [e for block in node.event_stream_read(stream, block_size=3) for e in block]
    assert sorted(e.content["value"] for e in read) == [0, 0, 1, 2]
    assert len({e.id for e in read}) == 4


def test_event_stream_read_list_stops_at_its_limit(node, base):
    stream = make_event_stream(node, base)
    node.event_stream_write(stream, make_events(30))
    assert [e.content["value"] for e in node.event_stream_read_list(stream, limit=7)] == list(
        range(7)
    )


def test_event_stream_remove_by_filter_and_by_time(node, base):
    stream = make_event_stream(node, base)
    node.event_stream_write(stream, make_events(100))
    node.event_stream_remove(stream, json_filter='[[["label", "is", "odd"]]]')
    assert node.event_stream_count(stream) == 50
    node.event_stream_remove(stream, start=T0, end=T0 + 10 * S)
    assert node.event_stream_count(stream) == 45
    node.event_stream_remove(f"{base}/events")
    assert node.event_stream_count(stream) == 0


def test_event_stream_errors_come_from_the_node(node, base):
    with pytest.raises(StreamNotFound):
        node.event_stream_count("/does/not/exist")
    with pytest.raises(StreamNotFound):
        list(node.event_stream_read("/does/not/exist"))


# -- modules, proxies --------------------------------------------------------------------


def test_modules_list_the_live_modules(node):
    modules = {m.name: m for m in node.module_list()}
    assert modules["random"].outputs == {"output": "/live/random"}
    assert modules["random"].statistics is None
    with_stats = {m.name: m for m in node.module_list(statistics=True)}
    stats = with_stats["random"].statistics
    assert stats is not None and stats.pid > 0
    random = node.module_get("random")
    assert node.module_get(random.id).name == "random"
    assert node.module_get(random, statistics=True).statistics is not None
    logs = node.module_logs("random")
    assert logs and all(isinstance(line, str) for line in logs)
    assert any("starting module" in line for line in logs)


def test_a_missing_module_is_a_404(node):
    with pytest.raises(ApiError) as error:
        node.module_get("nope")
    assert (error.value.message, error.value.status) == ("module does not exist", 404)
    assert type(error.value) is ApiError


def test_proxies(node):
    [proxy] = node.proxy_list()
    assert proxy.name == "refnode_self"
    assert proxy.target_url.endswith("/version/")
    assert node.proxy_get("refnode_self") == proxy
    assert node.proxy_get(proxy.id) == proxy
    with pytest.raises(ApiError, match="proxy does not exist"):
        node.proxy_get("nope")


# -- masters, followers ------------------------------------------------------------------


def test_master_add_user_returns_a_working_key_until_deleted(node, joule_node):
    name = f"user_{uuid.uuid4().hex[:8]}"
    master = node.master_add("user", name)
    assert (master.master_type, master.name) == ("user", name)
    assert master.key
    assert name in {m.name for m in node.master_list()}
    with Node(joule_node.url, master.key) as as_user:
        assert as_user.info().name == NODE_NAME
        node.master_remove(master)
        with pytest.raises(ApiError) as error:
            as_user.info()
    assert error.value.status == 403
    assert name not in {m.name for m in node.master_list()}


def test_master_delete_by_type_and_name(node):
    name = f"user_{uuid.uuid4().hex[:8]}"
    node.master_add("user", name)
    node.master_delete("user", name)
    assert name not in {m.name for m in node.master_list()}
    with pytest.raises(ApiError, match=r"is not a master of node") as error:
        node.master_delete("user", name)
    assert error.value.status == 404


def test_a_node_master_that_cannot_be_reached(node):
    with pytest.raises(ApiError, match=r"Cannot contact node at \[http://127.0.0.1:1\]") as error:
        node.master_add("joule", "http://127.0.0.1:1")
    assert error.value.status == 400


def test_followers(node):
    assert node.follower_list() == []
    with pytest.raises(ApiError, match="follower not found") as error:
        node.follower_delete("nobody")
    assert error.value.status == 404
    with pytest.raises(ApiError, match="follower not found"):
        node.follower_remove("nobody")


# -- database ----------------------------------------------------------------------------


def test_db_connection_info(node, joule_node):
    # connecting with it, both ways and under SQLAlchemy 2.0 and 2.1: tests/test_db.py
    info = node.db_connection_info()
    assert (info.host, info.port, info.database) == ("127.0.0.1", joule_node.pg_port, "joule")


def test_the_database_holds_the_streams(node, base):
    stream = make_stream(node, base)
    write_rows(node, stream, T0 + np.arange(5) * MS)
    engine = node.db_connect()
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sqlalchemy.text(f"SELECT count(*) FROM data.stream{stream.id}")
            ).scalar()
    finally:
        engine.dispose()
    assert rows == 5


# -- the models the node hands out are the ones it takes back ----------------------------


def test_folders_from_the_node_update_as_they_came(node, base):
    make_stream(node, base)
    folder: Folder = node.folder_get(base)
    folder.description = "round trip"
    node.folder_update(folder)
    assert node.folder_get(base).description == "round trip"
    assert node.folder_get(base).data_streams == folder.data_streams
