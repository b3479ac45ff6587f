"""A range as an Arrow stream (``data_read_batches``) against the whole-range array read,
side by side on one node.

    .venv/bin/python benches/bench_arrow_stream.py [--rows 2000000] [--runs 3]

Starts a harness node (a real upstream jouled on loopback) in a temporary state dir, writes
``--rows`` float32_3 rows (1 kHz, an interval break every 500,000 rows), then, interleaved
run by run, reads the whole range in a fresh process each time:

- ``data_read_array``: one numpy array;
- ``data_read_arrow``: one Arrow table;
- ``data_read_batches(rows=N)`` read to the end with ``read_next_batch()``, for several N;
- DuckDB's ``time_bucket`` query of README's tour over ``data_read_batches``.

Each process imports and reads a few rows first (untimed), then times the read alone, with
the CPU seconds it spent (every thread of the client; the node's processes are not in it)
and its peak resident memory above what it held before (``VmHWM`` after resetting it).
Times are medians of ``--runs``.  Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import joule_sync
from joule_sync import codec, devnode

LAYOUT = "float32_3"
FIRST_TIMESTAMP = 1_700_000_000_000_000
STEP_US = 1000
INTERVAL_ROWS = 500_000
STREAM = "/bench/arrow/power"

READ = """
import json, resource, sys, time
import duckdb
import joule_sync

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

def status_mib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

url, key, stream, method, batch_rows = sys.argv[1:]
batch_rows = int(batch_rows)
duckdb.execute("set enable_progress_bar = false")
with joule_sync.Node(url, key) as node:
    node.data_read_batches(stream, end=%(first)d + 1000).read_all()  # imports, connection
    node.data_read_array(stream, end=%(first)d + 1000)
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    before_mib, began_cpu, began = status_mib("VmRSS"), cpu(), time.perf_counter()
    if method == "array":
        rows = len(node.data_read_array(stream))
    elif method == "arrow":
        rows = node.data_read_arrow(stream).num_rows
    elif method == "batches":
        reader, rows = node.data_read_batches(stream, rows=batch_rows), 0
        while True:
            try:
                rows += reader.read_next_batch().num_rows
            except StopIteration:
                break
    else:
        batches = node.data_read_batches(stream, rows=batch_rows)
        rows = duckdb.sql(%(query)r).pl()["n"].sum()
    seconds = time.perf_counter() - began
    print(json.dumps({"rows": rows, "seconds": seconds, "cpu": cpu() - began_cpu,
                      "peak_mib": status_mib("VmHWM") - before_mib}))
"""
TOUR_QUERY = """
    select time_bucket(interval '100 milliseconds', timestamp) as tenth,
           avg(a) as a, max(c) as c_max, count(*) as n
    from batches group by tenth order by tenth
"""

METHODS = [
    ("`data_read_array`", "array", 0),
    ("`data_read_arrow`", "arrow", 0),
    ("`data_read_batches(rows=10_000)`", "batches", 10_000),
    ("`data_read_batches(rows=100_000)`", "batches", 100_000),
    ("`data_read_batches(rows=1_000_000)`", "batches", 1_000_000),
    ("DuckDB `time_bucket` over `data_read_batches(rows=100_000)`", "duckdb", 100_000),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows in the stream")
    parser.add_argument("--runs", type=int, default=3, help="runs of each read")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-arrow-") as workdir:
        state_dir = Path(workdir) / "node"
        node = devnode.start(state_dir)
        try:
            fill(node, args.rows)
            results = run(node, args.rows, args.runs)
        finally:
            devnode.stop(state_dir, purge=True)
    print_table(results, args.rows, args.runs)


def fill(node: devnode.DevNode, count: int) -> None:
    """``count`` rows of 3-phase power, elements a, b and c, a break every INTERVAL_ROWS."""
    print(f"writing {count:,} rows to {STREAM}...", file=sys.stderr)
    rng = np.random.default_rng(0)
    with joule_sync.Node(node.url, node.key) as client:
        elements = [joule_sync.Element(name=p, units="W") for p in "abc"]
        stream = joule_sync.DataStream(name="power", datatype="float32", elements=elements)
        stream = client.data_stream_create(stream, STREAM.rsplit("/", 1)[0])
        with client.data_write(stream) as pipe:
            for first in range(0, count, INTERVAL_ROWS):
                rows = np.zeros(min(INTERVAL_ROWS, count - first), codec.layout_dtype(LAYOUT))
                rows["timestamp"] = FIRST_TIMESTAMP + STEP_US * np.arange(first, first + len(rows))
                rows["data"] = 1000 + rng.normal(0, 50, rows["data"].shape)
                pipe.write(rows)
                pipe.close_interval()
        client.data_read_array(STREAM)  # PostgreSQL settles after the load


def run(node: devnode.DevNode, count: int, runs: int) -> dict[str, list[dict[str, float]]]:
    script = READ % {"first": FIRST_TIMESTAMP, "query": TOUR_QUERY}
    results: dict[str, list[dict[str, float]]] = {what: [] for what, _, _ in METHODS}
    for run_number in range(runs):
        for what, method, batch_rows in METHODS:
            done = subprocess.run(
                [sys.executable, "-c", script, node.url, node.key, STREAM, method, str(batch_rows)],
                capture_output=True,
                text=True,
                check=True,
            )
            measured = json.loads(done.stdout)
            assert measured["rows"] == count, (what, measured)
            results[what].append(measured)
            print(f"run {run_number + 1}: {what}: {measured}", file=sys.stderr)
    return results


def print_table(results: dict[str, list[dict[str, float]]], count: int, runs: int) -> None:
    print(
        f"\n{count:,} rows of {LAYOUT} ({count * codec.layout_dtype(LAYOUT).itemsize / 2**20:.0f}"
        f" MiB), medians of {runs} interleaved runs "
        f"(`.venv/bin/python benches/bench_arrow_stream.py --rows {count} --runs {runs}`):\n"
    )
    print(
        "| read | runs (s) | median (s) | M rows/s | client CPU (s) | CPU s / M rows "
        "| peak RSS (MiB) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for what, measured in results.items():
        seconds = statistics.median(m["seconds"] for m in measured)
        cpu = statistics.median(m["cpu"] for m in measured)
        peak = statistics.median(m["peak_mib"] for m in measured)
        each = ", ".join(f"{m['seconds']:.2f}" for m in measured)
        print(
            f"| {what} | {each} | {seconds:.2f} | {count / seconds / 1e6:.2f} | {cpu:.2f} "
            f"| {cpu / count * 1e6:.3f} | {peak:.0f} |"
        )


if __name__ == "__main__":
    main()
