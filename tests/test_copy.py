"""Copies between two real nodes: ``Node.data_copy``, ``Node.event_copy``, ``joule-sync copy``.

The session's node is the source; a second node, started lean (no modules) for this module
only, is the destination.  What must hold: a copy gives the same rows and intervals; only
what the destination lacks is sent, so a second run sends nothing and a copy that broke off
(its upload cut, its read cut inside a row, its read ended inside a row), run again, ends
with every row once; a destination of another layout is refused before anything is sent.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
import pytest

from faultproxy import Fault, FaultProxy
from joule_sync import (
    Annotation,
    ConnectionFailed,
    DataError,
    DataStream,
    Element,
    Event,
    EventStream,
    InvalidArgument,
    Node,
)
from joule_sync._cli import EXIT_ERROR, main
from joule_sync._copy import Run, missing_runs
from joule_sync.devnode import DevNode
from rows import make_rows

LAYOUT = "float32_3"
ROW_BYTES = 20
ROWS = 60_000
BREAKS = (16_000, 42_000)  # rows after which the source has an interval break
CUT = 45_555 * ROW_BYTES + 7  # inside a row: the node has stored 10,000-row blocks by then
GAP = 5_000_000  # µs of no data at each break

Source = tuple[DataStream, str, npt.NDArray[np.void]]


@pytest.fixture
def dest(second_node: DevNode) -> Iterator[Node]:
    with Node(second_node.url, second_node.key, name="second") as connected:
        yield connected


@pytest.fixture
def source(node: Node) -> Source:
    """A float32_3 stream of ROWS rows in three intervals, with annotations: the stream, its
    path and its rows."""
    path = f"/copy/{uuid.uuid4().hex[:8]}/power"
    template = DataStream(
        name="power",
        description="three phases",
        keep_us=86_400_000_000 * 365 * 100,  # the rows are from 2023: they stay
        decimate=False,
        elements=[Element(name=p, units="W", display_type="DISCRETE") for p in "abc"],
    )
    stream = node.data_stream_create(template, path.rsplit("/", 1)[0])
    rows = make_rows(LAYOUT, ROWS)
    for after in BREAKS:
        rows["timestamp"][after:] += GAP
    with node.data_write(stream) as pipe:
        for part in np.split(rows, BREAKS):
            pipe.write(part)
            pipe.close_interval()
    timestamps = rows["timestamp"]
    marks = [("point", 100, None), ("range", BREAKS[0] + 500, BREAKS[0] + 2_000),
             ("late", 50_000, 51_000)]  # fmt: skip
    for title, first, last in marks:
        end = None if last is None else int(timestamps[last])
        node.annotation_create(Annotation(title, int(timestamps[first]), end, title * 2), stream)
    return stream, path, rows


def test_the_second_node_runs_no_modules(dest: Node) -> None:
    assert dest.module_list() == []
    assert not dest.data_stream_get("/live/random").active


def assert_same_data(node: Node, path: str, dest: Node, dest_path: str) -> None:
    assert dest.data_read_array(dest_path).tobytes() == node.data_read_array(path).tobytes()
    assert dest.data_intervals(dest_path) == node.data_intervals(path)


# -- what is missing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "dest", "runs"),
    [
        ([(0, 10)], [], [Run(0, 10, False, False)]),
        ([(0, 10), (20, 30)], [], [Run(0, 30, False, False)]),  # one request: a source gap
        ([(0, 10), (20, 30)], [(0, 10), (20, 30)], []),
        ([(0, 10), (20, 30)], [(12, 15)], [Run(0, 10, False, False), Run(20, 30, False, False)]),
        ([(0, 100)], [(0, 40)], [Run(40, 100, True, False)]),  # the rest of a broken copy
        ([(0, 100)], [(30, 60)], [Run(0, 30, False, True), Run(60, 100, True, False)]),
        ([(0, 10), (20, 100)], [(0, 10), (20, 50)], [Run(50, 100, True, False)]),
        ([(0, 10), (20, 30)], [(5, 25)], [Run(0, 5, False, True), Run(25, 30, True, False)]),
        ([(10, 20)], [(0, 10), (20, 30)], [Run(10, 20, False, False)]),  # dest touches, no more
        ([], [(0, 10)], []),
    ],
)
def test_what_is_missing_is_the_source_intervals_minus_the_destinations(
    source: list[tuple[int, int]], dest: list[tuple[int, int]], runs: list[Run]
) -> None:
    assert missing_runs(source, dest) == runs


# -- data ------------------------------------------------------------------------------------


def test_a_copy_is_the_same_rows_and_intervals_and_a_second_sends_nothing(
    node: Node, dest: Node, source: Source
) -> None:
    stream, path, rows = source
    result = node.data_copy(stream, dest, annotations=True)
    assert (result.path, result.rows, result.created, result.annotations) == (path, ROWS, True, 3)
    # the rows, one break between intervals and one at the end
    assert result.bytes == (ROWS + len(BREAKS) + 1) * ROW_BYTES
    assert_same_data(node, path, dest, path)
    assert dest.data_read_array(path).tobytes() == rows.tobytes()
    copied = dest.data_stream_get(path)
    assert (copied.layout, copied.description, copied.keep_us, copied.decimate) == (
        LAYOUT, "three phases", stream.keep_us, False,
    )  # fmt: skip
    assert [(e.name, e.units, e.display_type) for e in copied.elements] == [
        (e.name, e.units, e.display_type) for e in stream.elements
    ]
    assert dest.annotation_get(path) == node.annotation_get(path)

    again = node.data_copy(path, dest, annotations=True)
    assert (again.rows, again.bytes, again.ranges, again.annotations, again.created) == (
        0, 0, [], 0, False,
    )  # fmt: skip
    assert dest.data_read_array(path).tobytes() == rows.tobytes()
    assert len(dest.annotation_get(path)) == 3


def test_copies_of_pieces_then_the_rest_give_the_sources_intervals(
    node: Node, dest: Node, source: Source
) -> None:
    """A piece inside an interval, one across a break, then everything: the destination's
    pieces are joined where the source's interval goes on, annotations come with their range."""
    stream, path, rows = source
    timestamps = rows["timestamp"]
    other = f"{path}_pieces"
    inside = node.data_copy(
        path, dest, other, start=int(timestamps[2_000]), end=int(timestamps[3_000]),
        annotations=True,
    )  # fmt: skip
    assert (inside.rows, inside.annotations) == (1_000, 0)  # no annotation overlaps it
    across = node.data_copy(
        path, dest, other, start=int(timestamps[BREAKS[0] - 500]),
        end=int(timestamps[BREAKS[0] + 1_500]), annotations=True,
    )  # fmt: skip
    assert (across.rows, across.annotations) == (2_000, 1)  # "range" starts in it
    rest = node.data_copy(stream, dest, other, annotations=True)
    assert (rest.rows, rest.annotations, rest.created) == (ROWS - 3_000, 2, False)
    assert_same_data(node, path, dest, other)
    assert sorted(a.title for a in dest.annotation_get(other)) == ["late", "point", "range"]


CUTS = {
    "upload cut": ("dest", Fault(cut_request_after=CUT), ConnectionFailed),
    # the part of a row read must not go on: the node would store the rows before it, and
    # drop the part without a word at the end of an upload
    "read cut": ("source", Fault(cut_response_after=CUT), ConnectionFailed),
    # after the first block of about a MiB went on
    "read cut after a block": (
        "source",
        Fault(cut_response_after=55_555 * ROW_BYTES + 7),
        ConnectionFailed,
    ),
    "read ends": ("source", Fault(end_response_after=CUT), DataError),
}


@pytest.mark.parametrize("cut", CUTS.values(), ids=CUTS.keys())
def test_a_copy_that_broke_off_run_again_completes_with_nothing_doubled(
    node: Node,
    dest: Node,
    source: Source,
    joule_node: DevNode,
    second_node: DevNode,
    cut: tuple[str, Fault, type[Exception]],
) -> None:
    _, path, rows = source
    where, fault, error = cut
    proxied_node = joule_node if where == "source" else second_node
    with FaultProxy(urlsplit(proxied_node.url).port or 0) as proxy:
        proxy.inject(fault, method="POST" if where == "dest" else "GET", path="/data")
        with Node(proxy.url, proxied_node.key) as proxied:
            from_node, to_node = (proxied, dest) if where == "source" else (node, proxied)
            with pytest.raises(error, match=r"the copy of .* broke off .* copying again"):
                from_node.data_copy(path, to_node)
        assert proxy.injected == 1
    stored = dest.data_read_array(path)
    cut_at = fault.cut_response_after or fault.end_response_after or fault.cut_request_after
    assert 0 < len(stored) <= cut_at // ROW_BYTES  # a prefix of whole rows, and nothing else
    assert stored.tobytes() == rows[: len(stored)].tobytes()

    rest = node.data_copy(path, dest)
    assert rest.rows == ROWS - len(stored)
    assert_same_data(node, path, dest, path)


def test_a_destination_of_another_layout_is_refused_before_anything_is_sent(
    node: Node, dest: Node, second_node: DevNode, source: Source
) -> None:
    _, path, _ = source
    taken = DataStream(name="power", datatype="int16", elements=[Element("x"), Element("y")])
    dest.data_stream_create(taken, path.rsplit("/", 1)[0])
    refused = rf"cannot copy 'power' \(float32_3\) to second:{path}: that stream is int16_2"
    with (
        FaultProxy(urlsplit(second_node.url).port or 0) as proxy,
        Node(proxy.url, second_node.key, name="second") as proxied,
    ):
        with pytest.raises(InvalidArgument, match=refused):
            node.data_copy(path, proxied, annotations=True)
        assert proxy.requests == ["GET /stream.json"]  # the stream there, and nothing else
    assert dest.data_intervals(path) == [] and dest.annotation_get(path) == []


# -- events ----------------------------------------------------------------------------------


def test_an_event_copy_twice_adds_nothing_and_gives_the_destination_its_own_ids(
    node: Node, dest: Node
) -> None:
    path = f"/copy/{uuid.uuid4().hex[:8]}/events"
    template = EventStream("events", "marks", event_fields={"label": "string"})
    stream = node.event_stream_create(template, path.rsplit("/", 1)[0])
    t0 = 1_700_000_000_000_000
    events = [Event(t0 + i * 1000, t0 + i * 1000 + 500, {"label": f"e{i}"}) for i in range(1_200)]
    # equal events sharing a start time across the first page boundary (1,000 events a page)
    events[998:1_002] = [Event(t0 + 998_000, t0 + 999_000, {"label": "same"})] * 4
    events = node.event_stream_write(
        stream, [Event(e.start_time, e.end_time, e.content) for e in events]
    )

    def held(on: Node, where: str | EventStream) -> Counter[tuple[int, int | None, str]]:
        found = on.event_stream_read(where)
        return Counter((e.start_time, e.end_time, json.dumps(e.content)) for e in found)

    assert node.event_copy(stream, dest) == 1_200
    assert held(dest, path) == held(node, stream)
    copied = dest.event_stream_get(path)
    assert (copied.description, copied.event_fields) == ("marks", {"label": "string"})
    assert node.event_copy(path, dest) == 0
    # the same node, another path: the source's events stay theirs
    assert node.event_copy(stream, node, f"{path}_again") == 1_200
    assert {e.id for e in node.event_stream_read(stream)} == {e.id for e in events}
    # some missing (the equal ones among them: they end in the range removed): those, and
    # only those, are added
    dest.event_stream_remove(path, t0 + 998_500, t0 + 1_100_000)
    missing = 1_200 - dest.event_stream_count(path)
    assert missing == 4 + 98
    assert node.event_copy(stream, dest, start=t0 + 500_000) == missing
    assert held(dest, path) == held(node, stream)


# -- the command line ------------------------------------------------------------------------


def test_joule_sync_copy_to_a_named_node_or_a_url(
    node: Node,
    dest: Node,
    source: Source,
    joule_node: DevNode,
    second_node: DevNode,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, path, _ = source
    nodes = [
        {"name": "first", "url": joule_node.url, "key": joule_node.key},
        {"name": "second", "url": second_node.url, "key": second_node.key},
    ]
    (tmp_path / "nodes.json").write_text(json.dumps(nodes))
    (tmp_path / "nodes.json").chmod(0o600)
    for name in ("JOULE_URL", "JOULE_KEY", "JOULE_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JOULE_USER_CONFIG_DIR", str(tmp_path))

    def copy(*args: str) -> tuple[int, str]:
        status = main(["copy", "--node", "first", *args])
        return status, capsys.readouterr().err

    status, err = copy(path, "--to", f"second:{path}_cli", "-a", "-q")
    assert status == 0
    assert (
        err
        == f"{path} -> second:{path}_cli: {ROWS:,} rows in 1 range, stream created, 3 annotations\n"
    )
    assert_same_data(node, path, dest, f"{path}_cli")
    status, err = copy(path, "--to", f"{second_node.url}/:{path}_cli", "--start", "yesterday")
    assert (status, err) == (0, f"{path} -> second:{path}_cli: 0 rows in 0 ranges\n")

    unlisted = "http://127.0.0.1:9"
    status, err = copy(path, "--to", unlisted)
    assert status == EXIT_ERROR
    assert f"no API key for {unlisted}" in err and joule_node.key not in err

    events = node.event_stream_create(EventStream("marks"), path.rsplit("/", 1)[0])
    node.event_stream_write(events, [Event(1_700_000_000_000_000, 1_700_000_000_000_001)])
    events_path = f"{path.rsplit('/', 1)[0]}/marks"
    assert copy(events_path, "--to", "second") == (
        0,
        f"{events_path} -> second:{events_path}: 1 event added\n",
    )
    status, err = copy(events_path, "--to", "second", "--annotations")
    assert status == EXIT_ERROR and "--annotations is for data streams" in err


def test_copy_help_says_what_is_copied(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["copy", "--help"])
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    assert "--to NODE[:PATH]" in text and "--node" in text and "lacks" in text
