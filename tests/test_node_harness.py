"""Conformance of the dev node harness, through plain HTTP (httpx) only: no joule_sync client.

Proves that the node the tests run against is a working upstream jouled: bulk binary write and
read-back, intervals, live subscriptions, the configured objects, and `joule-sync dev-node`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import psycopg2
import pytest

from joule_sync.devnode import NODE_NAME, DevNode, status

pytestmark = pytest.mark.node

F32_3 = np.dtype([("timestamp", "<i8"), ("data", "<f4", (3,))])
I32_1 = np.dtype([("timestamp", "<i8"), ("data", "<i4", (1,))])
ROWS = 100_000
FIRST_TS = 1_700_000_000_000_000
STEP_US = 1_000
STREAM_PATH = "/harness/bulk/f32"
COUNTING_PERIOD_US = 50_000  # /live/base counts at 20 Hz


@pytest.fixture(scope="module")
def http(joule_node: DevNode) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=joule_node.url, headers={"X-API-KEY": joule_node.key}, timeout=60.0
    ) as client:
        yield client


@pytest.fixture(scope="module")
def written(http: httpx.Client) -> tuple[int, np.ndarray]:
    """A float32_3 stream in a new folder, holding ROWS rows written as one binary POST."""
    stream = http.post(
        "/stream.json",
        json={"stream": _stream_json("f32", "float32", 3), "dest_path": "/harness/bulk"},
    )
    assert stream.status_code == 200, stream.text
    stream_id = stream.json()["id"]

    rows = np.zeros(ROWS, F32_3)
    rows["timestamp"] = FIRST_TS + STEP_US * np.arange(ROWS)
    rows["data"] = np.random.default_rng(4).standard_normal((ROWS, 3), dtype=np.float32)
    response = http.post(
        "/data",
        params={"id": stream_id},
        content=rows.tobytes(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 200, response.text
    return stream_id, rows


def test_folder_and_stream_created(http: httpx.Client, written: tuple[int, np.ndarray]) -> None:
    folder = http.get("/folder.json", params={"path": "/harness/bulk"})
    assert folder.status_code == 200, folder.text
    (stream,) = folder.json()["streams"]
    assert stream["id"] == written[0]
    assert stream["layout"] == "float32_3"
    assert [element["name"] for element in stream["elements"]] == ["e0", "e1", "e2"]


def test_read_back_byte_identical(http: httpx.Client, written: tuple[int, np.ndarray]) -> None:
    stream_id, rows = written
    response = http.get("/data", params={"id": stream_id})
    assert response.status_code == 200, response.text
    assert response.headers["joule-layout"] == "float32_3"
    assert response.headers["joule-decimation"] == "1"
    assert len(response.content) == rows.nbytes
    assert response.content == rows.tobytes()


def test_read_by_path_and_range(http: httpx.Client, written: tuple[int, np.ndarray]) -> None:
    _, rows = written
    start, end = rows["timestamp"][1000], rows["timestamp"][2000]
    response = http.get("/data", params={"path": STREAM_PATH, "start": start, "end": end})
    assert response.status_code == 200, response.text
    assert response.content == rows[1000:2000].tobytes()


def test_intervals(http: httpx.Client, written: tuple[int, np.ndarray]) -> None:
    stream_id, rows = written
    response = http.get("/data/intervals.json", params={"id": stream_id})
    assert response.status_code == 200, response.text
    # [first timestamp, last timestamp + 1] per interval
    assert response.json() == [[int(rows["timestamp"][0]), int(rows["timestamp"][-1]) + 1]]


def test_live_random_subscription(http: httpx.Client) -> None:
    rows = _subscribe(http, "/live/random", "float32_3", F32_3, seconds=3.5)
    assert len(rows) >= 15  # 10 Hz, delivered in 1 s blocks
    timestamps = rows["timestamp"]
    assert np.all(np.diff(timestamps) > 0)
    assert abs(timestamps[-1] / 1e6 - time.time()) < 60
    assert np.all((rows["data"] >= 0) & (rows["data"] < 1))


def test_live_base_counts(http: httpx.Client) -> None:
    rows = _subscribe(http, "/live/base", "int32_1", I32_1, seconds=2.0)
    assert len(rows) >= 20
    assert np.all(np.diff(rows["data"][:, 0]) == 1)
    assert np.all(np.diff(rows["timestamp"]) == COUNTING_PERIOD_US)

    # what the node stored counts from 0, since the module started with this fresh node
    stored = _read_when_stored(http, "/live/base", I32_1)
    values = stored["data"][:, 0]
    assert values[0] == 0
    assert np.array_equal(values, np.arange(len(values)))
    assert np.all(np.diff(stored["timestamp"]) == COUNTING_PERIOD_US)


def test_configured_objects(http: httpx.Client, joule_node: DevNode) -> None:
    configured = http.get("/stream.json", params={"path": "/static/configured", "no-info": ""})
    assert configured.status_code == 200, configured.text
    assert configured.json()["layout"] == "int32_2"
    assert configured.json()["locked"] is True
    renamed = {**configured.json(), "name": "renamed"}
    refused = http.put("/stream.json", json={"id": renamed["id"], "stream": renamed})
    assert refused.status_code == 400
    assert "locked" in refused.text

    # readable thanks to the harness's workaround for upstream's missing event tables
    events = http.get("/event.json", params={"path": "/static/configured_events"})
    assert events.status_code == 200, events.text
    assert events.json()["event_fields"] == {"label": "string"}

    proxies = http.get("/proxies.json").json()
    assert [(proxy["name"], proxy["url"]) for proxy in proxies] == [
        ("refnode_self", f"{joule_node.url}/version/")
    ]
    version = http.get("/version.json").json()
    assert (version["version"], version["name"]) == ("1.0.1", NODE_NAME)


def test_shim_behind_the_api(http: httpx.Client, written: tuple[int, np.ndarray]) -> None:
    """Calls that reach the TimescaleDB shim: data_info sizes, and the event histogram."""
    stream = http.get("/stream.json", params={"id": written[0]})  # hypertable_detailed_size
    assert stream.status_code == 200, stream.text
    info = stream.json()["data_info"]
    assert (info["start"], info["end"]) == (FIRST_TS, FIRST_TS + (ROWS - 1) * STEP_US)
    assert info["bytes"] > 0

    events = {"id": None, "name": "events", "description": "", "event_fields": {"label": "string"},
              "chunk_duration_us": 3_600_000_000, "keep_us": -1}  # fmt: skip
    created = http.post("/event.json", json={"stream": events, "dest_path": "/harness/events"})
    assert created.status_code == 200, created.text
    batch = [
        {"id": None, "event_stream_id": None, "start_time": FIRST_TS + i * 1_000_000,
         "end_time": FIRST_TS + i * 1_000_000 + 500_000, "content": {"label": f"e{i}"}}
        for i in range(200)
    ]  # fmt: skip
    path = "/harness/events/events"
    written_events = http.post("/event/data.json", json={"path": path, "events": batch})
    assert written_events.status_code == 200, written_events.text
    # more events than the limit: a histogram, from time_bucket_gapfill
    histogram = http.get("/event/data.json", params={"path": path, "limit": 10}).json()
    assert histogram["type"] == "histogram"
    assert sum(bucket["content"]["count"] for bucket in histogram["events"]) == 200


def test_timescale_shim_sql(joule_node: DevNode) -> None:
    """The shim's functions as jouled calls them, on a scratch table."""
    connection = psycopg2.connect(joule_node.dsn)
    try:
        sql = connection.cursor()
        sql.execute("CREATE TABLE shim_probe (time TIMESTAMP NOT NULL, value INTEGER)")
        sql.execute("SELECT created FROM create_hypertable('shim_probe', 'time')")
        assert sql.fetchone() == (True,)
        sql.execute(
            "SELECT created FROM create_hypertable('shim_probe', 'time', if_not_exists=>true)"
        )
        assert sql.fetchone() == (False,)
        sql.execute("SELECT set_chunk_time_interval('shim_probe', 3600000000)")
        sql.execute(
            "INSERT INTO shim_probe SELECT TIMESTAMP '2020-01-01' + k * INTERVAL '1 hour', k"
            " FROM generate_series(0, 9) AS k"
        )
        # drop_chunks deletes exactly the rows before older_than
        sql.execute("SELECT drop_chunks('shim_probe', older_than=>'2020-01-01 03:00'::timestamp)")
        assert sql.fetchone() == (3,)
        sql.execute("SELECT min(value), count(*) FROM shim_probe")
        assert sql.fetchone() == (3, 7)
        sql.execute("SELECT drop_chunks('shim_probe', older_than => interval '86400 seconds')")
        assert sql.fetchone() == (7,)

        sql.execute("SELECT total_bytes > 0 FROM hypertable_detailed_size('shim_probe')")
        assert sql.fetchone() == (True,)
        sql.execute("SELECT total_bytes FROM hypertable_detailed_size('pg_class')")
        assert sql.fetchone() == (None,)

        # buckets from TimescaleDB's origin, Monday 2000-01-03
        sql.execute(
            "SELECT time_bucket('15 minutes', TIMESTAMP '2020-01-01 10:37'),"
            " time_bucket_gapfill('1.5s', TIMESTAMP '2000-01-03 00:00:04'),"
            " time_bucket('7 days', TIMESTAMP '2020-01-01')"
        )
        assert sql.fetchone() == (
            datetime(2020, 1, 1, 10, 30),
            datetime(2000, 1, 3, 0, 0, 3),
            datetime(2019, 12, 30),
        )
    finally:
        connection.close()  # uncommitted: the scratch table goes away


def test_wrong_key_is_refused(joule_node: DevNode) -> None:
    response = httpx.get(f"{joule_node.url}/version.json", headers={"X-API-KEY": "not-the-key"})
    assert response.status_code == 403
    assert joule_node.dsn not in repr(joule_node)


def test_dev_node_cli(joule_node: DevNode, tmp_path: Path) -> None:
    """start (and start again), status, stop --purge: in a temp state dir and joule config."""
    state_dir = tmp_path / "node"
    config_dir = tmp_path / "joule-config"
    env = {
        **os.environ,
        "JOULE_USER_CONFIG_DIR": str(config_dir),
        "JOULE_SYNC_JOULED_VENV": str(joule_node.venv),
    }

    def dev_node(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "joule_sync._cli", "dev-node", *args]
        return subprocess.run(
            [*command, "--state-dir", str(state_dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    try:
        started = dev_node("start")
        assert started.returncode == 0, started.stderr
        url_line, key_line = started.stdout.splitlines()[-2:]
        assert url_line.startswith("URL=http://127.0.0.1:")
        assert key_line.startswith("KEY=")
        url, key = url_line.removeprefix("URL="), key_line.removeprefix("KEY=")
        version = httpx.get(f"{url}/version.json", headers={"X-API-KEY": key})
        assert version.status_code == 200
        assert url != joule_node.url

        nodes = json.loads((config_dir / "nodes.json").read_text())
        assert nodes == [{"name": NODE_NAME, "url": url, "key": key}]
        assert (config_dir / "default_node.txt").read_text().strip() == NODE_NAME
        assert (config_dir / "nodes.json").stat().st_mode & 0o777 == 0o600
        assert config_dir.stat().st_mode & 0o777 == 0o700

        began = time.monotonic()
        again = dev_node("start")
        assert again.returncode == 0, again.stderr
        assert again.stdout.splitlines()[-2:] == [url_line, key_line]
        assert time.monotonic() - began < 10  # reused, not restarted

        assert dev_node("status").returncode == 0
        running = status(state_dir).node
        assert running is not None
        pids = [running.jouled_pid, running.postgres_pid]
        assert all(_alive(pid) for pid in pids)
        assert len(_group(running.jouled_pid)) >= 3  # jouled and its two modules
    finally:
        stopped = dev_node("stop", "--purge")
    assert stopped.returncode == 0, stopped.stderr
    assert not any(_alive(pid) for pid in pids)
    assert _group(running.jouled_pid) == []
    assert dev_node("status").returncode == 3


def _stream_json(name: str, datatype: str, width: int) -> dict[str, object]:
    """A new stream as POST /stream.json wants it: every key present."""
    elements = [
        {
            "id": None, "index": i, "name": f"e{i}", "units": "u", "plottable": True,
            "display_type": "CONTINUOUS", "offset": 0.0, "scale_factor": 1.0,
            "default_max": None, "default_min": None,
        }
        for i in range(width)
    ]  # fmt: skip
    return {
        "id": None, "name": name, "description": "harness conformance", "datatype": datatype,
        "keep_us": -1, "decimate": True, "is_configured": False, "is_source": False,
        "is_destination": False, "elements": elements,
    }  # fmt: skip


def _subscribe(
    http: httpx.Client, path: str, layout: str, dtype: np.dtype, seconds: float
) -> np.ndarray:
    """The live rows of a stream for about SECONDS; chunks are not row-aligned, so reassemble."""
    received = bytearray()
    deadline = time.monotonic() + seconds
    with http.stream("GET", "/data", params={"path": path, "subscribe": "1"}) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["joule-layout"] == layout
        for chunk in response.iter_raw():
            received += chunk
            if time.monotonic() > deadline:
                break
    whole = len(received) // dtype.itemsize * dtype.itemsize
    return np.frombuffer(bytes(received[:whole]), dtype)


def _read_when_stored(http: httpx.Client, path: str, dtype: np.dtype) -> np.ndarray:
    """The stored rows of a live stream, once jouled has inserted some (it does every second)."""
    deadline = time.monotonic() + 15
    while True:
        response = http.get("/data", params={"path": path})
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 200, response.text
    return np.frombuffer(response.content, dtype)


def _alive(pid: int) -> bool:
    """Whether PID runs (a zombie does not: nothing may reap orphans in a container)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _group(pgid: int) -> list[int]:
    """Live processes of a process group."""
    members = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and _alive(int(proc.name)):
            try:
                stat = (proc / "stat").read_text()
            except FileNotFoundError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[2]) == pgid:
                members.append(int(proc.name))
    return members
