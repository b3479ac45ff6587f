"""Faults between client and node: cut, stalled, refused and failing connections.

A ``FaultProxy`` on loopback sits between a ``Node`` and the session's real node and breaks
exactly one chosen request at an exact byte.  What must hold: a read never returns fewer
rows than the node sent without an error saying how many arrived; a broken write leaves the
stream writable and holding a prefix of the rows, and says which; idempotent calls are
retried with backoff up to the user's limit; nothing hangs.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import h5py
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest

import joule_sync
import joule_sync._export
from conftest import MakeStream
from faultproxy import Fault, FaultProxy
from joule_sync import ApiError, ConnectionFailed, DataError, Node, PipeError, SubscriptionError
from joule_sync.devnode import DevNode, start, stop
from joule_sync.devnode._jouled import stop as stop_jouled
from rows import make_rows

LAYOUT = "float32_3"
ROW_BYTES = 20
ROWS = 30_000
BREAK_AFTER = 20_000  # an interval break there: the cuts fall on both sides of it
CUT_ROW = 12_345

# where a cut falls in the response body: on a row boundary, or 7 bytes into the next row
CUTS = {"between rows": CUT_ROW * ROW_BYTES, "inside a row": CUT_ROW * ROW_BYTES + 7}

EXPORT_ROWS = 300_000
EXPORT_CUT = 250_000 * ROW_BYTES + 7

Filled = tuple[joule_sync.DataStream, npt.NDArray[np.void]]


@pytest.fixture
def proxy(joule_node: DevNode) -> Iterator[FaultProxy]:
    with FaultProxy(urlsplit(joule_node.url).port or 0) as started:
        yield started


@pytest.fixture
def proxied(proxy: FaultProxy, joule_node: DevNode) -> Iterator[Node]:
    """A Node that reaches the session's node through the proxy, backing off 10 ms first."""
    with Node(proxy.url, joule_node.key, retries=3, timeout=30) as node:
        node.transport.backoff_base = 0.01
        yield node


@pytest.fixture
def filled(node: Node, make_stream: MakeStream) -> Filled:
    """A stream of ROWS rows with an interval break after BREAK_AFTER, and those rows."""
    stream = make_stream(LAYOUT)
    rows = make_rows(LAYOUT, ROWS)
    with node.data_write(stream) as pipe:
        pipe.write(rows[:BREAK_AFTER])
        pipe.close_interval()
        pipe.write(rows[BREAK_AFTER:])
    return stream, rows


# -- reads cut off -----------------------------------------------------------------------


@pytest.mark.parametrize("cut", CUTS.values(), ids=CUTS.keys())
def test_a_pipe_cut_off_raises_saying_how_many_rows_arrived_and_keeps_those_valid(
    proxy: FaultProxy, proxied: Node, filled: Filled, cut: int
) -> None:
    stream, rows = filled
    proxy.inject(Fault(cut_response_after=cut), method="GET", path="/data")
    returned = []
    broke_off = pytest.raises(ConnectionFailed, match=f"broke off after {CUT_ROW} rows")
    with broke_off as info, proxied.data_read(stream) as pipe:
        while True:
            data = pipe.read()
            returned.append(data)
            pipe.consume(len(data))
    assert str(stream.id) in str(info.value)
    del pipe
    got = np.concatenate(returned)
    # every row that arrived whole was returned, and they are still the node's rows
    assert got.tobytes() == rows[:CUT_ROW].tobytes()
    assert proxy.injected == 1


def test_a_batch_reader_cut_off_raises_after_the_whole_batches_before_the_cut(
    proxy: FaultProxy, proxied: Node, filled: Filled
) -> None:
    """The reader comes through the Arrow C stream interface, which carries an error as a
    message: pyarrow raises its own class, with ours named in that message."""
    stream, rows = filled
    proxy.inject(Fault(cut_response_after=CUTS["between rows"]), method="GET", path="/data")
    delivered = []
    broke_off = pytest.raises(pa.ArrowInvalid, match=f"broke off after {CUT_ROW} rows")
    with broke_off as info:
        for batch in proxied.data_read_batches(stream, rows=1000):
            delivered.append(batch)
    assert "ConnectionFailed" in str(info.value)
    before_the_cut = int(rows["timestamp"][CUT_ROW // 1000 * 1000])
    expected = proxied.data_read_arrow(stream, end=before_the_cut)
    assert pa.Table.from_batches(delivered).equals(expected)


@pytest.mark.parametrize("inside_a_row", [0, 7], ids=["between rows", "inside a row"])
@pytest.mark.parametrize("partitions", [1, 3])
def test_an_array_read_cut_off_raises_instead_of_returning_a_short_array(
    proxy: FaultProxy, proxied: Node, filled: Filled, inside_a_row: int, partitions: int
) -> None:
    stream, _ = filled
    cut_row = 4_321  # inside any of the 3 pieces a partitioned read makes
    proxy.inject(
        Fault(cut_response_after=cut_row * ROW_BYTES + inside_a_row), method="GET", path="/data"
    )
    with pytest.raises(ConnectionFailed, match=f"broke off after {cut_row} rows"):
        proxied.data_read_array(stream, partitions=partitions)
    assert proxy.injected == 1


def test_a_response_that_ends_cleanly_inside_a_row_is_a_data_error(
    proxy: FaultProxy, proxied: Node, filled: Filled
) -> None:
    """A proxy that ends the response early, well-formed, is caught by the row framing."""
    stream, rows = filled
    truncated = rf"7 byte\(s\) left over after {CUT_ROW} complete row\(s\)"
    proxy.inject(
        Fault(end_response_after=CUTS["inside a row"]), method="GET", path="/data", times=2
    )
    with pytest.raises(DataError, match=truncated):
        proxied.data_read_array(stream)
    returned = []
    with pytest.raises(DataError, match=truncated), proxied.data_read(stream) as pipe:
        for block in pipe:
            returned.append(block.data)
    assert np.concatenate(returned).tobytes() == rows[:CUT_ROW].tobytes()


@pytest.fixture(scope="module")
def exported(joule_node: DevNode) -> Filled:
    """A stream long enough that an export has written rows when its read breaks (exports
    write in batches of megabytes), and its rows."""
    rows = make_rows(LAYOUT, EXPORT_ROWS)
    with Node(joule_node.url, joule_node.key) as node:
        elements = [joule_sync.Element(f"e{i}") for i in range(3)]
        stream = joule_sync.DataStream("s", datatype="float32", elements=elements)
        stream = node.data_stream_create(stream, f"/faults/export_{uuid.uuid4().hex[:8]}")
        with node.data_write(stream) as pipe:
            pipe.write(rows)
    return stream, rows


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".parquet"])
def test_an_interrupted_export_resumes_to_the_same_bytes(
    proxy: FaultProxy,
    proxied: Node,
    node: Node,
    exported: Filled,
    tmp_path: Path,
    suffix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Parquet parts of 50,000 rows, so that complete parts exist when the read breaks
    monkeypatch.setattr(joule_sync._export, "PARQUET_PART_ROWS", 50_000)
    stream, _ = exported
    reference, interrupted = tmp_path / f"reference{suffix}", tmp_path / f"export{suffix}"
    # through the proxy too: a Parquet file names the node it was exported from (its URL)
    proxied.export(stream, reference)
    proxy.inject(Fault(cut_response_after=EXPORT_CUT), method="GET", path="/data")
    with pytest.raises(ConnectionFailed, match=f"after {EXPORT_CUT // ROW_BYTES} rows"):
        proxied.export(stream, interrupted)
    result = node.export(stream, interrupted, resume=True)
    assert result.resumed_after is not None  # it went on after the rows saved, not afresh
    assert interrupted.read_bytes() == reference.read_bytes()


def test_an_interrupted_hdf5_export_resumes_to_the_same_datasets(
    proxy: FaultProxy, proxied: Node, node: Node, exported: Filled, tmp_path: Path
) -> None:
    """HDF5 allocates chunks as a file grows, so its bytes depend on the write history."""
    stream, rows = exported
    path = tmp_path / "export.h5"
    proxy.inject(Fault(cut_response_after=EXPORT_CUT), method="GET", path="/data")
    with pytest.raises(ConnectionFailed, match=f"after {EXPORT_CUT // ROW_BYTES} rows"):
        proxied.export(stream, path)
    result = node.export(stream, path, resume=True)
    assert result.resumed_after is not None
    with h5py.File(path) as file:
        assert np.array_equal(file["timestamp"][:, 0], rows["timestamp"])
        assert np.array_equal(file["data"][:], rows["data"])


# -- writes cut off ----------------------------------------------------------------------


def _stored_up_to(message: str) -> int:
    found = re.search(r"up to (\d+): write the rows after", message)
    assert found, message
    return int(found.group(1))


def test_a_write_cut_off_raises_leaves_a_writable_prefix_and_says_where_it_ends(
    proxy: FaultProxy, proxied: Node, node: Node, make_stream: MakeStream
) -> None:
    stream = make_stream(LAYOUT)
    rows = make_rows(LAYOUT, 100_000)
    # the node reads 10,000-row blocks: cut in the middle of the sixth, inside a row
    proxy.inject(Fault(cut_request_after=55_555 * ROW_BYTES + 3), method="POST", path="/data")
    broke_off = pytest.raises(ConnectionFailed, match=r"the write to '\w+' broke off")
    with broke_off as info, proxied.data_write(stream) as pipe:
        pipe.write(rows)
    stored = node.data_read_array(stream)
    # a prefix, exactly up to the timestamp the error names, and nothing after it
    assert 0 < len(stored) < 55_555
    assert stored.tobytes() == rows[: len(stored)].tobytes()
    assert _stored_up_to(str(info.value)) == stored["timestamp"][-1]
    assert node.data_intervals(stream)[-1][1] - 1 == stored["timestamp"][-1]

    # writing the same rows again: the node refuses the stored timestamps, adds nothing
    with pytest.raises(ApiError, match="duplicate key"), node.data_write(stream) as pipe:
        pipe.write(rows)
    assert node.data_read_array(stream).tobytes() == stored.tobytes()

    # the documented way on: the rows after the last one stored, continuing its interval
    with node.data_write(stream, merge_gap=1000) as pipe:
        pipe.write(rows[rows["timestamp"] > stored["timestamp"][-1]])
    assert node.data_read_array(stream).tobytes() == rows.tobytes()
    assert len(node.data_intervals(stream)) == 1


def test_a_write_cut_off_before_a_block_was_stored_stores_nothing(
    proxy: FaultProxy, proxied: Node, node: Node, make_stream: MakeStream
) -> None:
    stream = make_stream(LAYOUT)
    rows = make_rows(LAYOUT, 5_000)
    proxy.inject(Fault(cut_request_after=2_000 * ROW_BYTES + 11), method="POST", path="/data")
    broke_off = pytest.raises(ConnectionFailed, match="stored none of them")
    with broke_off as info, proxied.data_write(stream) as pipe:
        pipe.write(rows)
    assert str(rows["timestamp"][0]) in str(info.value)
    assert len(node.data_read_array(stream)) == 0
    with node.data_write(stream) as pipe:  # at once: the node has let go of the stream
        pipe.write(rows)
    assert node.data_read_array(stream).tobytes() == rows.tobytes()


def test_a_write_pipe_whose_upload_broke_fails_as_upstreams_does(
    proxy: FaultProxy, proxied: Node, make_stream: MakeStream
) -> None:
    stream = make_stream(LAYOUT)
    proxy.inject(Fault(cut_request_after=2_000 * ROW_BYTES + 11), method="POST", path="/data")
    pipe = proxied.data_write(stream)
    deadline = time.monotonic() + 20
    with pytest.raises(PipeError, match=r"pipe failed: the write to '\w+' broke off"):
        for step in itertools.count():  # the failure is seen as the upload goes on
            assert time.monotonic() < deadline, "the upload did not fail"
            pipe.write(make_rows(LAYOUT, 1_000, start=1_700_000_000_000_000 + step * 10**9))
    with pytest.raises(ConnectionFailed, match="the node stored"):
        pipe.close()  # the reason itself, as upstream's close() raises it


# -- retries and timeouts ----------------------------------------------------------------


def test_5xx_bursts_and_resets_on_reads_are_retried_until_they_pass(
    proxy: FaultProxy, proxied: Node, filled: Filled
) -> None:
    stream, rows = filled
    proxy.inject(Fault(status=503), path="/stream.json", times=2)
    proxy.inject(Fault(reset=True), path="/stream.json", times=1)
    assert proxied.data_stream_get(stream.id).id == stream.id
    proxy.inject(Fault(status=502), method="GET", path="/data", times=3)
    assert proxied.data_read_array(stream).tobytes() == rows.tobytes()
    assert proxy.injected == 6
    assert proxy.requests.count("GET /data") == 4


def test_retries_stop_at_the_users_limit_with_a_clear_error(
    proxy: FaultProxy, joule_node: DevNode, caplog: pytest.LogCaptureFixture
) -> None:
    with Node(proxy.url, joule_node.key, retries=2) as node:
        node.transport.backoff_base = 0.05
        proxy.inject(Fault(status=503), path="/stream.json", times=3)
        began = time.monotonic()
        with pytest.raises(ApiError) as info:
            node.data_stream_get("/live/base")
        waited = time.monotonic() - began
        assert info.value.status == 503
        assert proxy.requests.count("GET /stream.json") == 3  # the call and 2 retries
        assert waited >= 0.05 + 0.1  # backoff doubles: 0.05 s, then 0.1 s
        proxy.inject(Fault(reset=True), path="/stream.json", times=3)
        with pytest.raises(ConnectionFailed, match="no answer from the node"):
            node.data_stream_get("/live/base")
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert [m.split("retry ")[1][:3] for m in retries] == ["1/2", "2/2"] * 2


def test_changes_are_never_retried(proxy: FaultProxy, proxied: Node) -> None:
    proxy.inject(Fault(status=503), method="POST", path="/stream.json")
    stream = joule_sync.DataStream("once", elements=[joule_sync.Element("x")])
    with pytest.raises(ApiError) as info:
        proxied.data_stream_create(stream, "/faults/never_retried")
    assert info.value.status == 503
    assert proxy.requests == ["POST /stream.json"]


def test_refused_connections_are_retried_with_backoff_then_fail(
    proxy: FaultProxy, joule_node: DevNode
) -> None:
    proxy.stop_listening()
    with Node(proxy.url, joule_node.key, retries=3) as node:
        node.transport.backoff_base = 0.05
        began = time.monotonic()
        with pytest.raises(ConnectionFailed, match="ConnectError"):
            node.data_stream_get("/live/base")
        assert time.monotonic() - began >= 0.05 + 0.1 + 0.2
        # a node that comes back within the retries is reached
        node.transport.backoff_base = 0.2
        comes_back = threading.Timer(0.1, proxy.start_listening)
        comes_back.start()
        assert node.data_stream_get("/live/base").name == "base"
        comes_back.join()


def test_a_node_that_stalls_mid_response_hits_the_read_timeout(
    proxy: FaultProxy, joule_node: DevNode, filled: Filled
) -> None:
    stream, _ = filled
    with Node(proxy.url, joule_node.key, timeout=1.0, retries=1) as node:
        node.transport.backoff_base = 0.01
        proxy.inject(Fault(stall_response_after=CUTS["inside a row"]), method="GET", path="/data")
        began = time.monotonic()
        with pytest.raises(ConnectionFailed, match=f"after {CUT_ROW} rows .*ReadTimeout"):
            node.data_read_array(stream)
        # a stalled answer to a metadata call: timed out, retried once, timed out again
        proxy.inject(Fault(stall_response_after=10), path="/stream.json", times=2)
        with pytest.raises(ConnectionFailed, match="ReadTimeout"):
            node.data_stream_get(stream.id)
        assert time.monotonic() - began < 10


# -- the node restarted under a subscription ---------------------------------------------


def test_a_node_restarted_during_a_subscription_ends_it_with_an_error(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """On a dev node of its own, so the session's node is never restarted."""
    state_dir = tmp_path_factory.mktemp("restarted-node")
    try:
        own = start(state_dir)
        with Node(own.url, own.key) as node, node.data_subscribe("/live/base") as pipe:
            first = pipe.read()
            pipe.consume(len(first))
            stop_jouled(own.jouled_pid)  # as a restart begins
            received = len(first)
            with pytest.raises(SubscriptionError, match=r"subscription to .* broke off after \d+"):
                while True:  # rows sent while jouled shut down, then the error
                    data = pipe.read()
                    received += len(data)
                    pipe.consume(len(data))
            assert received >= len(first)
        restarted = start(state_dir)
        with Node(restarted.url, restarted.key) as node, node.data_subscribe("/live/base") as pipe:
            assert len(pipe.read()) > 0  # a new subscription works again
    finally:
        stop(state_dir, purge=True)
