"""Partitioned reads on Dask against one process reading alone, side by side.

    .venv/bin/python benches/bench_dask.py [--rows 5000000] [--npartitions 8] [--runs 1]

Starts a harness node (a real upstream jouled on loopback) in a temporary directory, writes
``--rows`` float32_3 rows at 8 kHz (one interval) and reads all of them as a pandas DataFrame:

- ``data_read_dataframe`` in one process (a fresh subprocess, so that its peak RSS is the
  read's alone);
- ``read_dataframe(...).persist()`` on a LocalCluster of 1 and of 2 worker processes (one
  thread each): the partitions end in the workers' memory, as an analysis on a cluster
  keeps them;
- ``read_dataframe(...).compute()`` on the same clusters: the partitions are also sent to
  the caller and joined there, the same result as ``data_read_dataframe``.

Each Dask case has a fresh cluster, so that the workers' peak RSS (``ru_maxrss``) is that
case's; "idle" is a worker's RSS before the read.  One read before all cases warms
PostgreSQL's cache, so that the first case is not the only one to read the disk.  Times run
from the call (planning included) to the data in place.  CPU seconds are those spent
meanwhile by jouled (one process, one thread: the node's ceiling is one CPU), by its
PostgreSQL (a backend per connection) and by the reading processes.  Times are medians of
``--runs``; the last lines work the CPU cost per row into a paper estimate of a 12-month
8 kHz 3-phase export.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
from distributed import Client, LocalCluster, wait

import joule_sync
import joule_sync.dask as jd
from joule_sync import codec, devnode

CpuTimes = tuple[float, float]
"""CPU seconds of jouled, and of PostgreSQL."""

RATE_HZ = 8000
LAYOUT = "float32_3"
MIB = 1 << 20

ONE_PROCESS = """
import json, resource, sys, time
import joule_sync
node = joule_sync.get_node()  # JOULE_URL / JOULE_KEY from the environment
usage = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
frame = node.data_read_dataframe(int(sys.argv[1]))
seconds = time.perf_counter() - t
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
peak = after.ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "rows": len(frame), "cpu": cpu, "peak": peak}))
"""


@dataclass
class Result:
    seconds: float
    jouled_cpu: float
    postgres_cpu: float
    reader_cpu: float
    """Of the reading processes together."""
    peak_rss: list[int]
    """Of each reading process, bytes."""
    idle_rss: list[int]


def make_rows(count: int) -> np.ndarray:
    rows = np.zeros(count, dtype=codec.layout_dtype(LAYOUT))
    rows["timestamp"] = 1_700_000_000_000_000 + np.arange(count, dtype=np.int64) * (
        1_000_000 // RATE_HZ
    )
    rows["data"] = np.random.default_rng(0).standard_normal((count, 3), dtype=np.float32)
    return rows


def node_cpu(dev: devnode.DevNode) -> CpuTimes:
    """CPU seconds of jouled, and of PostgreSQL with its backends, live and ended."""
    jouled = psutil.Process(dev.jouled_pid).cpu_times()
    postmaster = psutil.Process(dev.postgres_pid)
    ended = postmaster.cpu_times()  # user, system, then the reaped children's
    live = sum(c.cpu_times().user + c.cpu_times().system for c in postmaster.children(True))
    return jouled.user + jouled.system, sum(ended[:4]) + live


def node_cpu_since(dev: devnode.DevNode, before: CpuTimes) -> CpuTimes:
    now = node_cpu(dev)
    return now[0] - before[0], now[1] - before[1]


def process_cpu() -> float:
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def one_process(dev: devnode.DevNode, stream: joule_sync.DataStream, rows: int) -> Result:
    before = node_cpu(dev)
    out = subprocess.run(
        [sys.executable, "-c", ONE_PROCESS, str(stream.id)],
        capture_output=True,
        text=True,
        check=True,
    )
    jouled, postgres = node_cpu_since(dev, before)
    result = json.loads(out.stdout)
    assert result["rows"] == rows, result
    return Result(result["seconds"], jouled, postgres, result["cpu"], [result["peak"]], [])


def on_cluster(
    dev: devnode.DevNode,
    stream: joule_sync.DataStream,
    rows: int,
    workers: int,
    npartitions: int,
    collect: bool,
) -> Result:
    with (
        LocalCluster(
            n_workers=workers, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        idle = list(client.run(lambda: psutil.Process().memory_info().rss).values())
        workers_cpu = sum(client.run(process_cpu).values())
        before = node_cpu(dev)
        t = time.perf_counter()
        frame = jd.read_dataframe(stream.id, npartitions=npartitions)
        if collect:
            count = len(frame.compute())
        else:
            persisted = frame.persist()
            wait(persisted)
        seconds = time.perf_counter() - t
        jouled, postgres = node_cpu_since(dev, before)
        workers_cpu = sum(client.run(process_cpu).values()) - workers_cpu
        if not collect:
            count = int(persisted.map_partitions(len).sum().compute())
        assert count == rows, count
        peak = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        return Result(seconds, jouled, postgres, workers_cpu, list(peak.values()), idle)


def median(results: list[Result]) -> Result:
    def middle(field: str) -> float:
        return statistics.median(getattr(r, field) for r in results)

    peak = [max(p) for p in zip(*(r.peak_rss for r in results), strict=True)]
    return Result(
        middle("seconds"),
        middle("jouled_cpu"),
        middle("postgres_cpu"),
        middle("reader_cpu"),
        peak,
        results[0].idle_rss,
    )


def table(rows: int, cases: list[tuple[str, str, Result]]) -> str:
    lines = [
        "| read | processes reading | s | M rows/s | CPU s: jouled / PostgreSQL / readers | "
        "peak RSS per reading process, MiB (idle) |",
        "|---|---|---|---|---|---|",
    ]
    for name, processes, r in cases:
        rss = ", ".join(
            f"{p / MIB:.0f}" + (f" ({i / MIB:.0f})" if r.idle_rss else "")
            for p, i in zip(r.peak_rss, r.idle_rss or r.peak_rss, strict=True)
        )
        lines.append(
            f"| {name} | {processes} | {r.seconds:.2f} | {rows / r.seconds / 1e6:.2f} | "
            f"{r.jouled_cpu:.1f} / {r.postgres_cpu:.1f} / {r.reader_cpu:.1f} | {rss} |"
        )
    return "\n".join(lines)


def estimate(rows_read: int, persisted: Result) -> str:
    """A year of 8 kHz 3-phase data exported through Dask, worked from the CPU cost per row
    of the read persisted on 2 workers: a cluster's way of reading, with parallel
    connections (jouled spends less CPU per row on two busy connections than on one)."""
    rows = RATE_HZ * 86_400 * 365
    row_bytes = codec.layout_dtype(LAYOUT).itemsize
    # rows per CPU-second of each
    jouled_rate = rows_read / persisted.jouled_cpu
    postgres_rate = rows_read / persisted.postgres_cpu
    worker_rate = rows_read / persisted.reader_cpu
    # jouled is one process on one CPU for all connections; each connection has a
    # PostgreSQL backend of its own, so enough connections (and node CPUs) leave jouled
    node_rate = jouled_rate
    connections = math.ceil(jouled_rate / postgres_rate)
    node_hours = rows / node_rate / 3600
    return "\n".join(
        [
            "Paper estimate: 12 months of one 3-phase stream (float32_3) at 8 kHz, through Dask",
            f"- rows: 8,000/s x 86,400 s x 365 d = {rows:,} ({rows / 1e9:.1f} G)",
            f"- bytes: {rows / 1e9:.1f} G x {row_bytes} B = {rows * row_bytes / 1e12:.2f} TB on "
            f"the wire, x 24 B = {rows * 24 / 1e12:.2f} TB in pandas (index, 3 float32, "
            "interval): no cluster holds it, so the export maps partitions to files "
            "(to_parquet), a few partitions per worker in memory at a time",
            f"- measured CPU per M rows: jouled {1e6 / jouled_rate:.2f} s, PostgreSQL "
            f"{1e6 / postgres_rate:.2f} s, a Dask worker {1e6 / worker_rate:.2f} s",
            f"- one node: jouled is one process on one CPU, so at most {jouled_rate / 1e6:.2f} M "
            f"rows/s whatever the readers; a PostgreSQL backend per connection gives "
            f"{postgres_rate / 1e6:.2f} M rows/s each, so {connections} connection(s) at once "
            f"(and {connections + 1} node CPUs) reach that: {rows / 1e9:.1f} G / "
            f"{node_rate / 1e6:.2f} M/s = {node_hours:,.1f} h",
            f"- workers to keep that node busy: {node_rate / 1e6:.2f} / "
            f"{worker_rate / 1e6:.2f} M rows/s per worker CPU = {node_rate / worker_rate:.1f}, "
            "plus what the analysis or the file writing costs them; more workers add nothing",
            "- the bottleneck is the node's one jouled process: on one CPU it receives each "
            "50,000-row COPY from PostgreSQL, converts it and sends it on, for every "
            f"connection.  N nodes each holding 1/N of the months or streams take "
            f"{node_hours:,.1f} h / N (e.g. {node_hours / 4:,.1f} h on 4)",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--npartitions", type=int, default=8)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {os.cpu_count()} CPUs, shared by the node, its PostgreSQL and the readers")
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        dev = devnode.start(Path(tmp) / "node")
        try:
            # the workers (started after this) and the one-process reader find the node here
            os.environ["JOULE_URL"], os.environ["JOULE_KEY"] = dev.url, dev.key
            with joule_sync.Node(dev.url, dev.key) as node:
                elements = [joule_sync.Element(name=n) for n in ("a", "b", "c")]
                stream = node.data_stream_create(
                    joule_sync.DataStream(name="bench", elements=elements), "/bench_dask"
                )
                t = time.perf_counter()
                with node.data_write(stream) as pipe:
                    pipe.write(make_rows(args.rows))
                print(f"wrote {args.rows:,} rows in {time.perf_counter() - t:.1f} s\n")
                node.data_read_array(stream)  # warm PostgreSQL's cache for the first case too
            cases: list[tuple[str, str, Callable[[], Result]]] = [
                ("data_read_dataframe", "1", lambda: one_process(dev, stream, args.rows))
            ]
            for collect in (False, True):
                how = ".compute() to the caller" if collect else ".persist() on the workers"
                for workers in (1, 2):
                    cases.append(
                        (
                            f"read_dataframe(npartitions={args.npartitions}){how}",
                            f"{workers} worker{'s' if workers > 1 else ''}",
                            lambda w=workers, c=collect: on_cluster(
                                dev, stream, args.rows, w, args.npartitions, c
                            ),
                        )
                    )
            results = [
                (name, processes, median([run() for _ in range(args.runs)]))
                for name, processes, run in cases
            ]
        finally:
            devnode.stop(Path(tmp) / "node", purge=True)
    print(f"{args.rows:,} rows of {LAYOUT} at {RATE_HZ} Hz, read whole as one pandas DataFrame\n")
    print(table(args.rows, results))
    print()
    print(estimate(args.rows, results[2][2]))


if __name__ == "__main__":
    main()
