"""The transport, against a respx-mocked node: what every request carries, how the node's
failures become errors, what is retried, timeouts, TLS settings, and reconnecting after close.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from joule_sync import (
    ApiError,
    ConfigurationError,
    ConnectionFailed,
    DataStream,
    Element,
    Node,
    StreamNotFound,
)
from joule_sync import _transport as transport_module
from wire import DBINFO_JSON, FOLDER_JSON, KEY, URL, VERSION_JSON, not_found

A_STREAM = DataStream("s", elements=[Element("a")])  # a stream the node would create

# -- connecting ------------------------------------------------------------------------


def test_every_request_carries_the_key_and_reuses_one_client(mocked_node, mock):
    route = mock.get("/version.json").respond(json=VERSION_JSON)
    mock.get("/dbinfo").respond(json=DBINFO_JSON)
    http_client = mocked_node.transport.client
    mocked_node.info()
    mocked_node.info()
    assert mocked_node.transport.client is http_client
    for call in route.calls:
        assert call.request.headers["X-API-KEY"] == KEY
        assert call.request.headers["User-Agent"].startswith("joule-sync/")


def test_a_base_path_in_the_url_prefixes_every_request(mock):
    route = mock.get(f"{URL}/joule/folders.json").respond(json=FOLDER_JSON)
    with Node(URL + "/joule/", KEY) as node:
        node.folder_root()
    assert route.called


def test_timeouts_are_per_wait_and_settable():
    with Node(URL, KEY, timeout=12.5, connect_timeout=3.0) as node:
        timeout = node.transport.client.timeout
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (3.0, 12.5, 12.5, 12.5)


def test_close_and_context_manager_close_the_client_and_a_later_call_reconnects(mock):
    route = mock.get("/version.json").respond(json=VERSION_JSON)
    mock.get("/dbinfo").respond(json=DBINFO_JSON)
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


# -- streamed requests -----------------------------------------------------------------


def test_a_streamed_request_can_wait_forever_for_the_node(mocked_node, mock):
    route = mock.get("/data").respond(200, content=b"rows")
    response = mocked_node.transport.request("GET", "/data", stream=True, no_read_timeout=True)
    assert not response.is_closed  # the body is left to the caller
    assert response.read() == b"rows"
    response.close()
    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout["read"] is None
    assert timeout["connect"] == mocked_node.transport.client.timeout.connect


def test_a_streamed_error_is_read_mapped_and_closed(mocked_node, mock):
    not_found(mock.get("/data"), "stream does not exist")
    with pytest.raises(StreamNotFound, match="stream does not exist"):
        mocked_node.transport.request("GET", "/data", stream=True)


class _BrokenStream(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b"400: "
        raise httpx.ReadError("connection reset")


def test_a_streamed_error_whose_body_breaks_off_is_a_connection_failure(mocked_node, mock):
    mock.get("/data").mock(return_value=httpx.Response(400, stream=_BrokenStream()))
    with pytest.raises(ConnectionFailed, match="connection broke while the node answered 400"):
        mocked_node.transport.request("GET", "/data", stream=True, retry=False)


# -- TLS -------------------------------------------------------------------------------


def test_certificate_checks_are_on_by_default(caplog):
    with caplog.at_level(logging.WARNING, logger="joule_sync"):
        node = Node("https://joule.test", KEY)
    pool = node.transport.client._transport._pool  # type: ignore[attr-defined]
    assert pool._ssl_context.verify_mode.name == "CERT_REQUIRED"
    assert pool._ssl_context.check_hostname
    assert caplog.records == []
    node.close()


def test_a_ca_file_that_is_not_a_certificate_is_a_configuration_error(tmp_path):
    # a missing one: test_bad_input.py
    bad = tmp_path / "ca.crt"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="CA file"):
        Node("https://joule.test", KEY, ca_file=bad)


# -- error mapping ---------------------------------------------------------------------


def test_404_stream_does_not_exist_is_stream_not_found(mocked_node, mock):
    not_found(mock.get("/stream.json"), "stream does not exist")
    with pytest.raises(StreamNotFound) as error:
        mocked_node.data_stream_get("/test/nope")
    # upstream says "stream does not exist [404]": we name the stream asked for
    assert (error.value.message, error.value.status) == ("stream '/test/nope' does not exist", 404)
    assert str(error.value) == "stream '/test/nope' does not exist [404]"


def test_404_folder_does_not_exist_is_stream_not_found(mocked_node, mock):
    not_found(mock.get("/folder.json"), "folder does not exist")
    with pytest.raises(StreamNotFound, match="folder '/nope' does not exist"):
        mocked_node.folder_get("/nope")


def test_other_404s_are_plain_api_errors(mocked_node, mock):
    mock.get("/module.json").respond(404, text="module does not exist")  # body without prefix
    with pytest.raises(ApiError) as error:
        mocked_node.module_get("nope")
    assert type(error.value) is ApiError
    assert (error.value.message, error.value.status) == ("module does not exist", 404)


def test_a_bare_reason_body_is_the_message(mocked_node, mock):
    mock.post("/stream.json").respond(400, text="Invalid or missing stream attribute: 'id'")
    with pytest.raises(ApiError) as error:
        mocked_node.data_stream_create(A_STREAM, "/f")
    assert error.value.message == "Invalid or missing stream attribute: 'id'"
    assert error.value.status == 400


def test_a_403_says_the_node_did_not_accept_the_key(mocked_node, mock):
    mock.get("/folders.json").respond(403, text="403: Forbidden")
    with pytest.raises(ApiError) as forbidden:
        mocked_node.folder_root()
    assert forbidden.value.status == 403
    assert "API key" in forbidden.value.message


def test_a_json_error_body_gives_its_error(mocked_node, mock):
    mock.post("/master.json").respond(400, json={"error": "Cannot contact node at [http://x:1]"})
    with pytest.raises(ApiError) as error:
        mocked_node.master_add("joule", "http://x:1")
    assert error.value.message == "Cannot contact node at [http://x:1]"


def test_a_text_body_labelled_json_is_still_read(mocked_node, mock):
    mock.delete("/data").respond(
        400, content=b"this stream has no data", headers={"content-type": "application/json"}
    )
    with pytest.raises(ApiError) as error:
        mocked_node.data_delete("/a/s")
    assert error.value.message == "this stream has no data"


def test_an_empty_error_body_gives_the_reason_phrase(mocked_node, mock):
    mock.delete("/stream.json").respond(409)
    with pytest.raises(ApiError) as error:
        mocked_node.data_stream_delete("/a/s")
    assert (error.value.message, error.value.status) == ("Conflict", 409)


def test_a_500_traceback_is_summarised_and_never_retried(mocked_node, mock):
    traceback = (
        "500 Internal Server Error\n\nTraceback (most recent call last):\n"
        '  File "x.py", line 94, in map\n'
        "UnboundLocalError: cannot access local variable 'element_ids'\n"
    )
    route = mock.get("/folders.json").respond(500, text=traceback)
    with pytest.raises(ApiError) as error:
        mocked_node.folder_root()
    assert route.call_count == 1
    assert error.value.status == 500
    assert error.value.message == (
        "Internal Server Error (UnboundLocalError: cannot access local variable 'element_ids')"
    )


def test_an_answer_that_should_be_json_but_is_not_is_an_error(mocked_node, mock):
    mock.get("/folders.json").respond(200, text="ok")
    with pytest.raises(ApiError, match="expected JSON"):
        mocked_node.folder_root()


def test_an_unexpected_text_answer_to_a_change_is_an_error(mocked_node, mock):
    mock.delete("/stream.json").respond(200, text="maybe")
    with pytest.raises(ApiError, match="unexpected answer"):
        mocked_node.data_stream_delete("/a/s")


# -- retries ---------------------------------------------------------------------------


def test_get_is_retried_on_502_and_503_with_exponential_backoff(mocked_node, mock, monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr(transport_module.time, "sleep", delays.append)
    mocked_node.transport.backoff_base = 0.5
    route = mock.get("/folders.json")
    route.side_effect = [
        httpx.Response(502),
        httpx.Response(503),
        httpx.Response(504),
        httpx.Response(200, json=FOLDER_JSON),
    ]
    assert mocked_node.folder_root().name == "bulk"
    assert route.call_count == 4
    assert delays == [0.5, 1.0, 2.0]


def test_get_gives_up_after_the_retries(mocked_node, mock):
    route = mock.get("/folders.json").respond(503, text="503: Service Unavailable")
    with pytest.raises(ApiError) as error:
        mocked_node.folder_root()
    assert route.call_count == 1 + 3
    assert error.value.status == 503


def test_get_is_retried_after_connection_errors(mocked_node, mock):
    route = mock.get("/folders.json")
    route.side_effect = [
        httpx.ConnectError("refused"),
        httpx.ReadError("reset"),
        httpx.Response(200, json=FOLDER_JSON),
    ]
    assert mocked_node.folder_root().id == 5
    assert route.call_count == 3


def test_a_node_that_stays_unreachable_raises_connection_failed(mocked_node, mock):
    route = mock.get("/folders.json").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ConnectionFailed, match="no answer from the node at"):
        mocked_node.folder_root()
    assert route.call_count == 4


def test_retries_zero_sends_once(mock):
    route = mock.get("/folders.json").respond(502)
    with Node(URL, KEY, retries=0) as node, pytest.raises(ApiError):
        node.folder_root()
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", "/stream.json", lambda n: n.data_stream_create(A_STREAM, "/f")),
        ("PUT", "/folder/move.json", lambda n: n.folder_move("/a", "/b")),
        ("DELETE", "/stream.json", lambda n: n.data_stream_delete("/a/s")),
        ("POST", "/data/decimate.json", lambda n: n.data_decimate("/a/s")),
    ],
)  # fmt: skip
def test_writes_are_never_retried(mocked_node, mock, method, path, call):
    route = mock.route(method=method, path=path)
    route.side_effect = [httpx.Response(503), httpx.Response(200, text="ok")]
    with pytest.raises(ApiError) as error:
        call(mocked_node)
    assert error.value.status == 503
    assert route.call_count == 1
    route.side_effect = httpx.ConnectError("refused")
    with pytest.raises(ConnectionFailed):
        call(mocked_node)
    assert route.call_count == 2
