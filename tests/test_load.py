"""Load: one Node shared by many threads, and many requests in a row.

32 threads share one ``Node`` on the real node, each doing mixed reads and metadata calls:
every result is checked, all finish (no deadlock), and the connections open at any time stay
within the threads and httpx's pool limits.  Then 10,000 requests in a row (reads, metadata,
refusals, responses cut off) must not grow the process's file descriptors or memory; they go
to a stand-in node in this process, as the real one takes 15-40 ms a request on this machine.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

import joule_sync
from conftest import MakeStream
from joule_sync import ApiError, ConnectionFailed, Node, StreamNotFound
from joule_sync.devnode import NODE_NAME, DevNode
from rows import make_rows

THREADS = 32
CALLS_PER_THREAD = 8
SEQUENTIAL = 10_000
SAMPLE_EVERY = 2_000


def _our_sockets() -> set[str]:
    """The inodes of this process's sockets."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _tcp_table() -> list[tuple[int, int, str, str]]:
    """(local port, remote port, state, inode) of every TCP socket on the machine."""
    with open("/proc/net/tcp") as table:
        next(table)
        rows = [line.split() for line in table]
    return [(int(r[1].split(":")[1], 16), int(r[2].split(":")[1], 16), r[3], r[9]) for r in rows]


def _sockets_to(port: int) -> int:
    """Established TCP connections from this process to ``port``."""
    ours = _our_sockets()
    established = "01"
    return sum(
        1
        for _, remote, state, inode in _tcp_table()
        if state == established and remote == port and inode in ours
    )


class _PeakSockets:
    """Samples the connections to a port on a thread, keeping the highest count seen."""

    def __init__(self, port: int) -> None:
        self.peak = 0
        self._port = port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _sockets_to(self._port))

    def __enter__(self) -> _PeakSockets:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def test_32_threads_share_one_node_with_correct_results_and_bounded_connections(
    node: Node, joule_node: DevNode, make_stream: MakeStream
) -> None:
    stream = make_stream("int32_2")
    rows = make_rows("int32_2", 20_000)
    with node.data_write(stream) as pipe:
        pipe.write(rows[:12_000])
        pipe.close_interval()
        pipe.write(rows[12_000:])
    folder = _folder_holding(node.folder_root(), stream.id)
    intervals = node.data_intervals(stream)
    assert len(intervals) == 2
    window = (int(rows["timestamp"][5_000]), int(rows["timestamp"][15_000]))

    def read_all() -> None:
        assert node.data_read_array(stream).tobytes() == rows.tobytes()

    def read_window() -> None:
        got = node.data_read_array(stream, *window)
        assert got.tobytes() == rows[5_000:15_000].tobytes()

    def read_pipe() -> None:
        with node.data_read(stream) as read:
            blocks = list(read)
        assert np.concatenate([b.data for b in blocks]).tobytes() == rows.tobytes()
        assert sum(b.end_of_interval for b in blocks) == 1

    def read_partitioned() -> None:
        assert node.data_read_array(stream, partitions=2).tobytes() == rows.tobytes()

    calls: list[Callable[[], None]] = [
        read_all,
        read_window,
        read_pipe,
        read_partitioned,
        lambda: _equal(node.data_intervals(stream), intervals),
        lambda: _equal(node.data_stream_get(stream.id).name, stream.name),
        lambda: _equal(node.folder_get(folder.id).name, folder.name),
        lambda: _equal(node.info().name, NODE_NAME),
        lambda: _equal(node.data_stream_info(stream).start, int(rows["timestamp"][0])),
        lambda: _equal(len(node.annotation_get(stream)), 0),
    ]
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def work(thread: int) -> None:
        start.wait()
        try:
            for i in range(CALLS_PER_THREAD):
                calls[(thread + i) % len(calls)]()
        except BaseException as exc:  # reported below, with the others
            failures.append(exc)

    port = urlsplit(joule_node.url).port or 0
    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(THREADS)]
    began = time.monotonic()
    with _PeakSockets(port) as sockets:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(1.0, 120 - (time.monotonic() - began)))
    assert not [t for t in threads if t.is_alive()], "threads still waiting after 120 s"
    assert not failures, failures[:3]
    pool = node.transport.client._transport._pool  # type: ignore[attr-defined]
    # partitioned reads add a connection of their own per piece
    assert 0 < sockets.peak <= min(2 * THREADS, pool._max_connections)
    assert _sockets_to(port) <= pool._max_keepalive_connections


def _folder_holding(folder: joule_sync.Folder, stream_id: int | None) -> joule_sync.Folder:
    """The folder in the tree under ``folder`` that holds the stream (its JSON does not say)."""
    if any(s.id == stream_id for s in folder.data_streams):
        return folder
    for child in folder.children:
        try:
            return _folder_holding(child, stream_id)
        except LookupError:
            continue
    raise LookupError(stream_id)


def _equal(got: object, expected: object) -> None:
    assert got == expected, (got, expected)


# -- 10,000 requests in a row ------------------------------------------------------------

STAND_IN_ROWS = make_rows("float32_3", 500)
# with the ids a node gives a stream and its elements
STAND_IN_STREAM = joule_sync.DataStream(
    "s",
    datatype="float32",
    elements=[joule_sync.Element(f"e{i}", id=8 + i, index=i) for i in range(3)],
    id=7,
).to_json()
CUT = "/load/cut"  # a stream whose reads the stand-in cuts off halfway
MISSING = "/load/missing"


JSON = "application/json"
_LAYOUT = ("joule-layout: float32_3", "joule-decimation: 1")


def _response(status: str, body: bytes, content_type: str, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    return ("\r\n".join([*head, *headers, "", ""])).encode() + body


_ROWS = STAND_IN_ROWS.tobytes()
_READ = _response("200 OK", _ROWS, "application/octet-stream", *_LAYOUT)
_TIMES = STAND_IN_ROWS["timestamp"]
_INTERVALS = json.dumps([[int(_TIMES[0]), int(_TIMES[-1]) + 1]]).encode()
# the stand-in's answers, by request path and stream path
_ANSWERS = {
    ("/stream.json", ""): _response("200 OK", json.dumps(STAND_IN_STREAM).encode(), JSON),
    ("/data/intervals.json", ""): _response("200 OK", _INTERVALS, JSON),
    ("/data", ""): _READ,
    ("/data", CUT): _READ[: -(len(_ROWS) // 2)],  # then the connection is closed
}
_NOT_FOUND = _response("404 stream does not exist", b"404: stream does not exist", "text/plain")


class _StandIn:
    """The few answers of a node the sequential requests need, over keep-alive HTTP/1.1:
    canned bytes, so that the client's work dominates."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        # headers and body go out in one write, but a client's delayed ACK can still hold
        # a second: no Nagle
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with connection, connection.makefile("rb") as requests:
            while line := requests.readline():
                while requests.readline() not in (b"\r\n", b""):  # the headers: not needed
                    pass
                url = urlsplit(line.split()[1].decode())
                stream = parse_qs(url.query).get("path", [""])[0]
                if stream == MISSING:
                    answer = _NOT_FOUND
                else:
                    answer = _ANSWERS.get(
                        (url.path, stream), _ANSWERS.get((url.path, ""), _NOT_FOUND)
                    )
                connection.sendall(answer)
                if stream == CUT:
                    return

    def close(self) -> None:
        self._listener.close()


@pytest.fixture(scope="module")
def stand_in() -> Iterator[str]:
    server = _StandIn()
    yield server.url
    server.close()


def _client_fds(server_port: int) -> int:
    """This process's open file descriptors, less the stand-in's sockets (its threads close
    them when they get to it)."""
    ours = _our_sockets()
    serving = sum(
        1 for local, _, _, inode in _tcp_table() if local == server_port and inode in ours
    )
    return len(os.listdir("/proc/self/fd")) - serving


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_10000_requests_in_a_row_grow_neither_file_descriptors_nor_memory(
    stand_in: str,
) -> None:
    expected = STAND_IN_ROWS.tobytes()

    def read_array(node: Node) -> None:
        assert node.data_read_array("/load/s").tobytes() == expected

    def read_pipe(node: Node) -> None:
        with node.data_read("/load/s") as pipe:
            assert b"".join(b.data.tobytes() for b in pipe) == expected

    def metadata(node: Node) -> None:
        assert node.data_stream_get("/load/s").id == 7

    def intervals(node: Node) -> None:
        assert len(node.data_intervals("/load/s")) == 1

    def missing(node: Node) -> None:
        with pytest.raises(StreamNotFound):
            node.data_stream_get(MISSING)

    def cut_off(node: Node) -> None:
        with pytest.raises(ConnectionFailed, match="broke off after 250 rows"):
            node.data_read_array(CUT)

    def cut_off_pipe(node: Node) -> None:
        with pytest.raises(ConnectionFailed), node.data_read(CUT) as pipe:
            list(pipe)

    def read_range(node: Node) -> None:
        got = node.data_read_array("/load/s", int(STAND_IN_ROWS["timestamp"][0]), 2**62)
        assert got.tobytes() == expected  # the stand-in ignores the range

    # one request each; sampled after whole rounds, so the pool is in the same state
    calls = [read_array, read_pipe, metadata, intervals, missing, cut_off, cut_off_pipe, read_range]
    port = urlsplit(stand_in).port or 0
    samples: list[tuple[int, int, int]] = []  # (requests made, open fds, RSS)
    with Node(stand_in, "load-test-key-0123", retries=0) as node:
        for made in range(len(calls), SEQUENTIAL + 1, len(calls)):
            for call in calls:
                call(node)
            if made % SAMPLE_EVERY == 0:
                samples.append((made, _client_fds(port), _rss_bytes()))
    _, fds_warm, rss_warm = samples[0]  # after the first SAMPLE_EVERY: pools and caches full
    for made, fds, rss in samples[1:]:
        assert fds == fds_warm, f"{fds - fds_warm} more file descriptors after {made} requests"
        # a leak of 1 KiB a request would add 8 MiB by the end
        assert rss - rss_warm < 4 << 20, f"RSS grew {rss - rss_warm} B after {made} requests"
    assert made == SEQUENTIAL


def test_api_errors_free_their_connections(stand_in: str) -> None:
    """Refusals read their (short) bodies and give the connection back to the pool."""
    with Node(stand_in, "load-test-key-0123", retries=0) as node:
        for _ in range(200):
            with pytest.raises(ApiError):
                node.data_stream_get(MISSING)
        port = urlsplit(stand_in).port or 0
        assert _sockets_to(port) == 1  # one keep-alive connection did all of it
