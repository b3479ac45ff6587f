"""Pipes against the real node: data_read, data_subscribe and data_write."""

from __future__ import annotations

import itertools
import socket
import threading
import time

import httpx
import numpy as np
import pandas as pd
import pytest

import joule_sync
from conftest import MakeStream
from joule_sync import ApiError, EmptyPipeError, StreamNotFound, codec
from rows import make_rows


def write(node: joule_sync.Node, stream: joule_sync.DataStream, *parts: np.ndarray) -> None:
    """Write ``parts`` with an interval break between each."""
    with node.data_write(stream) as pipe:
        for i, part in enumerate(parts):
            if i:
                pipe.close_interval()
            pipe.write(part)


def read_blocks(node: joule_sync.Node, stream: joule_sync.DataStream) -> list[joule_sync.Block]:
    with node.data_read(stream) as pipe:
        return list(pipe)


def split_at_breaks(blocks: list[joule_sync.Block]) -> list[np.ndarray]:
    """The intervals the blocks describe, each joined into one array."""
    intervals, current = [], []
    for block in blocks:
        current.append(block.data)
        if block.end_of_interval:
            intervals.append(np.concatenate(current))
            current = []
    intervals.append(np.concatenate(current) if current else np.empty(0, blocks[0].data.dtype))
    return intervals


def test_a_million_float32_3_rows_round_trip_identical(
    node: joule_sync.Node, make_stream: MakeStream
) -> None:
    stream = make_stream("float32_3")
    rows = make_rows("float32_3", 1_000_000)
    write(node, stream, rows)
    blocks = read_blocks(node, stream)
    assert not any(b.end_of_interval for b in blocks)
    assert np.concatenate([b.data for b in blocks]).tobytes() == rows.tobytes()
    array = node.data_read_array(stream)
    assert array.dtype == codec.layout_dtype("float32_3")
    assert array.tobytes() == rows.tobytes()


@pytest.mark.parametrize("datatype", ["int16", "int32", "int64", "float32", "float64"])
def test_every_node_type_round_trips_with_breaks_and_a_deleted_range(
    node: joule_sync.Node, make_stream: MakeStream, datatype: str
) -> None:
    layout = f"{datatype}_2"
    stream = make_stream(layout)
    rows = make_rows(layout, 30_000, seed=len(datatype))
    write(node, stream, rows[:10_000], rows[10_000:])
    first, second = split_at_breaks(read_blocks(node, stream))
    assert first.tobytes() == rows[:10_000].tobytes()
    assert second.tobytes() == rows[10_000:].tobytes()

    # deleting a range leaves a break where the rows were
    cut_start, cut_end = rows["timestamp"][20_000], rows["timestamp"][25_000]
    node.data_delete(stream, int(cut_start), int(cut_end))
    parts = split_at_breaks(read_blocks(node, stream))
    expected = [rows[:10_000], rows[10_000:20_000], rows[25_000:]]
    assert [p.tobytes() for p in parts] == [e.tobytes() for e in expected]
    assert node.data_intervals(stream) == [
        [int(e["timestamp"][0]), int(e["timestamp"][-1]) + 1] for e in expected
    ]


def test_decimated_reads_match_the_raw_rows(node: joule_sync.Node, make_stream: MakeStream) -> None:
    stream = make_stream("float32_3")
    rows = make_rows("float32_3", 1024 * 64)
    write(node, stream, rows)
    with node.data_read(stream, max_rows=100) as pipe:
        assert pipe.decimated and pipe.decimation_factor == 1024
        assert pipe.layout == "float32_9"
        blocks = list(pipe)
    decimated = np.concatenate([b.data for b in blocks])
    assert len(decimated) == 64
    raw = rows["data"].astype(np.float64).reshape(64, 1024, 3)
    view = codec.decimated_view(decimated)
    np.testing.assert_allclose(view["mean"], raw.mean(axis=1), rtol=1e-4, atol=1e-2)
    np.testing.assert_array_equal(view["min"], raw.min(axis=1).astype(np.float32))
    np.testing.assert_array_equal(view["max"], raw.max(axis=1).astype(np.float32))
    expected_ts = rows["timestamp"].reshape(64, 1024).mean(axis=1)
    np.testing.assert_allclose(decimated["timestamp"], expected_ts, atol=1)
    block = blocks[0]
    assert block.mean.shape == (len(block), 3)
    assert (block.min <= block.mean).all() and (block.mean <= block.max).all()


def test_max_rows_bounds(node: joule_sync.Node, make_stream: MakeStream) -> None:
    stream = make_stream("int32_1")
    rows = make_rows("int32_1", 5000)
    write(node, stream, rows)
    with node.data_read(stream, max_rows=5000) as pipe:  # enough room: raw data
        assert pipe.decimation_factor == 1
        assert pipe.read_all().tobytes() == rows.tobytes()
    with node.data_read(stream, max_rows=100) as pipe:
        data = pipe.read_all()
        assert pipe.decimation_factor > 1
        assert 0 < len(data) <= 100 * 4  # a target, not a cap: within one level of it


def test_upstream_pipe_semantics_read_consume_and_read_all(
    node: joule_sync.Node, make_stream: MakeStream
) -> None:
    stream = make_stream("float64_1")
    rows = make_rows("float64_1", 200_000)
    write(node, stream, rows[:100_000], rows[100_000:])
    pipe = node.data_read(stream)
    first = pipe.read()
    again = pipe.read()  # nothing consumed: the same rows (and perhaps more) come back
    assert again[: len(first)].tobytes() == first.tobytes()
    pipe.consume(10)
    after = pipe.read()
    assert after[0]["timestamp"] == rows[10]["timestamp"]
    got = [after]
    pipe.consume(len(after))
    while not pipe.end_of_interval:
        got.append(pipe.read())
        pipe.consume(len(got[-1]))
    assert np.concatenate(got).tobytes() == rows[10:100_000].tobytes()
    flat = pipe.read_all(flatten=True)
    assert flat.shape == (100_000, 2)
    assert (flat[:, 0] == rows["timestamp"][100_000:]).all()
    assert (flat[:, 1] == rows["data"][100_000:, 0]).all()
    assert pipe.is_empty()
    with pytest.raises(EmptyPipeError):
        pipe.read()
    pipe.close()


def test_an_empty_range_is_an_empty_pipe(node: joule_sync.Node, make_stream: MakeStream) -> None:
    stream = make_stream("int16_3")
    with node.data_read(stream) as pipe:
        assert pipe.is_empty()
        assert pipe.read_all().dtype == codec.layout_dtype("int16_3")
    assert len(node.data_read_array(stream, 1, 2)) == 0


def test_unknown_streams(node: joule_sync.Node) -> None:
    with pytest.raises(StreamNotFound, match="stream '/no/such/stream' does not exist"):
        node.data_read("/no/such/stream")
    with pytest.raises(StreamNotFound, match="stream '/no/such/stream' does not exist"):
        node.data_write("/no/such/stream")


def test_subscription_delivers_increasing_live_rows_and_closes_promptly(
    node: joule_sync.Node,
) -> None:
    pipe = node.data_subscribe("/live/random")
    assert pipe.layout == "float32_3"
    timestamps = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        data = pipe.read()
        pipe.consume(len(data))
        timestamps.extend(data["timestamp"].tolist())
    closing = time.monotonic()
    pipe.close()
    assert time.monotonic() - closing < 1
    assert len(timestamps) >= 10  # 10 Hz for 3 s, whatever the node buffered
    assert all(b > a for a, b in itertools.pairwise(timestamps))


def test_a_subscription_connection_sends_keepalive_probes(node: joule_sync.Node) -> None:
    """A subscription has no read timeout: TCP keepalive is what notices a vanished node."""
    with node.data_subscribe("/live/random") as pipe:
        pipe.read()
        pool = node.transport.client._transport._pool  # httpcore's: what httpx does not show
        (connection,) = [c for c in pool.connections if not c.is_idle()]
        sock = connection._connection._network_stream.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 60
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 15
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 4


def test_live_counting_stream_counts_without_gaps(node: joule_sync.Node) -> None:
    # upstream's /live/base pattern: each row's value is one more than the last
    with node.data_subscribe("/live/base") as pipe:
        values: list[int] = []
        while len(values) < 40:
            data = pipe.read()
            pipe.consume(len(data))
            values.extend(data["data"][:, 0].tolist())
    assert np.all(np.diff(values) == 1)


def test_writing_to_a_stream_a_module_produces_fails_with_the_nodes_reason(
    node: joule_sync.Node,
) -> None:
    rows = make_rows("float32_3", 10, start=1_000_000_000_000_000)
    refused = r"DataStream \[random\] is already being produced"
    with pytest.raises(ApiError, match=refused) as info, node.data_write("/live/random") as pipe:
        pipe.write(rows)
    assert info.value.status == 400


def test_the_nodes_refusal_of_stored_timestamps_surfaces_at_close(
    node: joule_sync.Node, make_stream: MakeStream
) -> None:
    stream = make_stream("int32_1")
    rows = make_rows("int32_1", 100)
    write(node, stream, rows)
    pipe = node.data_write(stream)
    pipe.write(rows)  # valid on its own, but these timestamps are stored already
    with pytest.raises(ApiError, match="duplicate key"):
        pipe.close()


@pytest.mark.parametrize(("merge_gap", "intervals"), [(0, 2), (10_000, 1)])
def test_merge_gap_decides_whether_a_write_starts_an_interval(
    node: joule_sync.Node, make_stream: MakeStream, merge_gap: int, intervals: int
) -> None:
    stream = make_stream("int16_1")
    rows = make_rows("int16_1", 200)
    write(node, stream, rows[:100])
    with node.data_write(stream, merge_gap=merge_gap) as pipe:
        pipe.write(rows[100:])
    assert len(node.data_intervals(stream)) == intervals


def test_write_with_start_and_end_replaces_that_range(
    node: joule_sync.Node, make_stream: MakeStream
) -> None:
    stream = make_stream("int16_1")
    rows = make_rows("int16_1", 100)
    write(node, stream, rows)
    replacement = rows[40:60].copy()
    replacement["data"] //= 2
    start, end = int(rows["timestamp"][40]), int(rows["timestamp"][60])
    with node.data_write(stream, start, end, merge_gap=10_000) as pipe:
        pipe.write(replacement)
    got = node.data_read_array(stream)
    assert got.tobytes() == np.concatenate([rows[:40], replacement, rows[60:]]).tobytes()


def test_write_accepts_2d_arrays_pairs_and_dataframes(
    node: joule_sync.Node, make_stream: MakeStream
) -> None:
    stream = make_stream("float64_2")
    rows = make_rows("float64_2", 30)
    flat = np.column_stack([rows["timestamp"], rows["data"]])
    frame = pd.DataFrame(
        rows["data"][20:],
        index=pd.to_datetime(rows["timestamp"][20:], unit="us", utc=True),
        columns=["a", "b"],
    )
    with node.data_write(stream) as pipe:
        pipe.write(flat[:10])
        pipe.write((rows["timestamp"][10:20], rows["data"][10:20]))
        pipe.write(frame)
    assert node.data_read_array(stream).tobytes() == rows.tobytes()


def test_float_timestamps_are_written_rounded_to_the_microsecond(
    node: joule_sync.Node, make_stream: MakeStream
) -> None:
    """Upstream's demo notebook writes t * 1e6 (9000.000000000002 and the like), as a 2-D
    array; a DataFrame with such a float index and a pair go the same way."""
    stream = make_stream("float32_2")
    t = np.arange(0, 1, 0.001)
    data = np.vstack((t * 1e6, np.sin(t), np.cos(t))).T
    with node.data_write(stream) as pipe:
        pipe.write(data[:400])
        pipe.write(pd.DataFrame(data[400:700, 1:], index=data[400:700, 0]))
        pipe.write((data[700:, 0], data[700:, 1:]))
    stored = node.data_read_array(stream)
    assert stored["timestamp"].tolist() == (np.arange(1000) * 1000).tolist()
    assert np.array_equal(stored["data"], data[:, 1:].astype(np.float32))


def test_bad_rows_are_refused_before_anything_is_sent(
    node: joule_sync.Node, make_stream: MakeStream
) -> None:
    stream = make_stream("int32_2")
    rows = make_rows("int32_2", 10)
    with node.data_write(stream) as pipe:
        with pytest.raises(joule_sync.DataError, match="per row but layout int32_2 needs 2"):
            pipe.write(np.zeros((3, 4)))
        with pytest.raises(joule_sync.DataError, match=r"row 1: timestamp .* is not after"):
            pipe.write((rows["timestamp"][[0, 0]], rows["data"][:2]))
        pipe.write(rows[:5])
        with pytest.raises(joule_sync.DataError, match=r"row 0: timestamp .* is not after"):
            pipe.write(rows[4:])  # across calls too
        pipe.write(rows[5:])
    assert node.data_read_array(stream).tobytes() == rows.tobytes()


def test_a_slow_node_makes_the_writer_wait(
    node: joule_sync.Node, make_stream: MakeStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue is bounded: with the sender held back, write() blocks instead of buffering."""
    # small blocks: the queue fills with a few rows, and the node stores them quickly
    monkeypatch.setattr(joule_sync._pipes, "WRITE_BLOCK_BYTES", 64 << 10)
    stream = make_stream("float32_3")
    release = threading.Event()
    real_send = node.transport.client.send

    def held_send(request: httpx.Request, **kwargs: object) -> object:
        if request.method == "POST":  # the upload: data_write's own GET goes through
            release.wait(30)
        return real_send(request, **kwargs)  # type: ignore[arg-type]

    node.transport.client.send = held_send  # type: ignore[method-assign]
    pipe = node.data_write(stream)
    block_rows = joule_sync._pipes.WRITE_BLOCK_BYTES // 20
    rows = make_rows("float32_3", block_rows * 20)
    writer = threading.Thread(target=pipe.write, args=(rows,))
    writer.start()
    writer.join(2)
    assert writer.is_alive(), "write() returned although nothing was sent"
    assert pipe._queue.qsize() <= pipe._queue.maxsize
    release.set()
    writer.join(60)
    pipe.close()
    node.transport.client.send = real_send  # type: ignore[method-assign]
    assert node.data_read_array(stream).tobytes() == rows.tobytes()


# -- upstream's LocalPipe: names, read semantics, failures ---------------------------------


def test_read_pipes_carry_upstreams_names(node: joule_sync.Node, make_stream: MakeStream) -> None:
    stream = make_stream("int16_3")
    write(node, stream, make_rows("int16_3", 10))
    with node.data_read(stream.name and stream.id) as pipe:  # by id: the stream is fetched
        assert (pipe.width, pipe.decimation_level, pipe.decimation_factor) == (3, 1, 1)
        assert not pipe.decimated and not pipe.closed
        assert pipe.stream is not None and pipe.stream.id == stream.id
        pipe.read_all()
        assert pipe.closed  # the data ended
    with node.data_read(stream) as pipe:
        assert pipe.stream is stream  # given, so not asked for again
    with node.data_write(stream) as writer:
        assert (writer.width, writer.layout, writer.closed) == (3, "int16_3", False)
        assert writer.stream is not None and writer.stream.id == stream.id
    assert writer.closed


def test_read_returns_the_unconsumed_rows_until_none_are_left(
    node: joule_sync.Node, make_stream: MakeStream
) -> None:
    stream = make_stream("int32_1")
    rows = make_rows("int32_1", 1000)
    write(node, stream, rows)
    pipe = node.data_read(stream)
    while not pipe.closed:  # read without consuming until the data has ended
        data = pipe.read()
    assert data.tobytes() == rows.tobytes()
    assert pipe.read().tobytes() == rows.tobytes()  # ended: the same rows again
    with pytest.raises(joule_sync.PipeError, match="cannot consume 1001 rows"):
        pipe.consume(1001)
    pipe.consume(999)
    assert pipe.read().tobytes() == rows[999:].tobytes()
    pipe.consume_all()
    with pytest.raises(EmptyPipeError):  # a PipeError, as upstream has it
        pipe.read()
    assert issubclass(EmptyPipeError, joule_sync.PipeError)


def test_not_empty_keeps_the_rows_it_read_so_a_loop_sees_each_row_once(
    node: joule_sync.Node, make_stream: MakeStream
) -> None:
    stream = make_stream("float32_1")
    rows = make_rows("float32_1", 300_000)
    write(node, stream, rows[:100_000], rows[100_000:])
    got, breaks = [], []
    with node.data_read(stream) as pipe:
        while pipe.not_empty():
            data = pipe.read()
            pipe.consume(len(data))
            got.append(data)
            breaks.append(pipe.end_of_interval)
        assert pipe.is_empty()
    assert np.concatenate(got).tobytes() == rows.tobytes()
    assert np.cumsum([len(d) for d in got])[breaks].tolist() == [100_000]


def test_reread_last_and_read_nowait(node: joule_sync.Node, make_stream: MakeStream) -> None:
    stream = make_stream("int32_1")
    rows = make_rows("int32_1", 50)
    write(node, stream, rows)
    with node.data_read(stream) as pipe:
        first = pipe.read()
        pipe.consume(10)
        pipe.reread_last()
        assert pipe.read().tobytes() == first[10:].tobytes()  # nothing new is asked for
        assert pipe.read_nowait().tobytes() == first[10:].tobytes()
        pipe.consume_all()
        pipe.reread_last()
        if len(first) < len(rows):
            pytest.fail("50 rows come in one block")
        with pytest.raises(joule_sync.PipeError, match="no data left to reread"):
            pipe.read_nowait()


def test_rows_left_before_a_break_are_not_joined_with_rows_after_it(
    node: joule_sync.Node, make_stream: MakeStream
) -> None:
    stream = make_stream("int32_1")
    rows = make_rows("int32_1", 20)
    write(node, stream, rows[:10], rows[10:])
    with node.data_read(stream) as pipe:
        assert pipe.read().tobytes() == rows[:10].tobytes() and pipe.end_of_interval
        pipe.consume(4)
        # upstream would join rows[4:10] with rows[10:]; the break stays here
        assert pipe.read().tobytes() == rows[4:10].tobytes() and pipe.end_of_interval
        pipe.consume(6)
        assert pipe.read().tobytes() == rows[10:].tobytes() and not pipe.end_of_interval


def test_a_live_loop_consuming_every_third_read_sees_its_buffer_grow(
    node: joule_sync.Node,
) -> None:
    sizes, consumed = [], []
    with node.data_subscribe("/live/base") as pipe:
        for turn in range(9):  # 20 rows/s: about a block each read
            data = pipe.read()
            sizes.append(len(data))
            if turn % 3 == 2:
                consumed.append(data["data"][:, 0].copy())
                pipe.consume(len(data))
    for a, b in ((0, 1), (1, 2), (3, 4), (4, 5), (6, 7), (7, 8)):
        assert sizes[b] > sizes[a], sizes  # each read waited for new rows
    values = np.concatenate(consumed)
    assert np.all(np.diff(values) == 1)  # none lost, none repeated


def test_a_write_pipe_caches_rows_when_asked(
    node: joule_sync.Node, make_stream: MakeStream
) -> None:
    stream = make_stream("int32_1")
    rows = make_rows("int32_1", 30)
    with node.data_write(stream) as pipe:
        pipe.enable_cache(10)
        for row in rows[:25]:
            pipe.write_nowait(row[None])  # one row at a time: sent ten at once
        assert pipe.rows_written == 20
        pipe.flush_cache()
        assert pipe.rows_written == 25
        pipe.write(rows[25:])
        pipe.close_interval_nowait()  # flushes the cache first
        assert pipe.rows_written == 30
        with pytest.raises(joule_sync.InvalidRows, match="not after"):
            pipe.write(rows[:1])  # refused before it waits in the cache
    assert node.data_read_array(stream).tobytes() == rows.tobytes()


def test_a_node_reconnects_after_close_and_its_pipes_end(
    node: joule_sync.Node, make_stream: MakeStream
) -> None:
    stream = make_stream("int32_1")
    rows = make_rows("int32_1", 200_000)
    write(node, stream, rows)
    finished = node.data_read(stream)
    all_rows = finished.read_all()
    ongoing = node.data_read(stream)
    first = ongoing.read()
    node.close()
    assert node.data_stream_get(stream).id == stream.id  # a new connection, as upstream opens
    assert ongoing.closed
    assert ongoing.read().tobytes() == first.tobytes()  # rows received stay readable
    ongoing.consume_all()
    with pytest.raises(joule_sync.PipeError, match="closed with its node"):
        while True:  # what was decoded before the close, then the data did not end
            ongoing.consume(len(ongoing.read()))
    assert all_rows.tobytes() == rows.tobytes()
    with pytest.raises(EmptyPipeError):
        finished.read()


def test_max_rows_reads_the_coarsest_level_with_rows_when_the_nodes_pick_is_empty(
    node: joule_sync.Node, make_stream: MakeStream, caplog: pytest.LogCaptureFixture
) -> None:
    stream = make_stream("float32_1")
    write(node, stream, make_rows("float32_1", 20_000))
    # 20,000 rows for max_rows=1: the node picks level 65536, which holds none
    with caplog.at_level("WARNING", logger="joule_sync"):
        data = node.data_read_array(stream, max_rows=1)
        with node.data_read(stream, max_rows=1) as pipe:
            assert pipe.decimation_level == pipe.decimation_factor == 16384
            assert pipe.decimated and pipe.width == 3
            assert len(pipe.read_all()) == len(data)
    assert len(data) >= 1 and data.dtype == codec.layout_dtype("float32_3")
    assert "holds no rows; reading level 16384 instead" in caplog.text
    # a range without data stays empty
    assert len(node.data_read_array(stream, 1, 2, max_rows=1)) == 0
