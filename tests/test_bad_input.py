"""Bad input: refused with a clear error, before anything is sent.

Every Node method that takes arguments is called with wrong types, empty or relative names,
negative ids and out-of-range times on a Node whose requests are all recorded: each must
raise ``ConfigurationError`` with nothing sent, and for the common mistakes with a message
that says what is wrong.  Unknown paths and ids go to the real node, which names what is
missing.  Rows that cannot be written (wrong width, non-numbers, NaN, out-of-range
timestamps, timestamps out of order) raise ``DataError`` on the caller's thread, and the
stream is left as it was.

NaN and infinities: the node refuses NaN (after storing the blocks of an upload before the
first NaN) but stores ±Inf, which reads back exactly; upstream refuses both.  We refuse NaN
before sending and write infinities.
"""

from __future__ import annotations

import inspect
import itertools
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

import joule_sync
from conftest import MakeStream
from joule_sync import (
    Annotation,
    ApiError,
    ConfigurationError,
    DataError,
    DataStream,
    Element,
    Event,
    EventStream,
    Folder,
    Master,
    Node,
    ReadPipe,
    StreamNotFound,
    _whole_reads,
    codec,
)
from joule_sync._pipes import WRITE_BLOCK_BYTES
from joule_sync._read_core import DataBody
from rows import make_rows

URL = "http://joule.test"
KEY = "bad-input-key-0123456789"
YEAR_10000 = 253_402_300_800_000_000
Call = Callable[[Node, Any], object]
ONE = [Element("x")]  # one element, for streams whose elements do not matter
A_STREAM = DataStream("s", elements=ONE)  # a stream the node would create

# -- what each method names its objects by, and wrong ways to name them ------------------

# methods whose argument names a stream or folder (an object, a path or an id)
BY_PATH: dict[str, Call] = {
    "data_stream_get": lambda n, s: n.data_stream_get(s),
    "data_stream_info": lambda n, s: n.data_stream_info(s),
    "data_stream_delete": lambda n, s: n.data_stream_delete(s),
    "data_stream_move": lambda n, s: n.data_stream_move(s, "/f"),
    "data_stream_move folder": lambda n, f: n.data_stream_move("/f/s", f),
    "data_stream_create folder": lambda n, f: n.data_stream_create(A_STREAM, f),
    "data_stream_annotation_delete": lambda n, s: n.data_stream_annotation_delete(s),
    "data_delete": lambda n, s: n.data_delete(s),
    "data_intervals": lambda n, s: n.data_intervals(s),
    "data_consolidate": lambda n, s: n.data_consolidate(s, 10),
    "data_decimate": lambda n, s: n.data_decimate(s),
    "data_drop_decimations": lambda n, s: n.data_drop_decimations(s),
    "data_read": lambda n, s: n.data_read(s),
    "data_read_array": lambda n, s: n.data_read_array(s),
    "data_read_dataframe": lambda n, s: n.data_read_dataframe(s),
    "data_read_arrow": lambda n, s: n.data_read_arrow(s),
    "data_read_polars": lambda n, s: n.data_read_polars(s),
    "data_read_chunks": lambda n, s: next(n.data_read_chunks(s)),
    "data_read_dataframe_chunks": lambda n, s: next(n.data_read_dataframe_chunks(s)),
    "data_read_batches": lambda n, s: n.data_read_batches(s),
    "data_subscribe": lambda n, s: n.data_subscribe(s),
    "data_write": lambda n, s: n.data_write(s),
    "export": lambda n, s: n.export(s, "never-written.csv"),
    "data_copy": lambda n, s: n.data_copy(s, n),
    "event_copy": lambda n, s: n.event_copy(s, n),
    "annotation_create stream": lambda n, s: n.annotation_create(Annotation("t", 1), s),
    "annotation_get": lambda n, s: n.annotation_get(s),
    "annotation_info": lambda n, s: n.annotation_info(s),
    "event_stream_get": lambda n, s: n.event_stream_get(s),
    "event_stream_info": lambda n, s: n.event_stream_info(s),
    "event_stream_delete": lambda n, s: n.event_stream_delete(s),
    "event_stream_move": lambda n, s: n.event_stream_move(s, "/f"),
    "event_stream_move folder": lambda n, f: n.event_stream_move("/f/e", f),
    "event_stream_create folder": lambda n, f: n.event_stream_create(EventStream("e"), f),
    "event_stream_count": lambda n, s: n.event_stream_count(s),
    "event_stream_read": lambda n, s: list(n.event_stream_read(s)),
    "event_stream_read_list": lambda n, s: n.event_stream_read_list(s),
    "event_stream_read_dataframe": lambda n, s: n.event_stream_read_dataframe(s),
    "event_stream_remove": lambda n, s: n.event_stream_remove(s),
    "event_stream_write": lambda n, s: n.event_stream_write(s, [Event(1, 2)]),
    "folder_get": lambda n, f: n.folder_get(f),
    "folder_delete": lambda n, f: n.folder_delete(f),
    "folder_move": lambda n, f: n.folder_move(f, "/g"),
    "folder_move destination": lambda n, f: n.folder_move("/f", f),
}  # fmt: skip
BAD_PATHS = [3.5, None, b"/f/s", ["/f/s"], True, "", "f/s", "   ", -1, Annotation("t", 1, id=1)]

# methods whose argument is a name (or an id)
BY_NAME: dict[str, Call] = {
    "module_get": lambda n, m: n.module_get(m),
    "module_logs": lambda n, m: n.module_logs(m),
    "proxy_get": lambda n, p: n.proxy_get(p),
    "follower_delete": lambda n, f: n.follower_delete(f),
    "follower_remove": lambda n, f: n.follower_remove(f),
    "master_delete name": lambda n, name: n.master_delete("user", name),
    "master_remove name": lambda n, name: n.master_remove("user", name),
    "master_add identifier": lambda n, name: n.master_add("user", name),
}
BAD_NAMES = [3.5, None, b"x", True, "", "   ", EventStream(id=1)]


def _blob_fields(stream: EventStream) -> EventStream:
    """An event stream whose fields were set, wrongly, after it was made."""
    stream.event_fields = {"x": "blob"}
    return stream


# methods whose argument is a model to create or save
BY_MODEL: dict[str, tuple[Call, list[object]]] = {
    "data_stream_create": (
        lambda n, s: n.data_stream_create(s, "/f"),
        ["s", None, DataStream(""), DataStream("s"), DataStream("s", datatype="float16",
         elements=[Element("x")]), DataStream("s", elements=[Element("")]), EventStream("s")],
    ),
    "data_stream_update": (
        lambda n, s: n.data_stream_update(s),
        [DataStream("local", elements=[Element("x")]), "/f/s", 3,
         DataStream("", id=1, elements=[Element("x")])],
    ),
    "event_stream_create": (
        lambda n, s: n.event_stream_create(s, "/f"),
        ["e", EventStream(""), _blob_fields(EventStream("e")), DataStream("e")],
    ),
    "event_stream_update": (
        lambda n, s: n.event_stream_update(s),
        [EventStream("local"), EventStream("", id=1), _blob_fields(EventStream("e", id=1)), "/f/e"],
    ),
    "folder_update": (lambda n, f: n.folder_update(f), [Folder(name="x"), Folder(id=1), "/f"]),
    "annotation_create": (
        lambda n, a: n.annotation_create(a, "/f/s"),
        [Annotation("", start=1), Annotation("t", start=None), Annotation("t", 5, 5), "t"],
    ),
    "annotation_update": (
        lambda n, a: n.annotation_update(a),
        [Annotation("t", 1), Annotation("", 1, id=2), 2],
    ),
    "annotation_delete": (lambda n, a: n.annotation_delete(a), ["/f/s", None, 2.0, -1]),
    "event_stream_write events": (
        lambda n, e: n.event_stream_write("/f/e", e),
        [None, 5, Event(1, 2), [Event(1)], [Event(5, 5)], [Event("x", 2)], [{"start_time": 1}]],
    ),
    "master_add master_type": (lambda n, t: n.master_add(t, "bob"), ["admin", "", None]),
    "master_delete master": (lambda n, m: n.master_delete(m), [Master("user", ""), "user"]),
}  # fmt: skip

# times: dated calls take 0001-01-01..9999-12-31 (the node makes datetimes of them),
# data reads any int64
BAD_TIMES = ["yesterday", math.nan, math.inf, True, b"1", 2**63, -(2**63) - 1]
BAD_RANGES = [(10, 10), (20, 10)]
TIMED: dict[str, Callable[[Node, object, object], object]] = {
    "data_delete": lambda n, s, e: n.data_delete("/f/s", s, e),
    "data_intervals": lambda n, s, e: n.data_intervals("/f/s", s, e),
    "data_consolidate": lambda n, s, e: n.data_consolidate("/f/s", 10, s, e),
    "data_stream_annotation_delete": lambda n, s, e: n.data_stream_annotation_delete("/f/s", s, e),
    "data_write": lambda n, s, e: n.data_write("/f/s", s, e),
    "annotation_get": lambda n, s, e: n.annotation_get("/f/s", s, e),
    "event_stream_count": lambda n, s, e: n.event_stream_count("/f/e", s, e),
    "event_stream_read": lambda n, s, e: n.event_stream_read("/f/e", s, e),
    "event_stream_read_list": lambda n, s, e: n.event_stream_read_list("/f/e", s, e),
    "event_stream_read_dataframe": lambda n, s, e: n.event_stream_read_dataframe("/f/e", s, e),
    "event_stream_remove": lambda n, s, e: n.event_stream_remove("/f/e", s, e),
    "data_read": lambda n, s, e: n.data_read("/f/s", s, e),
    "data_read_array": lambda n, s, e: n.data_read_array("/f/s", s, e),
    "data_read_dataframe": lambda n, s, e: n.data_read_dataframe("/f/s", s, e),
    "data_read_arrow": lambda n, s, e: n.data_read_arrow("/f/s", s, e),
    "data_read_polars": lambda n, s, e: n.data_read_polars("/f/s", s, e),
    "data_read_chunks": lambda n, s, e: next(n.data_read_chunks("/f/s", s, e)),
    "data_read_dataframe_chunks": lambda n, s, e: next(n.data_read_dataframe_chunks("/f/s", s, e)),
    "data_read_batches": lambda n, s, e: n.data_read_batches("/f/s", s, e),
    "export": lambda n, s, e: n.export("/f/s", "never-written.csv", start=s, end=e),
    "data_import": lambda n, s, e: n.data_import("rows.csv", start=s, end=e),
    "data_copy": lambda n, s, e: n.data_copy("/f/s", n, start=s, end=e),
    "event_copy": lambda n, s, e: n.event_copy("/f/e", n, start=s, end=e),
}  # fmt: skip
DATA_READS = {name for name in TIMED if name.startswith("data_read") or name == "export"}

# counts and other arguments, each with values that must be refused
OTHER_ARGUMENTS: dict[str, tuple[Call, list[object]]] = {
    "data_read max_rows": (lambda n, m: n.data_read("/f/s", max_rows=m), [0, -1, 1.5, True, "9"]),
    "data_read_array max_rows": (lambda n, m: n.data_read_array("/f/s", max_rows=m), [0, "9"]),
    "data_read_array partitions": (
        lambda n, p: n.data_read_array("/f/s", partitions=p), [0, 2.0, None, True],
    ),
    "data_read_array partitions with max_rows": (
        lambda n, p: n.data_read_array("/f/s", max_rows=10, partitions=p), [2],
    ),
    "data_read_dataframe max_rows": (lambda n, m: n.data_read_dataframe("/f/s", max_rows=m), [0]),
    "data_read_arrow partitions": (lambda n, p: n.data_read_arrow("/f/s", partitions=p), [0]),
    "data_read_polars max_rows": (lambda n, m: n.data_read_polars("/f/s", max_rows=m), [-5]),
    "data_read_chunks rows": (lambda n, r: next(n.data_read_chunks("/f/s", rows=r)), [0, "9"]),
    "data_read_dataframe_chunks rows": (
        lambda n, r: next(n.data_read_dataframe_chunks("/f/s", rows=r)), [0],
    ),
    "data_read_batches rows": (
        lambda n, r: n.data_read_batches("/f/s", rows=r), [0, 2.5, None, True],
    ),
    "data_write merge_gap": (lambda n, g: n.data_write("/f/s", merge_gap=g), [-1, "1", math.nan]),
    "data_consolidate max_gap": (lambda n, g: n.data_consolidate("/f/s", g), [0, -5, "1", None]),
    "event_stream_read block_size": (
        lambda n, b: n.event_stream_read("/f/e", block_size=b), [0, -1, 2.5],
    ),
    "event_stream_read_list limit": (lambda n, k: n.event_stream_read_list("/f/e", limit=k), [0]),
    "event_stream_count json_filter": (
        lambda n, f: n.event_stream_count("/f/e", json_filter=f),
        ["{", [["a"]], 5, [[["x", "between", 1]]], [[]]],
    ),
    "event_stream_remove json_filter": (
        lambda n, f: n.event_stream_remove("/f/e", json_filter=f), ["[[", [[("x",)]]],
    ),
    "event_stream_read_dataframe json_filter": (
        lambda n, f: n.event_stream_read_dataframe("/f/e", json_filter=f), ["{", [[]]],
    ),
    "export event stream format": (
        lambda n, p: n.export(EventStream("e", id=1), p), ["out.npy", "out.h5", "out.xls"],
    ),
    "export format": (lambda n, f: n.export("/f/s", "out.csv", format=f), ["xls", 3]),
    "export path": (lambda n, p: n.export("/f/s", p), ["out.xls", "out"]),
    "export csv_header": (lambda n, h: n.export("/f/s", "out.parquet", csv_header=h), [True]),
    "data_import stream": (
        lambda n, s: n.data_import("rows.npy", s), [3.5, b"/f/s", "", "f/s", True, -1, ["/f/s"]],
    ),
    "data_import path": (lambda n, p: n.data_import(p), ["missing.csv", "rows.xls", 3, None]),
    "data_import format": (lambda n, f: n.data_import("rows.csv", format=f), ["xls", 3]),
    "data_copy dest_node": (lambda n, d: n.data_copy("/f/s", d), [None, "backup", URL, 3]),
    "data_copy dest_path": (
        lambda n, p: n.data_copy("/f/s", n, p), ["f/s", "", "/f/", " ", 3, b"/f/s", ["/f/s"]],
    ),
    "event_copy dest_node": (lambda n, d: n.event_copy("/f/e", d), [None, "backup"]),
    "event_copy dest_path": (lambda n, p: n.event_copy("/f/e", n, p), ["f/e", "/f/", 3]),
}  # fmt: skip

# methods and arguments no value of which is wrong: flags taken for their truth, as upstream
# does; event_stream_get's settings for a stream it creates, checked when the node says the
# stream is missing; export's elements, checked against the stream's (see test_export)
UNCHECKED = {"module_list"}
UNCHECKED_ARGUMENTS = {"statistics", "recursive", "flatten", "include_on_going_events",
                       "annotations",
                       "progress", "resume", "create", "description", "chunk_duration",
                       "chunk_duration_us", "event_fields", "lumen_parameters", "api_key",
                       "elements"}  # fmt: skip


OUR_OWN_SETTINGS = {"export format", "export path", "export event stream format",
                    "export csv_header", "data_import path", "data_import format"}  # fmt: skip
"""Arguments upstream has no counterpart for: plain ConfigurationError."""


def _cases() -> Iterator[Any]:
    for name, call in BY_PATH.items():
        for bad in BAD_PATHS:
            yield pytest.param(call, bad, id=f"{name}-{bad!r}")
    for name, call in BY_NAME.items():
        for bad in BAD_NAMES:
            yield pytest.param(call, bad, id=f"{name}-{bad!r}")
    for name, (call, values) in {**BY_MODEL, **OTHER_ARGUMENTS}.items():
        for bad in values:
            yield pytest.param(call, bad, id=f"{name}-{bad!r}")
    for name, timed in TIMED.items():
        bad_times = [*BAD_TIMES, *([] if name in DATA_READS else [YEAR_10000])]
        for bad in bad_times:
            yield pytest.param(lambda n, t, f=timed: f(n, t, None), bad, id=f"{name}-start={bad!r}")
            yield pytest.param(lambda n, t, f=timed: f(n, None, t), bad, id=f"{name}-end={bad!r}")
        for start, end in BAD_RANGES:
            yield pytest.param(
                lambda n, r, f=timed: f(n, *r), (start, end), id=f"{name}-[{start},{end})"
            )


@pytest.fixture(scope="module")
def offline_node() -> Iterator[Node]:
    """One Node for the module: making one loads the system's CAs, which takes a while."""
    with Node(URL, KEY, retries=0) as node:
        yield node


@pytest.fixture
def offline(
    offline_node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Node, respx.Route]]:
    """The Node, its requests recorded (and answered 599); a file an export would make
    goes to tmp_path."""
    monkeypatch.chdir(tmp_path)
    with respx.mock(base_url=URL, assert_all_called=False) as mock:
        yield offline_node, mock.route().respond(599)


@pytest.mark.parametrize(("call", "bad"), list(_cases()))
def test_bad_arguments_are_refused_before_anything_is_sent(
    offline: tuple[Node, respx.Route], call: Call, bad: object, request: pytest.FixtureRequest
) -> None:
    node, sent = offline
    with pytest.raises(ConfigurationError) as info:
        call(node, bad)
    assert not sent.called, f"sent {sent.calls.last.request} before refusing"
    assert str(info.value).strip()
    if request.node.callspec.id.split("-")[0] not in OUR_OWN_SETTINGS:
        # what upstream's client or the node refuses is an ApiError there: here too
        assert isinstance(info.value, ApiError) and info.value.status == 400


def test_every_method_and_argument_is_covered() -> None:
    """A method or argument added to Node must get bad-input cases here."""
    named = [*BY_PATH, *BY_NAME, *BY_MODEL, *TIMED, *OTHER_ARGUMENTS]
    covered = {name.split(" ")[0] for name in named}
    covered_arguments = {"start", "end"} | {name.split(" ")[-1] for name in named if " " in name}
    for name, function in inspect.getmembers(Node, inspect.isfunction):
        parameters = list(inspect.signature(function).parameters)[1:]
        if name.startswith("_") or name in UNCHECKED or not parameters:
            continue
        assert name in covered, f"Node.{name} has no bad-input cases"
        for parameter in parameters[1:]:  # the first is what the method works on
            assert parameter in covered_arguments | UNCHECKED_ARGUMENTS, (
                f"Node.{name}({parameter}=...) has no bad-input cases"
            )


def test_bad_node_arguments_are_refused(tmp_path: Path) -> None:
    for url in ["joule.test", "joule.test:8088", "ftp://joule.test", "", None, "http://"]:
        with pytest.raises(ConfigurationError, match="must start with http:// or https://"):
            Node(url, KEY)  # type: ignore[arg-type]
    for key in [None, ""]:
        with pytest.raises(ConfigurationError, match="API key is required"):
            Node(URL, key)
    for retries in [-1, 1.5, None, True]:
        with pytest.raises(ConfigurationError, match="retries must be an integer >= 0") as info:
            Node(URL, KEY, retries=retries)  # type: ignore[arg-type]
        assert not isinstance(info.value, ApiError)  # our own setting: upstream has none
    with pytest.raises(ConfigurationError, match="CA file"):
        Node("https://joule.test", KEY, ca_file=tmp_path / "missing.crt")


# -- what the refusal says -------------------------------------------------------------------


def _create(node: Node, stream: DataStream) -> DataStream:
    return node.data_stream_create(stream, "/f")


@pytest.mark.parametrize(
    ("call", "complaint"),
    [
        (lambda n: n.data_stream_get(3.5), "must be given as a DataStream, a path or an id"),
        (lambda n: n.data_stream_get(True), "must be given as"),
        (lambda n: n.data_stream_get(EventStream(id=1)), "must be given as a DataStream"),
        (lambda n: n.data_stream_get(""), "paths start with '/'"),
        (lambda n: n.data_stream_get("test/s"), "paths start with '/'"),
        (lambda n: n.data_stream_get(-1), "ids are >= 0"),
        (lambda n: n.data_stream_get(DataStream("local")), "no id"),
        (lambda n: n.folder_get(None), "must be given as a Folder"),
        (lambda n: n.folder_move("/a", DataStream(id=1)), "destination folder"),
        (lambda n: n.folder_update(Folder(id=1, name="")), "folder name"),
        (lambda n: n.folder_update(Folder(name="x")), "no id"),
        (lambda n: n.data_delete("/a/s", start=10, end=10), "start .10. must be before end"),
        (lambda n: n.data_intervals("/a/s", start=20, end=10), "must be before end"),
        (lambda n: n.data_delete("/a/s", start="yesterday"), "timestamp"),
        (lambda n: n.data_delete("/a/s", start=float("nan")), "finite"),
        (lambda n: n.event_stream_count("/e/s", start=5, end=5), "must be before end"),
        (lambda n: _create(n, DataStream("", elements=ONE)), "data stream name"),
        (lambda n: _create(n, DataStream("s")), "at least one element"),
        (lambda n: _create(n, DataStream("s", "", "uint8", elements=ONE)), "datatype 'uint8'"),
        (lambda n: _create(n, DataStream("s", elements=[Element()])), "element name"),
        (lambda n: _create(n, "s"), "needs a DataStream"),
        (lambda n: n.event_stream_create(EventStream(""), "/f"), "event stream name"),
        (lambda n: n.event_stream_read("/e/s", block_size=0), "block_size"),
        (lambda n: n.event_stream_read_list("/e/s", limit=0), "limit"),
        (lambda n: n.annotation_create(Annotation("", start=1), "/a/s"), "annotation title"),
        (lambda n: n.annotation_create(Annotation("t", start=5, end=5), "/a/s"), "before end"),
        (lambda n: n.annotation_create(Annotation("t", start=None), "/a/s"), "annotation start"),
        (lambda n: n.annotation_update(Annotation("t", start=1)), "no id"),
        (lambda n: n.annotation_delete("/a/s"), "annotation or an id"),
        (lambda n: n.module_get(3.0), "a Module, a name or an id"),
        (lambda n: n.follower_delete(""), "follower name"),
        (lambda n: n.data_consolidate("/a/s", 0), "max_gap"),
        (lambda n: n.master_add("admin", "bob"), "master_type"),
        (lambda n: n.event_stream_update(_blob_fields(EventStream("e", id=1))), "event field 'x'"),
        (lambda n: n.data_read("/f/s", max_rows=0), "max_rows"),
        (lambda n: n.data_read("/f/s", max_rows=-1), "max_rows"),
        (lambda n: n.data_read("/f/s", max_rows=2.5), "max_rows"),
        (lambda n: n.data_read_array("/f/s", max_rows=10, partitions=2), "max_rows"),
        (lambda n: n.data_read_array("/f/s", partitions=0), "partitions"),
        (lambda n: n.data_read_array("/f/s", partitions=-1), "partitions"),
        (lambda n: n.data_read_array("/f/s", partitions=1.5), "partitions"),
        (lambda n: next(n.data_read_chunks("/f/s", rows=0)), "rows"),
    ],
)  # fmt: skip
def test_a_refusal_says_what_is_wrong(
    offline: tuple[Node, respx.Route], call: Callable[[Node], object], complaint: str
) -> None:
    node, sent = offline
    with pytest.raises(ConfigurationError, match=complaint):
        call(node)
    assert not sent.called


# -- unknown paths and ids, on the real node --------------------------------------------

UNKNOWN_STREAM = {name: call for name, call in BY_PATH.items() if " " not in name}
UNKNOWN_NAMED = {
    "module_get": (lambda n, m: n.module_get(m), "module does not exist"),
    "module_logs": (lambda n, m: n.module_logs(m), "module does not exist"),
    "proxy_get": (lambda n, p: n.proxy_get(p), "proxy does not exist"),
    "annotation_delete": (lambda n, a: n.annotation_delete(a), "annotation does not exist"),
    "follower_delete": (lambda n, f: n.follower_delete(str(f)), "follower not found"),
    "master_delete": (lambda n, m: n.master_delete("user", str(m)), "is not a master"),
}


@pytest.mark.parametrize("missing", ["/no/such/thing", 987_654_321])
@pytest.mark.parametrize("name", UNKNOWN_STREAM)
def test_unknown_streams_and_folders_are_named_by_the_node(
    node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, missing: object
) -> None:
    monkeypatch.chdir(tmp_path)  # export would write there
    if name == "annotation_get" and isinstance(missing, int):
        # the node filters its annotations by stream_id without looking the stream up
        assert node.annotation_get(missing) == []
        return
    named = repr(missing) if isinstance(missing, str) else f"id {missing}"
    pattern = rf"(stream|folder) {re.escape(named)} does not exist"
    with pytest.raises(StreamNotFound, match=pattern) as info:
        UNKNOWN_STREAM[name](node, missing)
    assert info.value.status == 404
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("missing", ["no-such-thing", 987_654_321])
@pytest.mark.parametrize("name", UNKNOWN_NAMED)
def test_unknown_modules_proxies_annotations_and_masters_are_named_by_the_node(
    node: Node, name: str, missing: object
) -> None:
    call, reason = UNKNOWN_NAMED[name]
    if name == "annotation_delete" and isinstance(missing, str):
        missing = 987_654_321  # annotations have ids only
    with pytest.raises(ApiError, match=reason) as info:
        call(node, missing)
    assert info.value.status == 404


# -- rows that cannot be written ---------------------------------------------------------

TS = make_rows("int32_2", 4)["timestamp"]


def _bad_rows(layout: str) -> dict[str, tuple[object, str]]:
    """Data that ``layout`` cannot take, each with the complaint it must raise."""
    rows = make_rows(layout, 4)
    values = rows["data"].astype(np.float64)
    with_nan = values.copy()
    with_nan[2, 1] = np.nan
    return {
        "too many elements": ((TS, np.zeros((4, 3))), "3 element\\(s\\) per row but"),
        "too few elements": (np.zeros((4, 2)), "1 element\\(s\\) per row but"),
        "a wider structured array": (make_rows(layout[:-1] + "3", 4), "per row but"),
        "one-dimensional data": (np.arange(4), "2-D array"),
        "strings": ((TS, np.full((4, 2), "1")), "must be numeric"),
        "objects": ((TS, np.array([[1, None]] * 4, dtype=object)), "must be numeric"),
        "NaN": ((TS, with_nan), r"(?i)row 2, element 1: .*nan"),
        "timestamps and values of different lengths": ((TS[:3], values), "3 timestamps for 4"),
        "duplicate timestamps": ((TS[[0, 1, 1, 2]], values), "row 2: timestamp .* not after"),
        "decreasing timestamps": ((TS[::-1], values), "row 1: timestamp .* not after"),
        "fractional timestamps that round to one µs": (
            (TS[0] + np.array([0.0, 0.2, 0.4, 0.6]), values), "row 1: timestamp .* not after",
        ),
        "a float timestamp beyond int64": ((TS * 1e4, values), "cannot be stored as int64"),
        "an unsigned timestamp beyond int64": (
            (np.array([2**63] * 4, dtype=np.uint64), values), "cannot be stored as int64",
        ),
        "a Python int beyond int64": (
            ([2**63, 2**63 + 1, 2**63 + 2, 2**63 + 3], values), "cannot be stored as int64",
        ),
        "a Python int beyond uint64": (([2**64, 1, 2, 3], values), "must be numeric"),
        "a NaN timestamp": ((np.array([1.0, np.nan, 3.0, 4.0]), values), "cannot be stored"),
        "a row that reads as an interval break": (
            (np.array([0, 1, 2, 3]), np.zeros((4, 2))), "would read back as an interval break",
        ),
        "a DataFrame with a text index": (
            pd.DataFrame(values, index=["a", "b", "c", "d"]), "must be numeric",
        ),
    }  # fmt: skip


@pytest.mark.parametrize("layout", ["int32_2", "float32_2"])
def test_rows_that_cannot_be_written_are_refused_and_the_stream_is_untouched(
    node: Node, make_stream: MakeStream, layout: str
) -> None:
    stream = make_stream(layout)
    good = make_rows(layout, 4, start=int(TS[-1]) + 1000)
    with node.data_write(stream) as pipe:
        for what, (data, complaint) in _bad_rows(layout).items():
            with pytest.raises(DataError, match=complaint):
                pipe.write(data)
            assert pipe.rows_written == 0, what
        pipe.write(good)  # the pipe still works, after all those
    assert node.data_read_array(stream).tobytes() == good.tobytes()


@pytest.mark.parametrize(
    ("layout", "value", "complaint"),
    [
        ("int16_1", 40_000, "cannot be stored as int16"),
        ("int64_1", 2.0**63, "cannot be stored as int64"),
        ("int64_1", math.inf, "cannot be stored as int64"),
        ("int32_1", 1.5, "cannot be stored as int32"),
        ("float32_1", 1e39, "cannot be stored as float32"),
        ("float64_1", math.nan, "NaN cannot be written"),
    ],
)
def test_values_outside_the_layout_are_refused(
    node: Node, make_stream: MakeStream, layout: str, value: float, complaint: str
) -> None:
    stream = make_stream(layout)
    with node.data_write(stream) as pipe, pytest.raises(DataError, match=complaint):
        pipe.write((TS[:2], np.array([1, value])))
    assert len(node.data_read_array(stream)) == 0


def test_fractional_timestamps_are_rounded_to_the_nearest_microsecond(
    node: Node, make_stream: MakeStream
) -> None:
    stream = make_stream("int32_2")
    values = make_rows("int32_2", 4)["data"]
    with node.data_write(stream) as pipe:
        pipe.write((TS + np.array([0.5, -0.1, 0.4, 1.5]), values))  # a tie goes to the even µs
    stored = node.data_read_array(stream)
    assert stored["timestamp"].tolist() == (TS + np.array([0, 0, 0, 2])).tolist()


def test_infinities_are_written_and_read_back(node: Node, make_stream: MakeStream) -> None:
    stream = make_stream("float64_2")
    values = np.array([[np.inf, -np.inf], [1.0, np.inf], [-0.0, 2.5]])
    with node.data_write(stream) as pipe:
        pipe.write((TS[:3], values))
    stored = node.data_read_array(stream)
    assert np.array_equal(stored["data"], values)


def test_timestamps_must_increase_across_writes_and_past_the_stored_rows(
    node: Node, make_stream: MakeStream
) -> None:
    stream = make_stream("int32_2")
    rows = make_rows("int32_2", 10)
    with node.data_write(stream) as pipe:
        pipe.write(rows[:6])
        with pytest.raises(DataError, match=r"row 0: timestamp \d+ is not after"):
            pipe.write(rows[5:])  # row 5 again
    # a new upload cannot know what is stored: the node refuses the duplicate, keeps the rest
    pipe = node.data_write(stream)
    pipe.write(rows[5:])
    with pytest.raises(ApiError, match="duplicate key"):
        pipe.close()
    assert node.data_read_array(stream).tobytes() == rows[:6].tobytes()


def test_a_closed_write_pipe_refuses_more_rows(node: Node, make_stream: MakeStream) -> None:
    stream = make_stream("int32_2")
    with node.data_write(stream) as pipe:
        pipe.write(make_rows("int32_2", 3))
    with pytest.raises(joule_sync.PipeError, match="closed pipe"):  # upstream's class
        pipe.write(make_rows("int32_2", 3, start=2_000_000_000_000_000))
    with pytest.raises(joule_sync.PipeError, match="closed pipe"):
        pipe.close_interval()


# -- frames: any bytes, in any chunks, are rows or a DataError ---------------------------

FRAME_LAYOUTS = ["int16_1", "int32_2", "int64_3", "float32_3", "float64_2", "float32_9"]


@st.composite
def frames_in_chunks(draw: st.DrawFn) -> tuple[str, bytes, list[bytes]]:
    """A layout, bytes that are mostly rows of it (with tokens and a ragged end, sometimes),
    and those bytes cut anywhere."""
    layout = draw(st.sampled_from(FRAME_LAYOUTS))
    row_size = codec.layout_dtype(layout).itemsize
    rows = draw(st.lists(st.binary(min_size=row_size, max_size=row_size), max_size=40))
    token = bytes(row_size)
    rows = [token if draw(st.integers(0, 9)) == 0 else row for row in rows]
    frame = b"".join(rows) + draw(st.binary(max_size=row_size))
    cuts = sorted(draw(st.lists(st.integers(0, len(frame)), max_size=12)))
    chunks = [frame[a:b] for a, b in itertools.pairwise([0, *cuts, len(frame)])]
    return layout, frame, chunks


def _expected(layout: str, frame: bytes) -> codec.Decoded | None:
    """The rows of a frame decoded whole; None when a partial row ends it."""
    try:
        return codec.decode(frame, layout)
    except DataError:
        assert len(frame) % codec.layout_dtype(layout).itemsize
        return None


@settings(max_examples=300, deadline=None)
@given(frames_in_chunks(), st.sampled_from(["little", "big"]))
def test_the_decoder_fed_any_chunks_gives_the_whole_frames_rows_or_a_data_error(
    case: tuple[str, bytes, list[bytes]], byteorder: codec.ByteOrder
) -> None:
    layout, frame, chunks = case
    decoder = codec.Decoder(layout, byteorder=byteorder)
    parts, ends = [], []
    for chunk in chunks:
        decoded = decoder.feed(chunk)
        ends += [sum(len(p) for p in parts) + e for e in decoded.interval_ends]
        parts.append(decoded.data)
    rows = np.concatenate(parts) if parts else np.empty(0, decoder.dtype)
    if len(frame) % decoder.dtype.itemsize:
        with pytest.raises(DataError, match="data ended inside a row"):
            decoder.finish()
        return
    decoder.finish()
    whole = codec.decode(frame, layout, byteorder=byteorder)
    assert rows.tobytes() == whole.data.tobytes()
    assert ends == whole.interval_ends


def _body(layout: str, chunks: list[bytes]) -> DataBody:
    return DataBody(layout, 1, iter(chunks))


@settings(max_examples=200, deadline=None)
@given(frames_in_chunks())
def test_a_read_pipe_of_any_chunks_gives_the_rows_or_a_data_error(
    case: tuple[str, bytes, list[bytes]],
) -> None:
    layout, frame, chunks = case
    expected = _expected(layout, frame)
    pipe = ReadPipe(_body(layout, chunks))
    blocks: list[joule_sync.Block] = []
    if expected is None:
        with pytest.raises(DataError, match="data ended inside a row"):
            blocks.extend(pipe)
        whole_rows = len(frame) // pipe.dtype.itemsize
        assert sum(len(b) for b in blocks) <= whole_rows  # none made up, none from the rest
        return
    blocks.extend(pipe)
    data = np.concatenate([b.data for b in blocks]) if blocks else np.empty(0, pipe.dtype)
    assert data.tobytes() == expected.data.tobytes()
    rows_so_far = itertools.accumulate(len(b) for b in blocks)
    ends = [n for n, b in zip(rows_so_far, blocks, strict=True) if b.end_of_interval]
    assert ends == expected.interval_ends  # every break, doubled ones and a leading one too


@settings(max_examples=200, deadline=None)
@given(frames_in_chunks())
def test_an_array_read_of_any_chunks_gives_the_rows_or_a_data_error(
    case: tuple[str, bytes, list[bytes]],
) -> None:
    layout, frame, chunks = case
    expected = _expected(layout, frame)
    if expected is None:
        with pytest.raises(DataError, match="data ended inside a row"):
            _whole_reads._decode_into_one_buffer(_body(layout, chunks), "fuzzed")
        return
    decoded = _whole_reads._decode_into_one_buffer(_body(layout, chunks), "fuzzed")
    assert decoded.data.tobytes() == expected.data.tobytes()
    assert decoded.interval_ends == expected.interval_ends


@settings(max_examples=200, deadline=None)
@given(frames_in_chunks(), st.lists(st.integers(0, 40), max_size=4))
def test_any_rows_encode_to_a_frame_that_decodes_back_or_a_data_error(
    case: tuple[str, bytes, list[bytes]], interval_ends: list[int]
) -> None:
    layout, frame, _ = case
    dtype = codec.layout_dtype(layout)
    rows = np.frombuffer(frame[: len(frame) // dtype.itemsize * dtype.itemsize], dtype=dtype)
    try:
        encoded = codec.encode(rows, layout, interval_ends=interval_ends)
    except DataError:
        return
    back = codec.decode(encoded, layout)
    assert back.data.tobytes() == rows.tobytes()
    assert back.interval_ends == interval_ends


@pytest.mark.parametrize("flaw", ["a duplicate", "an interval-break row"])
def test_a_bad_row_late_in_a_long_write_queues_none_of_it(
    node: Node, make_stream: MakeStream, flaw: str
) -> None:
    """Long writes go out in blocks: the whole write is checked before the first is queued."""
    stream = make_stream("int32_2")
    rows = make_rows("int32_2", 3 * WRITE_BLOCK_BYTES // 16)
    late = len(rows) - 10
    if flaw == "a duplicate":
        rows["timestamp"][late] = rows["timestamp"][late - 1]
    else:
        rows["timestamp"][late:] -= rows["timestamp"][late]  # from 0, all-zero values first
        rows["data"][late] = 0
        rows["timestamp"][:late] -= rows["timestamp"][late - 1] + 1  # still increasing
    good = make_rows("int32_2", len(rows), start=2_000_000_000_000_000)
    with node.data_write(stream) as pipe:
        with pytest.raises(DataError, match=f"row {late}: "):
            pipe.write(rows)
        assert pipe.rows_written == 0
        pipe.write(good)  # and a long write without a flaw goes through
    assert node.data_read_array(stream).tobytes() == good.tobytes()
