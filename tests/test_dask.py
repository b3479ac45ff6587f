"""joule_sync.dask against the real node, on a LocalCluster of 2 worker processes.

The workers reach the node through a counting proxy on loopback: ``JOULE_URL`` is the
proxy's URL and ``JOULE_KEY`` the node's key, both set before the cluster starts, which is
how the workers get the key.  The proxy records every ``GET /data`` (so tests count the
reads of each partition) and can hold one response half-sent, so that a test can kill the
worker process reading it.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import dask.dataframe as dd
import httpx
import numpy as np
import pandas as pd
import psutil
import pytest
from dask.utils import key_split
from distributed import Client, LocalCluster

import joule_sync
import joule_sync.dask as jd
from conftest import MakeStream
from joule_sync import ConfigurationError, DataError, StreamNotFound
from joule_sync.devnode import DevNode
from rows import make_rows

STEP = 1000
"""µs between rows of the test streams."""
T0 = 1_700_000_000_000_000


# --------------------------------------------------------------------------------------------
# The proxy, the cluster and a stream of three intervals, shared by the module
# --------------------------------------------------------------------------------------------


class CountingProxy:
    """Relays GET requests to the node, recording the query of each ``GET /data``.

    ``hold_read(start)`` makes the first read with that ``start`` send its headers and half
    its body, set ``held`` (``held_peer`` is the reader's address) and stall until
    ``release`` is set, then drop the connection.
    """

    def __init__(self, node_url: str) -> None:
        self.reads: list[dict[str, str]] = []
        self.held = threading.Event()
        self.release = threading.Event()
        self.held_peer: tuple[str, int] | None = None
        self._hold_start: str | None = None
        self._lock = threading.Lock()
        self._upstream = httpx.Client(base_url=node_url, timeout=30)
        relay = self._relay

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the workers' pools expect

            def do_GET(self) -> None:
                try:
                    relay(self)
                except (BrokenPipeError, ConnectionResetError):  # a reader went away
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def data_reads(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self.reads)

    def reset(self) -> None:
        with self._lock:
            self.reads.clear()

    def hold_read(self, start: int) -> None:
        self._hold_start = str(start)

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._upstream.close()

    def _relay(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        query = dict(parse_qsl(url.query))
        headers = {"X-API-KEY": handler.headers.get("X-API-KEY", "")}
        answer = self._upstream.get(url.path, params=query, headers=headers)
        hold = False
        if url.path == "/data":
            with self._lock:
                self.reads.append(query)
                hold = query.get("start") == self._hold_start
                if hold:
                    self._hold_start = None
        body = answer.content
        handler.send_response(answer.status_code)
        for name in ("content-type", "joule-layout", "joule-decimation"):
            if name in answer.headers:
                handler.send_header(name, answer.headers[name])
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if hold:
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            self.held_peer = handler.client_address[:2]
            self.held.set()
            self.release.wait(60)
            handler.close_connection = True
            return
        handler.wfile.write(body)


@pytest.fixture(scope="module")
def proxy(joule_node: DevNode) -> Iterator[CountingProxy]:
    counting = CountingProxy(joule_node.url)
    yield counting
    counting.close()


@pytest.fixture(scope="module")
def client(
    joule_node: DevNode, proxy: CountingProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Client]:
    """A LocalCluster of 2 worker processes whose environment names the node (via the proxy)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JOULE_URL", proxy.url)
        env.setenv("JOULE_KEY", joule_node.key)
        # no joule configuration of the user's: the environment is the only way to the key
        env.setenv("JOULE_USER_CONFIG_DIR", str(tmp_path_factory.mktemp("no-joule-config")))
        with (
            LocalCluster(
                n_workers=2,
                processes=True,
                threads_per_worker=1,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as connected,
        ):
            yield connected


@pytest.fixture(scope="module")
def direct(joule_node: DevNode) -> Iterator[joule_sync.Node]:
    """A Node straight to the node (not through the proxy), for the module's fixtures."""
    with joule_sync.Node(joule_node.url, joule_node.key) as node:
        yield node


def create_stream(
    node: joule_sync.Node, name: str, layout: str = "float32_3"
) -> joule_sync.DataStream:
    datatype, width = layout.rsplit("_", 1)
    elements = [joule_sync.Element(name=f"e{i}") for i in range(int(width))]
    stream = joule_sync.DataStream(name=name, datatype=datatype, elements=elements)
    return node.data_stream_create(stream, "/dask_tests")


def write_intervals(
    node: joule_sync.Node, stream: joule_sync.DataStream, *parts: np.ndarray
) -> None:
    with node.data_write(stream) as pipe:
        for i, part in enumerate(parts):
            if i:
                pipe.close_interval()
            pipe.write(part)


@pytest.fixture(scope="module")
def three_intervals(direct: joule_sync.Node) -> joule_sync.DataStream:
    """Rows 1 ms apart in three intervals of 9001, 6001 and 6001 rows: with these lengths the
    planned boundaries fall on rows, between rows and just after an interval's last row."""
    stream = create_stream(direct, "three_intervals")
    rows = make_rows("float32_3", 26_001, step=STEP)
    write_intervals(direct, stream, rows[:9001], rows[10_000:16_001], rows[20_000:])
    return stream


def boundary_kinds(edges: list[int], intervals: list[list[int]], rows: set[int]) -> set[str]:
    kinds = set()
    for edge in edges[1:-1]:
        inside = [(s, e) for s, e in intervals if s < edge <= e]
        assert inside, f"boundary {edge} is not within an interval: {intervals}"
        if edge == inside[0][1]:
            kinds.add("just after an interval")
        else:
            kinds.add("on a row" if edge in rows else "between rows")
    return kinds


def edges_of(frame: dd.DataFrame) -> list[int]:
    return [int(division.value // 1000) for division in frame.divisions]


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("npartitions", "kinds"),
    [
        (1, set()),
        (3, {"between rows"}),
        (7, {"on a row", "just after an interval"}),
    ],
)
def test_compute_equals_data_read_dataframe_row_for_row(
    client: Client,
    direct: joule_sync.Node,
    three_intervals: joule_sync.DataStream,
    npartitions: int,
    kinds: set[str],
) -> None:
    frame = jd.read_dataframe(three_intervals.id, npartitions=npartitions)
    expected = direct.data_read_dataframe(three_intervals)

    assert frame.npartitions == npartitions and frame.known_divisions
    intervals = direct.data_intervals(three_intervals)
    rows = set(expected.index.as_unit("us").asi8.tolist())
    assert kinds <= boundary_kinds(edges_of(frame), intervals, rows)
    pd.testing.assert_frame_equal(frame.compute(), expected)
    # equal time with data per partition: equal rows at a steady rate
    lengths = frame.map_partitions(len).compute().tolist()
    assert max(lengths) - min(lengths) <= 2, lengths


def test_a_range_starting_and_ending_inside_intervals(
    client: Client, direct: joule_sync.Node, three_intervals: joule_sync.DataStream
) -> None:
    start, end = T0 + 4_500_500, T0 + 23_000_000  # between rows of the first, on a row of the last
    frame = jd.read_dataframe(three_intervals.id, start, end, npartitions=4)

    assert edges_of(frame)[0] == start and edges_of(frame)[-1] == end
    expected = direct.data_read_dataframe(three_intervals, start, end)
    assert expected["interval"].tolist()[-1] == 2
    pd.testing.assert_frame_equal(frame.compute(), expected)


def test_partition_rows_sizes_partitions_from_the_node_estimate(
    client: Client, direct: joule_sync.Node, three_intervals: joule_sync.DataStream
) -> None:
    estimate = direct.data_stream_info(three_intervals).rows
    frame = jd.read_dataframe(three_intervals.id, partition_rows=5000)

    assert frame.npartitions == -(-estimate // 5000)
    pd.testing.assert_frame_equal(frame.compute(), direct.data_read_dataframe(three_intervals))


def test_max_rows_reads_one_decimation_level_in_every_partition(
    client: Client, direct: joule_sync.Node, three_intervals: joule_sync.DataStream
) -> None:
    frame = jd.read_dataframe(three_intervals.id, max_rows=1000, npartitions=3)
    expected = direct.data_read_dataframe(three_intervals, max_rows=1000)

    assert "e0_mean" in expected.columns and 0 < len(expected) <= 1000
    pd.testing.assert_frame_equal(frame.compute(), expected)


def test_elements_pick_columns_by_name_or_index(
    client: Client, direct: joule_sync.Node, three_intervals: joule_sync.DataStream
) -> None:
    frame = jd.read_dataframe(three_intervals.id, elements=["e2", 0], npartitions=2)
    expected = direct.data_read_dataframe(three_intervals)[["e2", "e0", "interval"]]

    assert list(frame.columns) == ["e2", "e0", "interval"]
    pd.testing.assert_frame_equal(frame.compute(), expected)


def test_a_range_without_data_is_one_empty_partition(
    client: Client, direct: joule_sync.Node, three_intervals: joule_sync.DataStream
) -> None:
    start, end = T0 + 9_500_000, T0 + 9_900_000  # in the gap after the first interval
    frame = jd.read_dataframe(three_intervals.id, start, end)

    assert frame.npartitions == 1
    result = frame.compute()
    assert result.empty
    pd.testing.assert_frame_equal(result, direct.data_read_dataframe(three_intervals, start, end))


def test_loc_on_a_sub_range_reads_only_the_partitions_it_needs(
    client: Client,
    proxy: CountingProxy,
    direct: joule_sync.Node,
    three_intervals: joule_sync.DataStream,
) -> None:
    frame = jd.read_dataframe(three_intervals.id, npartitions=7)
    edges = edges_of(frame)
    low, high = edges[2] - 1500, edges[2] + 1500  # the end of partition 1, the start of 2
    selected = frame.loc[
        pd.Timestamp(low, unit="us", tz="UTC") : pd.Timestamp(high, unit="us", tz="UTC")
    ]
    proxy.reset()

    result = selected.compute()

    assert sorted(int(r["start"]) for r in proxy.data_reads()) == [edges[1], edges[2]]
    expected = direct.data_read_dataframe(three_intervals).loc[
        pd.Timestamp(low, unit="us", tz="UTC") : pd.Timestamp(high, unit="us", tz="UTC")
    ]
    assert len(expected) == 3
    pd.testing.assert_frame_equal(result, expected)


def test_a_worker_killed_during_a_read_is_retried_without_duplicates(
    client: Client,
    proxy: CountingProxy,
    direct: joule_sync.Node,
    three_intervals: joule_sync.DataStream,
) -> None:
    frame = jd.read_dataframe(three_intervals.id, npartitions=3)
    target = edges_of(frame)[1]
    worker_pids = set(client.run(os.getpid).values())
    proxy.reset()
    proxy.held.clear()
    proxy.release.clear()
    proxy.hold_read(target)

    future = client.compute(frame)
    assert proxy.held.wait(60), "no worker read partition 1"
    assert proxy.held_peer is not None
    reader = next(
        c.pid
        for c in psutil.net_connections(kind="tcp")
        if c.laddr and tuple(c.laddr) == proxy.held_peer
    )
    assert reader in worker_pids
    os.kill(reader, signal.SIGKILL)
    proxy.release.set()
    result = future.result(timeout=120)

    assert [r["start"] for r in proxy.data_reads()].count(str(target)) == 2
    assert not result.index.duplicated().any()
    pd.testing.assert_frame_equal(result, direct.data_read_dataframe(three_intervals))
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != worker_pids  # the nanny started a new one


# --------------------------------------------------------------------------------------------
# Several streams
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_rates(direct: joule_sync.Node) -> tuple[joule_sync.DataStream, joule_sync.DataStream]:
    """``fast``: rows every 1 ms in two intervals; ``slow``: int32 rows every 1.5 ms from
    0.3 ms later, with a gap of 3 s in the middle of fast's first interval."""
    fast = create_stream(direct, "fast", "float32_2")
    slow = create_stream(direct, "slow", "int32_1")
    fast_rows = make_rows("float32_2", 12_001, step=STEP)
    slow_rows = make_rows("int32_1", 8_000, start=T0 + 300, step=1500)
    write_intervals(direct, fast, fast_rows[:7000], fast_rows[8000:])
    write_intervals(direct, slow, slow_rows[:1000], slow_rows[3000:])
    return fast, slow


def test_read_dataframes_reads_each_stream(
    client: Client,
    direct: joule_sync.Node,
    two_rates: tuple[joule_sync.DataStream, joule_sync.DataStream],
) -> None:
    fast, slow = two_rates
    frames = jd.read_dataframes({"f": fast.id, "s": slow.id}, T0 + 1_000_000, npartitions=3)

    assert sorted(frames) == ["f", "s"]
    for label, stream in (("f", fast), ("s", slow)):
        expected = direct.data_read_dataframe(stream, T0 + 1_000_000)
        pd.testing.assert_frame_equal(frames[label].compute(), expected)


def test_an_outer_join_has_every_timestamp_of_either_stream(
    client: Client,
    direct: joule_sync.Node,
    two_rates: tuple[joule_sync.DataStream, joule_sync.DataStream],
) -> None:
    fast, slow = two_rates
    joined = jd.read_joined({"f": fast.id, "s": slow.id}, how="outer", npartitions=4)
    expected = pd.concat(
        [
            direct.data_read_dataframe(fast).add_prefix("f."),
            direct.data_read_dataframe(slow).add_prefix("s."),
        ],
        axis=1,
        sort=True,
    )

    assert joined.npartitions == 4
    assert expected["s.e0"].isna().any() and expected["f.e0"].isna().any()
    pd.testing.assert_frame_equal(joined.compute(), expected)


def test_an_asof_join_carries_the_other_stream_forward_within_the_tolerance(
    client: Client,
    direct: joule_sync.Node,
    two_rates: tuple[joule_sync.DataStream, joule_sync.DataStream],
) -> None:
    fast, slow = two_rates
    start, end = T0 + 500_000, T0 + 11_000_000
    joined = jd.read_joined(
        {"f": fast.id, "s": slow.id}, start, end, how="asof", tolerance=2000, npartitions=5
    )
    expected = pd.merge_asof(
        direct.data_read_dataframe(fast, start, end).add_prefix("f."),
        direct.data_read_dataframe(slow, start, end).add_prefix("s."),
        left_index=True,
        right_index=True,
        direction="backward",
        tolerance=pd.Timedelta(2000, unit="us"),
    )

    # matched rows, rows in slow's gap (no match within 2 ms), and rows matched across
    # partition boundaries all occur
    assert expected["s.e0"].notna().any() and expected["s.e0"].isna().any()
    pd.testing.assert_frame_equal(joined.compute(), expected)


def test_joins_refuse_what_they_cannot_do(
    client: Client, two_rates: tuple[joule_sync.DataStream, joule_sync.DataStream]
) -> None:
    fast, slow = two_rates
    with pytest.raises(ConfigurationError, match="needs a tolerance"):
        jd.read_joined([fast.id, slow.id], how="asof")
    with pytest.raises(ConfigurationError, match="at least two"):
        jd.read_joined([fast.id])
    with pytest.raises(ConfigurationError, match="labelled 'fast'"):
        jd.read_joined([fast.id, fast.id])


def test_an_option_a_read_does_not_take_is_refused_not_ignored() -> None:
    """The shared options arrive as ``**options``: a misspelt one must fail as Python fails."""
    misspelt = r"read_dataframe\(\) got an unexpected keyword argument 'npartition'"
    with pytest.raises(TypeError, match=misspelt):
        jd.read_dataframe(1, npartition=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"read_joined\(\) .* 'max_rows'"):
        jd.read_joined([1, 2], max_rows=10)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="npartitions or partition_rows, not both"):
        jd.read_dataframes([1], npartitions=2, partition_rows=10)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def test_a_read_frame_written_to_a_new_stream_reads_back_identical(
    client: Client,
    node: joule_sync.Node,
    make_stream: MakeStream,
    three_intervals: joule_sync.DataStream,
) -> None:
    target = make_stream("float32_3")
    source = jd.read_dataframe(three_intervals.id, npartitions=5)

    written = jd.write_dataframe(source, target, node=node)

    expected = node.data_read_dataframe(three_intervals)
    assert written == len(expected)
    assert node.data_intervals(target) == node.data_intervals(three_intervals)
    pd.testing.assert_frame_equal(jd.read_dataframe(target.id, npartitions=3).compute(), expected)


def test_a_pandas_frame_round_trips_with_intervals_across_partitions(
    client: Client, node: joule_sync.Node, make_stream: MakeStream
) -> None:
    target = make_stream("int16_2")
    rows = make_rows("int16_2", 4000, step=STEP)[np.r_[0:1500, 2500:4000]]  # a 1 s gap
    index = pd.DatetimeIndex(rows["timestamp"].astype("datetime64[us]"), name="timestamp")
    frame = pd.DataFrame(rows["data"], columns=["e1", "e0"], index=index.tz_localize("UTC"))
    frame["interval"] = np.repeat(np.int32([0, 1]), 1500)
    source = dd.from_pandas(frame, npartitions=4)
    assert len(set(source.divisions[1:-1]) & set(frame.index)) == 3  # inside the intervals

    jd.write_dataframe(source, target, node=node)

    assert len(node.data_intervals(target)) == 2
    # columns are matched to elements by name: e0 first
    pd.testing.assert_frame_equal(
        jd.read_dataframe(target.id, npartitions=2).compute(), frame[["e0", "e1", "interval"]]
    )


def parts_frame(parts: list[pd.DataFrame], divisions: tuple[object, ...] | None) -> dd.DataFrame:
    """A Dask DataFrame of exactly these partitions, in this order."""
    return dd.from_map(lambda part: part, parts, meta=parts[0].iloc[:0], divisions=divisions)


def frame_of(rows: np.ndarray) -> pd.DataFrame:
    index = pd.DatetimeIndex(rows["timestamp"].astype("datetime64[us]"), name="timestamp")
    return pd.DataFrame(rows["data"], columns=["e0", "e1", "e2"], index=index.tz_localize("UTC"))


def test_partitions_out_of_order_by_their_divisions_are_refused_before_writing(
    client: Client, node: joule_sync.Node, make_stream: MakeStream
) -> None:
    target = make_stream("float32_3")
    first, second = (
        frame_of(make_rows("float32_3", 200)[:100]),
        frame_of(make_rows("float32_3", 200)[100:]),
    )
    unordered = parts_frame([second, first], (second.index[0], first.index[0], first.index[-1]))

    with pytest.raises(
        DataError, match=r"partitions 0 and 1 are out of order or overlap.*nothing was written"
    ):
        jd.write_dataframe(unordered, target, node=node)
    assert node.data_intervals(target) == []


@pytest.mark.parametrize(
    ("case", "message", "rows_written"),
    [
        ("overlap", r"partition 1 starts at .* not after the end of partition 0", 100),
        ("reversed", r"partition 1 starts at .* not after the end of partition 0", 100),
        (
            "unsorted",
            r"partition 0 is not in strictly increasing time order.*nothing was written",
            0,
        ),
    ],
)
def test_partitions_found_out_of_order_are_refused_when_their_turn_comes(
    client: Client,
    node: joule_sync.Node,
    make_stream: MakeStream,
    case: str,
    message: str,
    rows_written: int,
) -> None:
    target = make_stream("float32_3")
    rows = make_rows("float32_3", 200)
    parts = {
        "overlap": [rows[:100], rows[50:150]],
        "reversed": [rows[100:], rows[:100]],
        "unsorted": [rows[100::-1], rows[101:]],
    }[case]

    with pytest.raises(DataError, match=message) as refused:
        jd.write_dataframe(parts_frame([frame_of(p) for p in parts], None), target, node=node)

    assert ("rows up to" in str(refused.value)) == (rows_written > 0)
    stored = node.data_read_array(target)
    assert stored.tobytes() == parts[0][:rows_written].tobytes()


def test_value_columns_must_match_the_stream(
    client: Client, node: joule_sync.Node, make_stream: MakeStream
) -> None:
    target = make_stream("float32_3")
    frame = dd.from_pandas(frame_of(make_rows("float32_3", 10))[["e0", "e1"]], npartitions=1)

    with pytest.raises(DataError, match=r"2 value column\(s\) \(e0, e1\) for the 3 element\(s\)"):
        jd.write_dataframe(frame, target, node=node)


# --------------------------------------------------------------------------------------------
# The API key: never in the graph, the task keys or the logs; where the workers find it
# --------------------------------------------------------------------------------------------


def test_the_key_is_in_neither_the_graph_nor_the_task_keys_nor_the_logs(
    client: Client,
    joule_node: DevNode,
    proxy: CountingProxy,
    direct: joule_sync.Node,
) -> None:
    stream = create_stream(direct, "soon_deleted")
    write_intervals(direct, stream, make_rows("float32_3", 3000))
    frame = jd.read_dataframe(stream.id, npartitions=3)
    graph = dict(frame.__dask_graph__())
    pickled = pickle.dumps(graph)  # everything the scheduler and the workers receive

    assert proxy.url.encode() in pickled  # the graph does carry the node's reference...
    assert joule_node.key.encode() not in pickled  # ...and not its key
    assert joule_node.key not in repr(graph)
    assert all(joule_node.key not in str(key) for key in graph)
    assert {key_split(key) for key in graph} >= {"joule-read"}  # the dashboard's task names
    # a task that fails on the worker is logged with its function and arguments
    direct.data_stream_delete(stream)
    with pytest.raises(StreamNotFound):
        frame.compute()
    logs = json.dumps([client.get_scheduler_logs(), client.get_worker_logs()])
    assert f"stream id {stream.id} does not exist" in logs
    assert joule_node.key not in logs


def test_workers_without_the_key_say_what_is_missing(
    client: Client,
    joule_node: DevNode,
    proxy: CountingProxy,
    three_intervals: joule_sync.DataStream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # set here, after the workers started: they do not have it
    monkeypatch.setenv("JOULE_SYNC_TEST_KEY", joule_node.key)
    frame = jd.read_dataframe(
        three_intervals.id, node=jd.NodeRef(proxy.url, key_variable="JOULE_SYNC_TEST_KEY")
    )

    with pytest.raises(ConfigurationError, match="JOULE_SYNC_TEST_KEY is not set on"):
        frame.compute()


def test_a_reference_never_sends_a_key_to_another_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JOULE_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("JOULE_KEY", "k")
    with pytest.raises(
        ConfigurationError, match=re.escape("not of http://127.0.0.1:2 as the task graph")
    ):
        jd.NodeRef("http://127.0.0.1:2").connect()
    with jd.NodeRef("http://127.0.0.1:1/").connect() as node:
        assert node.url == "http://127.0.0.1:1"

    monkeypatch.setenv("JOULE_USER_CONFIG_DIR", str(tmp_path))
    (tmp_path / "nodes.json").write_text(
        json.dumps([{"name": "plant", "url": "http://127.0.0.1:3", "key": "k"}])
    )
    (tmp_path / "nodes.json").chmod(0o600)
    with pytest.raises(ConfigurationError, match="node 'plant' in the joule configuration"):
        jd.NodeRef("http://127.0.0.1:2", name="plant").connect()
    with jd.NodeRef("http://127.0.0.1:3", name="plant").connect() as node:
        assert node.name == "plant"


def test_a_connected_node_is_referenced_by_its_configured_name_or_the_environment(
    joule_node: DevNode,
    direct: joule_sync.Node,
    three_intervals: joule_sync.DataStream,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("JOULE_USER_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("JOULE_URL", raising=False)

    def reference(node: joule_sync.Node) -> jd.NodeRef:
        """The one reference the read tasks of the graph carry."""
        graph = dict(jd.read_dataframe(three_intervals.id, node=node).__dask_graph__())
        functions = [getattr(task, "func", None) for task in graph.values()]
        (ref,) = {f.source.ref for f in functions if isinstance(f, jd._ReadPartition)}
        return ref

    with pytest.raises(ConfigurationError, match="cannot tell how the workers get the API key"):
        reference(direct)
    monkeypatch.setenv("JOULE_URL", joule_node.url)
    assert reference(direct) == jd.NodeRef(joule_node.url)
    (tmp_path / "nodes.json").write_text(
        json.dumps([{"name": "lab", "url": joule_node.url, "key": joule_node.key}])
    )
    (tmp_path / "nodes.json").chmod(0o600)
    with joule_sync.get_node("lab") as configured:
        assert reference(configured) == jd.NodeRef(joule_node.url, name="lab")
