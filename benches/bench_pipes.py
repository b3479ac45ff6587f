"""Reads and writes through the pipes, side by side with curl and the upstream client.

    .venv/bin/python benches/bench_pipes.py [--rows 5000000] [--runs 3]

Starts a harness node (a real upstream jouled on loopback) in a temporary directory, then,
interleaved run by run on the same node:

- read all rows of one float32_3 stream: ``curl -o /dev/null`` of the same request (the
  node's own limit), joule-sync (``data_read_array``, the same with ``partitions=2``, and a
  ``for block in data_read`` loop)
  and the upstream asyncio client (``joule`` 1.0.1 from the harness venv: data_read plus
  its read/consume loop);
- write the same rows to a fresh stream: joule-sync (``data_write``), upstream
  (``data_write`` in 100,000-row blocks, as its docs do) and ``curl --data-binary`` of the
  pre-encoded bytes in one request;
- the request-shape study that chose ``WRITE_BLOCK_BYTES``: joule-sync writes with several
  block sizes, and the same pre-encoded bytes as one body with a Content-Length.

Times are medians of ``--runs``; each tool is timed around the operation alone (curl's
``time_total``, the upstream client inside its process after imports).  Beside each time
are the CPU seconds the client spent on it (curl's whole process; the upstream client's
and joule-sync's around the operation) and the CPU the node spent meanwhile (jouled plus
every PostgreSQL process of its cluster).  On a machine with few cores both compete: a
read keeps jouled and PostgreSQL busy on two cores at once, so a client's own CPU shows in
its time.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import psycopg2

import joule_sync
from joule_sync import _pipes, codec, devnode

UPSTREAM = """
import asyncio, json, resource, sys, time
import numpy as np
from joule.api import TcpNode
from joule.errors import EmptyPipeError

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

async def main(url, key, op, stream_id, path):
    node = TcpNode("bench", url, key)
    stream = int(stream_id)
    try:
        if op == "read":
            t, c = time.perf_counter(), cpu()
            pipe = await node.data_read(stream)
            rows = 0
            while True:
                try:
                    data = await pipe.read()
                except EmptyPipeError:
                    break
                pipe.consume(len(data))
                rows += len(data)
            await pipe.close()
        else:
            data = np.load(path)
            t, c = time.perf_counter(), cpu()
            pipe = await node.data_write(stream)
            for i in range(0, len(data), 100_000):
                await pipe.write(data[i:i + 100_000])
            await pipe.close()
            rows = len(data)
        seconds, client_cpu = time.perf_counter() - t, cpu() - c
        print(json.dumps({"seconds": seconds, "client_cpu": client_cpu, "rows": rows}))
    finally:
        await node.close()

asyncio.run(main(*sys.argv[1:]))
"""


@dataclass(frozen=True)
class Timing:
    seconds: float  # the operation, as its tool times it
    client_cpu: float  # CPU seconds the client spent on it


@dataclass(frozen=True)
class Sample:
    timing: Timing
    node_cpu: float  # CPU seconds the node spent meanwhile

    @property
    def seconds(self) -> float:
        return self.timing.seconds


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def stopwatch() -> Iterator[list[Timing]]:
    """Time the block and this process's CPU in it; the Timing is in the list afterwards."""
    result: list[Timing] = []
    t, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF)
    yield result
    result.append(Timing(time.perf_counter() - t, cpu_seconds(resource.RUSAGE_SELF) - cpu))


class NodeCpu:
    """CPU seconds of jouled and of its PostgreSQL cluster, read from /proc.

    Backends and autovacuum workers come and go; the postmaster's counters for reaped
    children (cutime, cstime) keep what the exited ones used.
    """

    TICKS = os.sysconf("SC_CLK_TCK")

    def __init__(self, dev: devnode.DevNode) -> None:
        self.jouled = dev.jouled_pid
        self.postmaster = dev.postgres_pid

    def __call__(self) -> float:
        ticks = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    # fields after "(comm)": state ppid ... utime(12) stime(13) cutime cstime
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:  # the process ended meanwhile
                continue
            pid, ppid = int(entry.name), int(fields[1])
            if pid == self.postmaster:
                ticks += sum(int(f) for f in fields[11:15])
            elif pid == self.jouled or ppid == self.postmaster:
                ticks += int(fields[11]) + int(fields[12])
        return ticks / self.TICKS


class Bench:
    def __init__(self, dev: devnode.DevNode, rows: int, workdir: Path) -> None:
        self.dev = dev
        self.node = joule_sync.Node(dev.url, dev.key)
        self.node_cpu = NodeCpu(dev)
        self.workdir = workdir
        self.rows = make_rows(rows)
        self.rows_file = workdir / "rows.npy"
        np.save(self.rows_file, self.rows)
        self.frame_file = workdir / "rows.bin"
        self.frame = codec.encode(self.rows, "float32_3", interval_ends=[rows])
        self.frame_file.write_bytes(self.frame)
        self.upstream_script = workdir / "upstream.py"
        self.upstream_script.write_text(UPSTREAM)
        self.stream_numbers = itertools.count(1)
        self.read_stream = self.new_stream()
        with self.node.data_write(self.read_stream) as pipe:
            pipe.write(self.rows)

    def settle(self) -> None:
        """Vacuum after the load, as autovacuum would soon after, then read once untimed.

        Otherwise autovacuum starts in the middle of the timed reads: the first rows read
        after a bulk load also cost PostgreSQL hint-bit writes (a first read took 17 s, the
        next ones 1.8 s).
        """
        with contextlib.closing(psycopg2.connect(self.dev.dsn)) as db:
            db.autocommit = True  # VACUUM refuses to run in a transaction
            with db.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
        self.read_curl()

    def new_stream(self) -> joule_sync.DataStream:
        elements = [joule_sync.Element(name=n) for n in ("a", "b", "c")]
        stream = joule_sync.DataStream(name=f"s{next(self.stream_numbers)}", elements=elements)
        return self.node.data_stream_create(stream, "/bench")

    def curl(self, *args: str) -> Timing:
        cpu = cpu_seconds(resource.RUSAGE_CHILDREN)
        out = subprocess.run(
            ["curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{time_total}",
             "-H", f"X-API-KEY: {self.dev.key}", *args],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return Timing(float(out.stdout), cpu_seconds(resource.RUSAGE_CHILDREN) - cpu)

    def upstream(self, op: str, stream: joule_sync.DataStream) -> Timing:
        python = self.dev.venv / "bin" / "python"
        args = [self.dev.url, self.dev.key, op, str(stream.id), str(self.rows_file)]
        out = subprocess.run(
            [str(python), str(self.upstream_script), *args], capture_output=True, text=True
        )
        if out.returncode:
            raise RuntimeError(f"upstream client failed:\n{out.stderr[-2000:]}")
        result = json.loads(out.stdout)
        assert op == "write" or result["rows"] == len(self.rows), result
        return Timing(float(result["seconds"]), float(result["client_cpu"]))

    # -- reads ------------------------------------------------------------------------

    def read_curl(self) -> Timing:
        return self.curl(f"{self.dev.url}/data?id={self.read_stream.id}")

    def read_array(self) -> Timing:
        with stopwatch() as timing:
            data = self.node.data_read_array(self.read_stream)
        assert len(data) == len(self.rows)
        return timing[0]

    def read_partitioned(self) -> Timing:
        with stopwatch() as timing:
            data = self.node.data_read_array(self.read_stream, partitions=2)
        assert len(data) == len(self.rows)
        return timing[0]

    def read_pipe(self) -> Timing:
        with stopwatch() as timing:
            rows = sum(len(block) for block in self.node.data_read(self.read_stream))
        assert rows == len(self.rows)
        return timing[0]

    def read_upstream(self) -> Timing:
        return self.upstream("read", self.read_stream)

    # -- writes (each into a fresh stream, dropped afterwards) --------------------------

    def timed_write(self, write: Callable[[joule_sync.DataStream], Timing]) -> Sample:
        stream = self.new_stream()
        try:
            sample = self.sample(lambda: write(stream))
            assert self.node.data_intervals(stream)[-1][1] == int(self.rows["timestamp"][-1]) + 1
            return sample
        finally:
            self.node.data_stream_delete(stream)

    def sample(self, operation: Callable[[], Timing]) -> Sample:
        before = self.node_cpu()
        timing = operation()
        return Sample(timing, self.node_cpu() - before)

    def write_sync(self, stream: joule_sync.DataStream) -> Timing:
        with stopwatch() as timing, self.node.data_write(stream) as pipe:
            pipe.write(self.rows)
        return timing[0]

    def write_upstream(self, stream: joule_sync.DataStream) -> Timing:
        return self.upstream("write", stream)

    def write_curl(self, stream: joule_sync.DataStream) -> Timing:
        return self.curl(
            "-X", "POST", "-H", "Content-Type: application/octet-stream",
            "--data-binary", f"@{self.frame_file}", f"{self.dev.url}/data?id={stream.id}",
        )  # fmt: skip

    def write_one_body(self, stream: joule_sync.DataStream) -> Timing:
        """The pre-encoded bytes as one request body with a Content-Length, from httpx."""
        http = httpx.Client(base_url=self.dev.url, headers={"X-API-KEY": self.dev.key})
        with http, stopwatch() as timing:
            response = http.post("/data", params={"id": stream.id}, content=self.frame)
        response.raise_for_status()
        return timing[0]


def make_rows(count: int) -> np.ndarray:
    rows = np.zeros(count, dtype=codec.layout_dtype("float32_3"))
    rows["timestamp"] = 1_700_000_000_000_000 + np.arange(count, dtype=np.int64) * 1000
    phase = np.arange(count)[:, None] * 0.01 + np.array([0, 2.094, 4.189])
    rows["data"] = 230 * np.sin(phase)
    return rows


def run(cases: dict[str, Callable[[], Sample]], runs: int) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, case in cases.items():  # interleaved: drift hits every case alike
            samples[name].append(case())
    return samples


def table(title: str, samples: dict[str, list[Sample]], reference: str, rows: int) -> str:
    base = statistics.median(s.seconds for s in samples[reference])
    lines = [
        f"\n{title} ({rows:,} float32_3 rows; medians; ratio to {reference})\n",
        "| method | runs (s) | median (s) | rows/s | ratio | client CPU (s) | node CPU (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, values in samples.items():
        median = statistics.median(s.seconds for s in values)
        client_cpu = statistics.median(s.timing.client_cpu for s in values)
        node_cpu = statistics.median(s.node_cpu for s in values)
        runs_text = ", ".join(f"{s.seconds:.2f}" for s in values)
        lines.append(
            f"| {name} | {runs_text} | {median:.2f} | {rows / median:,.0f} | "
            f"{median / base:.2f}x | {client_cpu:.2f} | {node_cpu:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shape-study-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    with tempfile.TemporaryDirectory(prefix="bench-pipes-") as tmp:
        dev = devnode.start(Path(tmp) / "node")
        try:
            bench = Bench(dev, args.rows, Path(tmp))
            bench.settle()
            reads = run(
                {
                    name: functools.partial(bench.sample, read)
                    for name, read in {
                        "curl -o /dev/null": bench.read_curl,
                        "joule-sync data_read_array": bench.read_array,
                        "joule-sync data_read_array partitions=2": bench.read_partitioned,
                        "joule-sync data_read loop": bench.read_pipe,
                        "upstream data_read loop": bench.read_upstream,
                    }.items()
                },
                args.runs,
            )
            print(table("read", reads, "curl -o /dev/null", args.rows))
            writes = run(
                {
                    "curl --data-binary": lambda: bench.timed_write(bench.write_curl),
                    "joule-sync data_write": lambda: bench.timed_write(bench.write_sync),
                    "upstream data_write": lambda: bench.timed_write(bench.write_upstream),
                },
                args.runs,
            )
            print(table("write", writes, "curl --data-binary", args.rows))
            print(request_shape_study(bench, args.shape_study_rows, args.runs))
        finally:
            devnode.stop(Path(tmp) / "node", purge=True)


def request_shape_study(bench: Bench, rows: int, runs: int) -> str:
    """Write ``rows`` rows in chunked requests of several block sizes, and as one body."""
    full, full_frame = bench.rows, bench.frame
    bench.rows = full[:rows]
    bench.frame = codec.encode(bench.rows, "float32_3", interval_ends=[rows])
    default = _pipes.WRITE_BLOCK_BYTES
    cases: dict[str, Callable[[], Sample]] = {}
    for size in (64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20):

        def write_with(size: int = size) -> Sample:
            _pipes.WRITE_BLOCK_BYTES = size
            try:
                return bench.timed_write(bench.write_sync)
            finally:
                _pipes.WRITE_BLOCK_BYTES = default

        cases[f"chunked, {size >> 10} KiB blocks"] = write_with
    cases["one body, Content-Length"] = lambda: bench.timed_write(bench.write_one_body)
    reference = f"chunked, {default >> 10} KiB blocks"
    result = table("write request shape", run(cases, runs), reference, rows)
    bench.rows, bench.frame = full, full_frame
    return result


if __name__ == "__main__":
    main()
