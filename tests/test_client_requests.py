"""What each Node method puts on the wire, and how it reads the node's answers.

Every method is checked against a respx-mocked node: the method, path, query parameters
and JSON body it sends (as the upstream client sends them to a real node), the value it
returns, and the errors it raises for each way the node words a failure.
"""

from __future__ import annotations

import http.server
import json
import logging
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import joule_sync
from joule_sync import (
    Annotation,
    ApiError,
    ConfigurationError,
    ConnectionFailed,
    DataStream,
    Element,
    Event,
    EventStream,
    Folder,
    Master,
    Node,
    StreamNotFound,
)
from joule_sync import _transport as transport_module

URL = "http://joule.test:8088"
KEY = "key-7f3c9a1b5d2e4f6a8b0c"  # must never show up anywhere visible
UUID = "d3316b70-ced2-4f28-99ea-ff870a36afbc"

ELEMENT_JSON = {
    "id": 6,
    "index": 0,
    "name": "x",
    "units": "u",
    "plottable": True,
    "display_type": "CONTINUOUS",
    "offset": 0.0,
    "scale_factor": 1.0,
    "default_max": None,
    "default_min": None,
}
STREAM_JSON = {
    "id": 3,
    "name": "f32",
    "description": "float32_1 stream",
    "datatype": "float32",
    "layout": "float32_1",
    "keep_us": -1,
    "is_configured": False,
    "is_source": False,
    "is_destination": False,
    "updated_at": "2026-11-24T02:38:21.796486+00:00",
    "locked": False,
    "active": False,
    "decimate": True,
    "elements": [ELEMENT_JSON],
}
DATA_INFO_JSON = {
    "start": 1700000000000000,
    "end": 1700000999999000,
    "rows": 999424,
    "bytes": 33357824,
    "total_time": 999999000,
}
EVENT_STREAM_JSON = {
    "id": 2,
    "name": "events",
    "description": "ev",
    "event_fields": {"label": "string", "value": "numeric"},
    "chunk_duration_us": 0,
    "keep_us": -1,
    "updated_at": "2026-11-24T02:38:30.502594+00:00",
}
FOLDER_JSON = {
    "id": 5,
    "name": "bulk",
    "description": None,
    "locked": False,
    "updated_at": "2026-11-24T02:38:21.802253+00:00",
    "children": [],
    "streams": [STREAM_JSON],
    "event_streams": [EVENT_STREAM_JSON],
}
ANNOTATION_JSON = {
    "id": 1,
    "title": "range",
    "content": "c1",
    "start": 1700000000000010,
    "stream_id": 3,
    "end": 1700000000002000,
}
MODULE_JSON = {
    "id": 0,
    "name": "random",
    "description": "builtin random reader",
    "is_app": False,
    "inputs": {},
    "outputs": {"output": "/live/random"},
}
STATISTICS_JSON = {
    "pid": 4455,
    "create_time": 1795487358.9,
    "cpu_percent": 0.0,
    "memory_percent": 0.4,
}
PROXY_JSON = {"id": 0, "name": "refnode_self", "url": "http://127.0.0.1:18088/version/"}
VERSION_JSON = {"version": "1.0.1", "name": "refnode", "uuid": UUID}
ONE = [Element("a")]  # one element, for streams whose elements do not matter


def create(node: Node, stream: DataStream) -> DataStream:
    return node.data_stream_create(stream, "/f")


def event_json(n: int, start: int | None = None, stream_id: int = 2) -> dict[str, Any]:
    start = 1700000000000000 + n * 1_000_000 if start is None else start
    return {
        "id": n + 1,
        "event_stream_id": stream_id,
        "start_time": start,
        "end_time": start + 500_000,
        "content": {"value": n},
    }


@pytest.fixture
def node() -> Iterator[Node]:
    with Node(URL, KEY) as node:
        node.transport.backoff_base = 0.0  # retry at once
        yield node


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=URL, assert_all_called=True) as router:
        yield router


def params_of(route: respx.Route, call: int = -1) -> dict[str, str]:
    """The query parameters of a call, each sent once."""
    items = route.calls[call].request.url.params.multi_items()
    assert len(items) == len(dict(items)), f"repeated parameter in {items}"
    return dict(items)


def body_of(route: respx.Route, call: int = -1) -> Any:
    request = route.calls[call].request
    assert request.headers["content-type"] == "application/json"
    return json.loads(request.content)


def ok(route: respx.Route) -> respx.Route:
    """The node's plain-text success answer."""
    return route.respond(200, text="ok", headers={"content-type": "text/plain; charset=utf-8"})


def not_found(route: respx.Route, reason: str) -> respx.Route:
    """Error shape 1: the reason in the status line and ``<code>: reason`` as the body."""
    return route.respond(
        404,
        text=f"404: {reason}",
        headers={"content-type": "text/plain; charset=utf-8"},
        extensions={"reason_phrase": reason.encode()},
    )


# -- connecting ------------------------------------------------------------------------


def test_every_request_carries_the_key_and_reuses_one_client(node, mock):
    route = mock.get("/version.json").respond(json=VERSION_JSON)
    mock.get("/dbinfo").respond(
        json={"path": "/pg", "other": 1, "reserved": 2, "free": 3, "size": 4}
    )
    http_client = node.transport.client
    node.info()
    node.info()
    assert node.transport.client is http_client
    for call in route.calls:
        assert call.request.headers["X-API-KEY"] == KEY
        assert call.request.headers["User-Agent"].startswith("joule-sync/")


def test_info_combines_version_and_dbinfo(node, mock):
    mock.get("/version.json").respond(json=VERSION_JSON)
    mock.get("/dbinfo").respond(
        json={"path": "/pg", "other": 10, "reserved": 20, "free": 30, "size": 40}
    )
    info = node.info()
    assert (info.version, info.name, info.uuid, info.path) == ("1.0.1", "refnode", UUID, "/pg")
    assert (info.size_other, info.size_reserved, info.size_free, info.size_db) == (10, 20, 30, 40)


def test_a_base_path_in_the_url_prefixes_every_request(mock):
    route = mock.get(f"{URL}/joule/folders.json").respond(json=FOLDER_JSON)
    with Node(URL + "/joule/", KEY) as node:
        node.folder_root()
    assert route.called


@pytest.mark.parametrize("url", ["", "joule.test:8088", "ftp://joule.test", "http://", None])
def test_a_url_that_is_not_http_is_refused(url):
    with pytest.raises(ConfigurationError, match="http:// or https://"):
        Node(url, KEY)  # type: ignore[arg-type]


def test_a_tcp_node_needs_a_key():
    with pytest.raises(ConfigurationError, match="API key"):
        Node(URL, "")


@pytest.mark.parametrize("retries", [-1, True, 1.5])
def test_retries_must_be_a_count(retries):
    with pytest.raises(ConfigurationError, match="retries must be an integer >= 0"):
        Node(URL, KEY, retries=retries)


def test_timeouts_are_per_wait_and_settable():
    with Node(URL, KEY, timeout=12.5, connect_timeout=3.0) as node:
        timeout = node.transport.client.timeout
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (3.0, 12.5, 12.5, 12.5)


def test_a_streamed_request_can_wait_forever_for_the_node(node, mock):
    route = mock.get("/data").respond(200, content=b"rows")
    response = node.transport.request("GET", "/data", stream=True, no_read_timeout=True)
    assert not response.is_closed  # the body is left to the caller
    assert response.read() == b"rows"
    response.close()
    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout["read"] is None
    assert timeout["connect"] == node.transport.client.timeout.connect


def test_a_streamed_error_is_read_mapped_and_closed(node, mock):
    not_found(mock.get("/data"), "stream does not exist")
    with pytest.raises(StreamNotFound, match="stream does not exist"):
        node.transport.request("GET", "/data", stream=True)


class _BrokenStream(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b"400: "
        raise httpx.ReadError("connection reset")


def test_a_streamed_error_whose_body_breaks_off_is_a_connection_failure(node, mock):
    mock.get("/data").mock(return_value=httpx.Response(400, stream=_BrokenStream()))
    with pytest.raises(ConnectionFailed, match="connection broke while the node answered 400"):
        node.transport.request("GET", "/data", stream=True, retry=False)


def test_verify_false_warns_once_for_https(caplog):
    with caplog.at_level(logging.WARNING, logger="joule_sync"):
        Node("https://joule.test", KEY, verify=False).close()
    warnings = [r for r in caplog.records if "certificate checks are OFF" in r.getMessage()]
    assert len(warnings) == 1


def test_certificate_checks_are_on_by_default(caplog):
    with caplog.at_level(logging.WARNING, logger="joule_sync"):
        node = Node("https://joule.test", KEY)
    pool = node.transport.client._transport._pool  # type: ignore[attr-defined]
    assert pool._ssl_context.verify_mode.name == "CERT_REQUIRED"
    assert pool._ssl_context.check_hostname
    assert caplog.records == []
    node.close()


def test_a_ca_file_that_cannot_be_loaded_is_a_configuration_error(tmp_path):
    bad = tmp_path / "ca.crt"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="CA file"):
        Node("https://joule.test", KEY, ca_file=bad)
    with pytest.raises(ConfigurationError, match="CA file"):
        Node("https://joule.test", KEY, ca_file=tmp_path / "missing.crt")


def test_close_and_context_manager_close_the_client_and_a_later_call_reconnects(mock):
    route = mock.get("/version.json").respond(json=VERSION_JSON)
    mock.get("/dbinfo").respond(
        json={"path": "/pg", "other": 1, "reserved": 2, "free": 3, "size": 4}
    )
    with Node(URL, KEY) as node:
        client = node.transport.client
    assert client.is_closed
    other = Node(URL, KEY)
    client = other.transport.client
    other.close()
    assert client.is_closed
    # as upstream's close() closes its session and the next call opens another
    assert other.info().version == VERSION_JSON["version"]
    assert other.transport.client is not client and not other.transport.client.is_closed
    assert route.calls[-1].request.headers["X-API-KEY"] == KEY
    other.close()
    other.close()  # twice is fine


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _VersionHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({**VERSION_JSON, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_node_on_a_unix_socket_needs_no_key(tmp_path: Path):
    socket_path = str(tmp_path / "api")
    server = _UnixHTTPServer(socket_path, _VersionHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with Node("http://localhost", None, uds=socket_path) as node:
            assert node._node_uuid() == UUID
            assert "uds=" in repr(node)
    finally:
        server.shutdown()
        server.server_close()


# -- the key stays secret --------------------------------------------------------------


def test_the_key_never_appears_in_reprs_logs_or_errors(mock, caplog):
    mock.get("/folders.json").respond(403, text="403: Forbidden")
    mock.get("/folder.json").mock(side_effect=httpx.ConnectError("refused"))
    with caplog.at_level(logging.DEBUG):
        node = Node(URL, KEY, retries=1)
        node.transport.backoff_base = 0.0
        with pytest.raises(ApiError) as forbidden:
            node.folder_root()
        with pytest.raises(ConnectionFailed) as unreachable:
            node.folder_get(1)
        node.close()
    assert forbidden.value.status == 403
    assert "API key" in forbidden.value.message
    visible = [repr(node), str(node), str(forbidden.value), str(unreachable.value), caplog.text]
    visible += [repr(forbidden.value), repr(unreachable.value)]
    assert caplog.records  # something was logged, and none of it shows the key
    for text in visible:
        assert KEY not in text


# -- error mapping ---------------------------------------------------------------------


def test_404_stream_does_not_exist_is_stream_not_found(node, mock):
    not_found(mock.get("/stream.json"), "stream does not exist")
    with pytest.raises(StreamNotFound) as error:
        node.data_stream_get("/test/nope")
    # upstream says "stream does not exist [404]": we name the stream asked for
    assert (error.value.message, error.value.status) == ("stream '/test/nope' does not exist", 404)
    assert str(error.value) == "stream '/test/nope' does not exist [404]"


def test_404_folder_does_not_exist_is_stream_not_found(node, mock):
    not_found(mock.get("/folder.json"), "folder does not exist")
    with pytest.raises(StreamNotFound, match="folder '/nope' does not exist"):
        node.folder_get("/nope")


def test_other_404s_are_plain_api_errors(node, mock):
    mock.get("/module.json").respond(404, text="module does not exist")  # body without prefix
    with pytest.raises(ApiError) as error:
        node.module_get("nope")
    assert type(error.value) is ApiError
    assert (error.value.message, error.value.status) == ("module does not exist", 404)


def test_a_bare_reason_body_is_the_message(node, mock):
    mock.post("/stream.json").respond(400, text="Invalid or missing stream attribute: 'id'")
    with pytest.raises(ApiError) as error:
        node.data_stream_create(DataStream("s", elements=[Element("a")]), "/f")
    assert error.value.message == "Invalid or missing stream attribute: 'id'"
    assert error.value.status == 400


def test_a_json_error_body_gives_its_error(node, mock):
    mock.post("/master.json").respond(400, json={"error": "Cannot contact node at [http://x:1]"})
    with pytest.raises(ApiError) as error:
        node.master_add("joule", "http://x:1")
    assert error.value.message == "Cannot contact node at [http://x:1]"


def test_a_text_body_labelled_json_is_still_read(node, mock):
    mock.delete("/data").respond(
        400, content=b"this stream has no data", headers={"content-type": "application/json"}
    )
    with pytest.raises(ApiError) as error:
        node.data_delete("/a/s")
    assert error.value.message == "this stream has no data"


def test_an_empty_error_body_gives_the_reason_phrase(node, mock):
    mock.delete("/stream.json").respond(409)
    with pytest.raises(ApiError) as error:
        node.data_stream_delete("/a/s")
    assert (error.value.message, error.value.status) == ("Conflict", 409)


def test_a_500_traceback_is_summarised_and_never_retried(node, mock):
    traceback = (
        "500 Internal Server Error\n\nTraceback (most recent call last):\n"
        '  File "x.py", line 94, in map\n'
        "UnboundLocalError: cannot access local variable 'element_ids'\n"
    )
    route = mock.get("/folders.json").respond(500, text=traceback)
    with pytest.raises(ApiError) as error:
        node.folder_root()
    assert route.call_count == 1
    assert error.value.status == 500
    assert error.value.message == (
        "Internal Server Error (UnboundLocalError: cannot access local variable 'element_ids')"
    )


def test_an_answer_that_should_be_json_but_is_not_is_an_error(node, mock):
    mock.get("/folders.json").respond(200, text="ok")
    with pytest.raises(ApiError, match="expected JSON"):
        node.folder_root()


def test_an_unexpected_text_answer_to_a_change_is_an_error(node, mock):
    mock.delete("/stream.json").respond(200, text="maybe")
    with pytest.raises(ApiError, match="unexpected answer"):
        node.data_stream_delete("/a/s")


# -- retries ---------------------------------------------------------------------------


def test_get_is_retried_on_502_and_503_with_exponential_backoff(node, mock, monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr(transport_module.time, "sleep", delays.append)
    node.transport.backoff_base = 0.5
    route = mock.get("/folders.json")
    route.side_effect = [
        httpx.Response(502),
        httpx.Response(503),
        httpx.Response(504),
        httpx.Response(200, json=FOLDER_JSON),
    ]
    assert node.folder_root().name == "bulk"
    assert route.call_count == 4
    assert delays == [0.5, 1.0, 2.0]


def test_get_gives_up_after_the_retries(node, mock):
    route = mock.get("/folders.json").respond(503, text="503: Service Unavailable")
    with pytest.raises(ApiError) as error:
        node.folder_root()
    assert route.call_count == 1 + 3
    assert error.value.status == 503


def test_get_is_retried_after_connection_errors(node, mock):
    route = mock.get("/folders.json")
    route.side_effect = [
        httpx.ConnectError("refused"),
        httpx.ReadError("reset"),
        httpx.Response(200, json=FOLDER_JSON),
    ]
    assert node.folder_root().id == 5
    assert route.call_count == 3


def test_a_node_that_stays_unreachable_raises_connection_failed(node, mock):
    route = mock.get("/folders.json").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ConnectionFailed, match="no answer from the node"):
        node.folder_root()
    assert route.call_count == 4


def test_retries_zero_sends_once(mock):
    route = mock.get("/folders.json").respond(502)
    with Node(URL, KEY, retries=0) as node, pytest.raises(ApiError):
        node.folder_root()
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", "/stream.json", lambda n: create(n, DataStream("s", elements=ONE))),
        ("PUT", "/folder/move.json", lambda n: n.folder_move("/a", "/b")),
        ("DELETE", "/stream.json", lambda n: n.data_stream_delete("/a/s")),
        ("POST", "/data/decimate.json", lambda n: n.data_decimate("/a/s")),
    ],
)  # fmt: skip
def test_writes_are_never_retried(node, mock, method, path, call):
    route = mock.route(method=method, path=path)
    route.side_effect = [httpx.Response(503), httpx.Response(200, text="ok")]
    with pytest.raises(ApiError) as error:
        call(node)
    assert error.value.status == 503
    assert route.call_count == 1
    route.side_effect = httpx.ConnectError("refused")
    with pytest.raises(ConnectionFailed):
        call(node)
    assert route.call_count == 2


# -- folders ---------------------------------------------------------------------------


def test_folder_root(node, mock):
    route = mock.get("/folders.json").respond(
        json={**FOLDER_JSON, "id": 1, "name": "root", "children": [FOLDER_JSON]}
    )
    root = node.folder_root()
    assert params_of(route) == {}
    assert root.name == "root"
    assert root.children[0].data_streams[0].elements[0].name == "x"
    assert root.children[0].event_streams[0].event_fields == EVENT_STREAM_JSON["event_fields"]


@pytest.mark.parametrize(
    ("folder", "expected"),
    [("/test/bulk", {"path": "/test/bulk"}), (5, {"id": "5"}), (Folder(id=7), {"id": "7"})],
)
def test_folder_get(node, mock, folder, expected):
    route = mock.get("/folder.json").respond(json=FOLDER_JSON)
    result = node.folder_get(folder)
    assert params_of(route) == expected
    assert (result.id, result.name, result.description) == (5, "bulk", None)


def test_folder_move(node, mock):
    route = mock.put("/folder/move.json").respond(json={"stream": FOLDER_JSON})
    assert node.folder_move("/test/events", "/moved") is None
    assert body_of(route) == {"src_path": "/test/events", "dest_path": "/moved"}
    node.folder_move(Folder(id=6), 9)
    assert body_of(route) == {"src_id": 6, "dest_id": 9}


def test_folder_update_sends_the_whole_folder(node, mock):
    route = mock.put("/folder.json").respond(json=FOLDER_JSON)
    folder = Folder.from_json(FOLDER_JSON)
    folder.description = "bulk data"
    assert node.folder_update(folder) is None
    body = body_of(route)
    assert body["id"] == 5
    assert body["folder"] == {**folder.to_json(), "description": "bulk data"}
    assert set(body["folder"]) == {
        "id",
        "name",
        "description",
        "streams",
        "event_streams",
        "children",
        "locked",
    }


@pytest.mark.parametrize(("recursive", "flag"), [(False, "0"), (True, "1")])
def test_folder_delete(node, mock, recursive, flag):
    route = ok(mock.delete("/folder.json"))
    node.folder_delete("/moved", recursive=recursive)
    assert params_of(route) == {"path": "/moved", "recursive": flag}


def test_folder_delete_defaults_to_not_recursive(node, mock):
    route = ok(mock.delete("/folder.json"))
    node.folder_delete(12)
    assert params_of(route) == {"id": "12", "recursive": "0"}


def test_folder_delete_with_children_reports_the_node_reason(node, mock):
    mock.delete("/folder.json").respond(
        400,
        text="400: specify [recursive] or remove child folders first",
        extensions={"reason_phrase": b"specify [recursive] or remove child folders first"},
    )
    with pytest.raises(ApiError, match=r"specify \[recursive\]") as error:
        node.folder_delete("/moved")
    assert error.value.status == 400


# -- data streams ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ("/test/bulk/f32", {"path": "/test/bulk/f32"}),
        (3, {"id": "3"}),
        (DataStream(id=3), {"id": "3"}),
    ],
)
def test_data_stream_get(node, mock, stream, expected):
    route = mock.get("/stream.json").respond(json=STREAM_JSON)
    result = node.data_stream_get(stream)
    assert params_of(route) == {**expected, "no-info": ""}
    assert (result.id, result.layout, result.elements[0].display_type) == (
        3,
        "float32_1",
        "CONTINUOUS",
    )


def test_data_stream_move(node, mock):
    route = mock.put("/stream/move.json").respond(json={"stream": STREAM_JSON})
    assert node.data_stream_move("/test/bulk/i16", "/moved/streams") is None
    assert body_of(route) == {"src_path": "/test/bulk/i16", "dest_path": "/moved/streams"}
    node.data_stream_move(DataStream(id=4), Folder(id=8))
    assert body_of(route) == {"src_id": 4, "dest_id": 8}


def test_data_stream_update(node, mock):
    route = mock.put("/stream.json").respond(json=STREAM_JSON)
    stream = DataStream.from_json(STREAM_JSON)
    stream.elements[0].name = "renamed"
    assert node.data_stream_update(stream) is None
    assert body_of(route) == {"id": 3, "stream": stream.to_json()}
    assert body_of(route)["stream"]["elements"][0]["name"] == "renamed"


def test_data_stream_delete(node, mock):
    route = ok(mock.delete("/stream.json"))
    node.data_stream_delete("/moved/streams/i16")
    assert params_of(route) == {"path": "/moved/streams/i16"}


def test_data_stream_create_sends_every_key_the_node_requires(node, mock):
    route = mock.post("/stream.json").respond(json=STREAM_JSON)
    stream = DataStream(
        name="f32",
        description="float32_3 stream",
        elements=[Element(name=n, units="u") for n in "xyz"],
    )
    created = node.data_stream_create(stream, "/test/bulk")
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
    node.data_stream_create(stream, Folder(id=5))
    assert body_of(route)["dest_id"] == 5


def test_data_stream_info(node, mock):
    route = mock.get("/stream.json").respond(json={**STREAM_JSON, "data_info": DATA_INFO_JSON})
    info = node.data_stream_info("/test/bulk/f32")
    assert params_of(route) == {"path": "/test/bulk/f32"}  # no `no-info`: the info is wanted
    assert (info.start, info.end, info.rows, info.bytes, info.total_time) == (
        1700000000000000,
        1700000999999000,
        999424,
        33357824,
        999999000,
    )


def test_data_stream_info_of_a_stream_without_info(node, mock):
    mock.get("/stream.json").respond(json=STREAM_JSON)
    info = node.data_stream_info(3)
    assert (info.start, info.end, info.rows) == (None, None, 0)


def test_data_stream_annotation_delete(node, mock):
    route = ok(mock.delete("/stream/annotations.json"))
    node.data_stream_annotation_delete("/test/bulk/f32")
    assert params_of(route) == {"stream_path": "/test/bulk/f32"}
    node.data_stream_annotation_delete(3, start=10, end=20)
    assert params_of(route) == {"stream_id": "3", "start": "10", "end": "20"}


# -- data ------------------------------------------------------------------------------


def test_data_delete(node, mock):
    route = ok(mock.delete("/data"))
    node.data_delete("/test/bulk/f32", start=1700000400000000, end=1700000500000000)
    assert params_of(route) == {
        "path": "/test/bulk/f32",
        "start": "1700000400000000",
        "end": "1700000500000000",
    }
    node.data_delete(DataStream(id=3))
    assert params_of(route) == {"id": "3"}


def test_data_intervals(node, mock):
    intervals = [[1700000000000000, 1700000399999001], [1700000500000000, 1700000999999001]]
    route = mock.get("/data/intervals.json").respond(json=intervals)
    assert node.data_intervals("/test/bulk/f32") == intervals
    assert params_of(route) == {"path": "/test/bulk/f32"}
    node.data_intervals(3, start=1.7e15, end=1700000000010000)  # floats as upstream's int()
    assert params_of(route) == {"id": "3", "start": "1700000000000000", "end": "1700000000010000"}


def test_data_consolidate(node, mock):
    route = mock.post("/data/consolidate.json").respond(json={"num_consolidated": 1})
    assert node.data_consolidate("/test/bulk/f32", max_gap=200000000) == 1
    assert params_of(route) == {"path": "/test/bulk/f32", "max_gap": "200000000"}
    node.data_consolidate(3, 5, start=1, end=2)
    assert params_of(route) == {"id": "3", "max_gap": "5", "start": "1", "end": "2"}


def test_data_consolidate_needs_a_positive_gap(node, mock):
    with pytest.raises(ConfigurationError, match="max_gap"):
        node.data_consolidate("/a/s", 0)


def test_data_decimate_and_drop_decimations(node, mock):
    post = ok(mock.post("/data/decimate.json"))
    delete = ok(mock.delete("/data/decimate.json"))
    node.data_decimate("/test/bulk/f32")
    node.data_drop_decimations(3)
    assert params_of(post) == {"path": "/test/bulk/f32"}
    assert params_of(delete) == {"id": "3"}


# -- event streams ---------------------------------------------------------------------


def test_event_stream_get(node, mock):
    route = mock.get("/event.json").respond(json=EVENT_STREAM_JSON)
    stream = node.event_stream_get("/test/events/events")
    assert params_of(route) == {"path": "/test/events/events"}
    assert (stream.id, stream.event_fields, stream.chunk_duration_us) == (
        2,
        {"label": "string", "value": "numeric"},
        0,
    )
    node.event_stream_get(EventStream(id=2))
    assert params_of(route) == {"id": "2"}


def test_event_stream_get_with_create_makes_a_missing_stream(node, mock):
    not_found(mock.get("/event.json"), "stream does not exist")
    post = mock.post("/event.json").respond(json=EVENT_STREAM_JSON)
    node.event_stream_get(
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


def test_event_stream_get_without_create_raises(node, mock):
    not_found(mock.get("/event.json"), "stream does not exist")
    with pytest.raises(StreamNotFound):
        node.event_stream_get("/test/events/nope")


def test_event_stream_move(node, mock):
    route = mock.put("/event/move.json").respond(json={"stream": EVENT_STREAM_JSON})
    node.event_stream_move("/test/events/events_ts", "/test/events2")
    assert body_of(route) == {"src_path": "/test/events/events_ts", "dest_path": "/test/events2"}


def test_event_stream_update(node, mock):
    route = mock.put("/event.json").respond(json=EVENT_STREAM_JSON)
    stream = EventStream.from_json(EVENT_STREAM_JSON)
    stream.description = "updated"
    assert node.event_stream_update(stream) is None
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


def test_event_stream_update_checks_the_fields(node, mock):
    stream = EventStream.from_json(EVENT_STREAM_JSON)
    stream.event_fields = {"label": "text"}
    with pytest.raises(ConfigurationError, match="label"):
        node.event_stream_update(stream)


def test_event_stream_delete(node, mock):
    route = ok(mock.delete("/event.json"))
    node.event_stream_delete("/test/events2/events_ts")
    assert params_of(route) == {"path": "/test/events2/events_ts"}


def test_event_stream_create(node, mock):
    route = mock.post("/event.json").respond(json=EVENT_STREAM_JSON)
    stream = EventStream("events", "ev", event_fields={"label": "string", "value": "numeric"})
    created = node.event_stream_create(stream, "/test/events")
    assert created.id == 2
    assert body_of(route) == {
        "stream": {
            "id": None,
            "name": "events",
            "description": "ev",
            "event_fields": {"label": "string", "value": "numeric"},
            "chunk_duration_us": 0,
            "keep_us": -1,
        },
        "dest_path": "/test/events",
    }


def test_event_stream_info(node, mock):
    data_info = {
        "start": 1700000000000000,
        "end": 1700000099500000,
        "event_count": 100,
        "bytes": 0,
        "total_time": 99500000,
    }
    route = mock.get("/event.json").respond(json={**EVENT_STREAM_JSON, "data_info": data_info})
    info = node.event_stream_info("/test/events/events")
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


def test_event_stream_write_posts_in_blocks_of_500_and_returns_ids(node, mock):
    version = mock.get("/version.json").respond(json=VERSION_JSON)
    route = mock.post("/event/data.json").mock(side_effect=_echo_events)
    events = [Event(1700000000000000 + i, 1700000000000000 + i + 1) for i in range(1200)]
    returned = node.event_stream_write("/test/events/events", events)
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
    node.event_stream_write(2, events[:1])
    again = body_of(route)
    assert again["id"] == 2
    assert again["events"][0]["id"] == 1000
    assert again["events"][0]["event_stream_id"] == 2
    assert version.call_count == 1  # the node's uuid is asked once


def test_event_stream_write_checks_events_before_sending(node, mock):
    with pytest.raises(ConfigurationError, match="end after it starts"):
        node.event_stream_write("/e/s", [Event(10, 5)])
    with pytest.raises(ConfigurationError, match="end after it starts"):
        node.event_stream_write("/e/s", [Event(10, 10)])
    with pytest.raises(ConfigurationError, match="needs an end_time"):
        node.event_stream_write("/e/s", [Event(10)])
    with pytest.raises(ConfigurationError, match="Event objects"):
        node.event_stream_write("/e/s", [{"start_time": 1}])  # type: ignore[list-item]
    assert not mock.calls


def _pages(route: respx.Route) -> list[dict[str, str]]:
    return [params_of(route, i) for i in range(route.call_count)]


def test_event_stream_read_pages_through_the_stream(node, mock):
    mock.get("/version.json").respond(json=VERSION_JSON)
    all_events = [event_json(n) for n in range(5)]

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        start, limit = int(params.get("start", 0)), int(params["limit"])
        chosen = [e for e in all_events if e["start_time"] >= start][:limit]
        return httpx.Response(200, json={"count": len(chosen), "events": chosen, "type": "events"})

    route = mock.get("/event/data.json").mock(side_effect=answer)
    blocks = list(node.event_stream_read("/test/events/events", block_size=2))
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
    events = list(node.event_stream_read("/test/events/events"))
    assert [e.id for e in events] == [1, 2, 3, 4, 5]
    assert all(e.node_uuid == UUID and e.event_stream_id == 2 for e in events)
    assert params_of(route)["limit"] == "1000"


def test_event_stream_read_keeps_events_that_share_a_start_time(node, mock):
    mock.get("/version.json").respond(json=VERSION_JSON)
    same = 1700000000000000
    all_events = [event_json(0), *(event_json(n, start=same + 10) for n in (1, 2, 3))]

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        start, limit = int(params.get("start", 0)), int(params["limit"])
        chosen = [e for e in all_events if e["start_time"] >= start][:limit]
        return httpx.Response(200, json={"count": len(chosen), "events": chosen, "type": "events"})

    mock.get("/event/data.json").mock(side_effect=answer)
    events = list(node.event_stream_read(2, block_size=3))
    # upstream's "last start_time + 1" would lose event 4 (it shares event 3's start)
    assert [e.id for block in events for e in block] == [1, 2, 3, 4]


def test_event_stream_read_warns_when_a_start_time_holds_more_than_a_page(node, mock, caplog):
    mock.get("/version.json").respond(json=VERSION_JSON)
    same = 1700000000000000
    route = mock.get("/event/data.json")
    route.side_effect = [
        httpx.Response(200, json={"events": [event_json(n, start=same) for n in (0, 1)]}),
        httpx.Response(200, json={"events": [event_json(n, start=same) for n in (0, 1)]}),
        httpx.Response(200, json={"events": [event_json(5, start=same + 7)]}),
    ]
    with caplog.at_level(logging.WARNING, logger="joule_sync"):
        ids = [e.id for e in node.event_stream_read(2, block_size=2) for e in e]
    assert ids == [1, 2, 6]
    assert "more than 2 events start at" in caplog.text
    assert params_of(route)["start"] == str(same + 1)


def test_event_stream_read_stops_at_the_end(node, mock):
    mock.get("/version.json").respond(json=VERSION_JSON)
    route = mock.get("/event/data.json").respond(
        json={"events": [event_json(0), event_json(1)], "type": "events"}
    )
    end = event_json(1)["start_time"]
    blocks = list(node.event_stream_read(2, start=1, end=end, block_size=2))
    assert len(blocks) == 1 and route.call_count == 1
    assert params_of(route) == {
        "id": "2",
        "start": "1",
        "end": str(end),
        "limit": "2",
        "return-subset": "1",
        "include-ongoing-events": "1",
    }


def test_event_stream_read_with_only_an_end_starts_at_the_first_event(node, mock):
    # with an end but no start the node would answer the *last* events before end
    mock.get("/version.json").respond(json=VERSION_JSON)
    info = {"start": 1700000000000000, "end": 1, "event_count": 1, "bytes": 0, "total_time": 0}
    mock.get("/event.json").respond(json={**EVENT_STREAM_JSON, "data_info": info})
    route = mock.get("/event/data.json").respond(json={"events": [event_json(0)]})
    assert len(list(node.event_stream_read("/e/s", end=1800000000000000))) == 1
    assert params_of(route)["start"] == "1700000000000000"


@pytest.mark.parametrize(
    "json_filter",
    [
        '[[["label", "is", "even"], ["value", "gt", "10"]]]',
        [[["label", "is", "even"], ["value", "gt", "10"]]],
    ],
)
def test_event_filters_go_out_as_json_in_either_form(node, mock, json_filter):
    mock.get("/version.json").respond(json=VERSION_JSON)
    read = mock.get("/event/data.json").respond(json={"events": []})
    count = mock.get("/event/data/count.json").respond(json={"count": 44})
    remove = ok(mock.delete("/event/data.json"))
    expected = '[[["label", "is", "even"], ["value", "gt", "10"]]]'
    assert list(node.event_stream_read("/e/s", json_filter=json_filter)) == []
    assert node.event_stream_count("/e/s", json_filter=json_filter) == 44
    node.event_stream_remove("/e/s", json_filter=json_filter)
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
def test_bad_event_filters_are_refused_before_sending(node, mock, json_filter, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        node.event_stream_read("/e/s", json_filter=json_filter)
    with pytest.raises(ConfigurationError, match=complaint):
        node.event_stream_count("/e/s", json_filter=json_filter)
    with pytest.raises(ConfigurationError, match=complaint):
        node.event_stream_remove("/e/s", json_filter=json_filter)
    assert not mock.calls


def test_event_stream_read_list_stops_at_the_limit(node, mock, caplog):
    mock.get("/version.json").respond(json=VERSION_JSON)
    route = mock.get("/event/data.json").respond(json={"events": [event_json(n) for n in range(3)]})
    with caplog.at_level(logging.WARNING, logger="joule_sync"):
        events = node.event_stream_read_list("/e/s", limit=3)
    assert [e.id for e in events] == [1, 2, 3]
    assert params_of(route)["limit"] == "3"
    assert "read limit of 3 events" in caplog.text


def test_event_stream_count(node, mock):
    route = mock.get("/event/data/count.json").respond(json={"count": 100})
    assert node.event_stream_count("/test/events/events") == 100
    assert params_of(route) == {"path": "/test/events/events", "include-ongoing-events": "1"}
    node.event_stream_count(2, start=5, end=6, include_on_going_events=False)
    assert params_of(route) == {"id": "2", "start": "5", "end": "6", "include-ongoing-events": "0"}


def test_event_stream_remove(node, mock):
    route = ok(mock.delete("/event/data.json"))
    node.event_stream_remove("/test/events/events", start=1700000000000000, end=1700000010000000)
    assert params_of(route) == {
        "path": "/test/events/events",
        "start": "1700000000000000",
        "end": "1700000010000000",
    }
    node.event_stream_remove(EventStream(id=2))
    assert params_of(route) == {"id": "2"}


# -- annotations -----------------------------------------------------------------------


def test_annotation_create(node, mock):
    route = mock.post("/annotation.json").respond(json=ANNOTATION_JSON)
    note = Annotation(title="range", start=1700000000000010, end=1700000000002000, content="c1")
    created = node.annotation_create(note, "/test/bulk/f32")
    assert body_of(route) == {
        "title": "range",
        "content": "c1",
        "start": 1700000000000010,
        "end": 1700000000002000,
        "stream_path": "/test/bulk/f32",
    }
    assert (created.id, created.stream_id) == (1, 3)
    assert created == note
    node.annotation_create(Annotation("point", start=5), 3)
    assert body_of(route) == {
        "title": "point",
        "content": "",
        "start": 5,
        "end": None,
        "stream_id": 3,
    }


def test_annotation_get(node, mock):
    route = mock.get("/annotations.json").respond(json=[ANNOTATION_JSON])
    notes = node.annotation_get("/test/bulk/f32", start=1700000000000000, end=1700000000000100)
    assert params_of(route) == {
        "stream_path": "/test/bulk/f32",
        "start": "1700000000000000",
        "end": "1700000000000100",
    }
    assert [(n.id, n.title, n.end) for n in notes] == [(1, "range", 1700000000002000)]
    node.annotation_get(DataStream(id=3))
    assert params_of(route) == {"stream_id": "3"}


def test_annotation_update(node, mock):
    route = mock.put("/annotation.json").respond(
        json={**ANNOTATION_JSON, "title": "renamed", "content": "updated"}
    )
    note = Annotation.from_json(ANNOTATION_JSON)
    note.title, note.content = "renamed", "updated"
    updated = node.annotation_update(note)
    assert body_of(route) == {"id": 1, "title": "renamed", "content": "updated"}
    assert updated.title == "renamed"


def test_annotation_delete(node, mock):
    route = ok(mock.delete("/annotation.json"))
    node.annotation_delete(1)
    assert params_of(route) == {"id": "1"}
    node.annotation_delete(Annotation.from_json(ANNOTATION_JSON))
    assert params_of(route) == {"id": "1"}


def test_annotation_info(node, mock):
    route = mock.get("/annotations/info.json").respond(
        json={"start": 1700000000000010, "end": 1700000000000500, "count": 2}
    )
    info = node.annotation_info("/test/bulk/f32")
    assert params_of(route) == {"stream_path": "/test/bulk/f32"}
    assert (info.start, info.end, info.count) == (1700000000000010, 1700000000000500, 2)


# -- modules, proxies ------------------------------------------------------------------


def test_module_list(node, mock):
    route = mock.get("/modules.json").respond(json=[MODULE_JSON])
    modules = node.module_list()
    assert params_of(route) == {"statistics": "0"}
    assert (modules[0].name, modules[0].outputs, modules[0].statistics) == (
        "random",
        {"output": "/live/random"},
        None,
    )
    route.respond(json=[{**MODULE_JSON, "statistics": STATISTICS_JSON}])
    stats = node.module_list(statistics=True)[0].statistics
    assert params_of(route) == {"statistics": "1"}
    assert stats is not None and (stats.pid, stats.memory_percent) == (4455, 0.4)


def test_module_get(node, mock):
    route = mock.get("/module.json").respond(json=MODULE_JSON)
    assert node.module_get("random").id == 0
    assert params_of(route) == {"name": "random", "statistics": "0"}
    node.module_get(0, statistics=True)
    assert params_of(route) == {"id": "0", "statistics": "1"}


def test_module_logs(node, mock):
    lines = ["[2026-11-24T02:29:19.324595]: ---starting module---"]
    route = mock.get("/module/logs.json").respond(json=lines)
    assert node.module_logs("random") == lines
    assert params_of(route) == {"name": "random"}
    node.module_logs(joule_sync.Module.from_json(MODULE_JSON))
    assert params_of(route) == {"id": "0"}


def test_proxy_list_and_get(node, mock):
    mock.get("/proxies.json").respond(json=[PROXY_JSON])
    route = mock.get("/proxy.json").respond(json=PROXY_JSON)
    [proxy] = node.proxy_list()
    assert (proxy.id, proxy.name, proxy.target_url) == (
        0,
        "refnode_self",
        "http://127.0.0.1:18088/version/",
    )
    assert node.proxy_get("refnode_self") == proxy
    assert params_of(route) == {"name": "refnode_self"}
    node.proxy_get(proxy)
    assert params_of(route) == {"id": "0"}


# -- masters, followers ----------------------------------------------------------------


def test_master_add_returns_the_new_users_key(node, mock):
    new_key = "_6Ydw-AMr04UPhhDHFDyXseQ11WgM6A-EY2rvdOc6no"
    route = mock.post("/master.json").respond(json={"key": new_key, "name": "refnode"})
    master = node.master_add("user", "bob")
    assert body_of(route) == {
        "master_type": "user",
        "identifier": "bob",
        "lumen_params": None,
        "api_key": None,
    }
    assert (master.master_type, master.name, master.key) == ("user", "bob", new_key)
    assert new_key not in repr(master)
    node.master_add("lumen_node", "lumen.test", lumen_parameters={"auth_key": "k"})
    assert body_of(route)["master_type"] == "lumen"
    assert body_of(route)["lumen_params"] == {"auth_key": "k"}


def test_master_add_refuses_unknown_types(node, mock):
    with pytest.raises(ConfigurationError, match="master_type"):
        node.master_add("admin", "bob")


def test_master_list(node, mock):
    mock.get("/masters.json").respond(
        json=[
            {"id": 1, "name": "refnode", "type": "USER", "grantor_id": None},
            {"id": 2, "name": "other", "type": "JOULE_NODE", "grantor_id": 1},
        ]
    )
    masters = node.master_list()
    assert [(m.master_type, m.name, m.key) for m in masters] == [
        ("user", "refnode", None),
        ("joule_node", "other", None),
    ]


def test_master_delete_and_its_alias(node, mock):
    route = ok(mock.delete("/master.json"))
    node.master_delete("user", "bob")
    assert params_of(route) == {"master_type": "user", "name": "bob"}
    node.master_remove(Master("joule_node", "other"))
    assert params_of(route) == {"master_type": "joule", "name": "other"}
    with pytest.raises(ConfigurationError, match="master type and a name"):
        node.master_delete("user")


def test_follower_list_and_delete(node, mock):
    mock.get("/followers.json").respond(
        json=[{"id": 1, "name": "f1", "location": "http://f1:8088", "key": "follower-secret"}]
    )
    route = ok(mock.delete("/follower.json"))
    [follower] = node.follower_list()
    assert (follower.name, follower.url, follower.key) == (
        "f1",
        "http://f1:8088",
        "follower-secret",
    )
    assert "follower-secret" not in repr(follower)
    node.follower_delete(follower)
    assert params_of(route) == {"name": "f1"}
    node.follower_remove("f2")
    assert params_of(route) == {"name": "f2"}


# -- database --------------------------------------------------------------------------


CONNECTION_JSON = {
    "username": "joule_module",
    "password": "0aef988113324d1c",
    "port": 55432,
    "database": "joule",
    "host": "127.0.0.1",
}


def test_db_connection_info_replaces_a_loopback_host_with_the_nodes(node, mock):
    mock.get("/db/connection.json").respond(json=CONNECTION_JSON)
    info = node.db_connection_info()
    assert (info.username, info.port, info.database, info.host) == (
        "joule_module",
        55432,
        "joule",
        "joule.test",
    )
    assert info.password == "0aef988113324d1c"
    assert "0aef988113324d1c" not in repr(info)


def test_db_connection_info_keeps_a_real_host(node, mock):
    mock.get("/db/connection.json").respond(json={**CONNECTION_JSON, "host": "db.example"})
    assert node.db_connection_info().host == "db.example"


def test_db_connect_makes_a_psycopg_engine(node, mock):
    mock.get("/db/connection.json").respond(json=CONNECTION_JSON)
    engine = node.db_connect()
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert (engine.url.host, engine.url.port, engine.url.database) == (
            "joule.test",
            55432,
            "joule",
        )
        assert engine.url.password == "0aef988113324d1c"
    finally:
        engine.dispose()


def test_db_connect_without_the_db_extra_says_how_to_get_it(node, mock, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "sqlalchemy", None)
    with pytest.raises(ConfigurationError, match=r"joule-sync\[db\]"):
        node.db_connect()


def test_db_connect_without_psycopg_says_how_to_get_it(node, mock, monkeypatch):
    mock.get("/db/connection.json").respond(json=CONNECTION_JSON)
    monkeypatch.setitem(__import__("sys").modules, "psycopg", None)
    with pytest.raises(ConfigurationError, match=r"psycopg driver.*joule-sync\[db\]"):
        node.db_connect()


# -- arguments checked before anything is sent ----------------------------------------


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
        (lambda n: create(n, DataStream("", elements=ONE)), "data stream name"),
        (lambda n: create(n, DataStream("s")), "at least one element"),
        (lambda n: create(n, DataStream("s", "", "uint8", elements=ONE)), "datatype"),
        (lambda n: create(n, DataStream("s", elements=[Element()])), "element name"),
        (lambda n: create(n, "s"), "needs a DataStream"),
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
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_before_sending(node, mock, call, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        call(node)
    assert not mock.calls
