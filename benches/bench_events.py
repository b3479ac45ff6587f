"""Events as tables: ``event_stream_read_dataframe`` and event exports against the naive way
(every ``Event`` in one list, then ``pd.DataFrame`` of their records), time and peak memory.

    .venv/bin/python benches/bench_events.py [--events 100000] [--runs 3]

Starts a harness node (a real upstream jouled on loopback) in a temporary state dir, writes
``--events`` events (content: a name out of 50, a float, an integer, and a boolean in one
event of three), then runs each case ``--runs`` times, the cases interleaved, each run in a
fresh interpreter so that its peak resident memory (``VmHWM``, reset once the imports are
done) is its own:

- the node's pages alone (``event_stream_read(block_size=1000)``, each page dropped);
- naive: ``event_stream_read_list``, then ``pd.DataFrame.from_records`` of every event's
  id, times and content, the times made UTC datetimes;
- ``event_stream_read_dataframe``;
- ``export`` to Parquet and to CSV.

Prints a markdown table: the runs, their median, events/s, and the median peak above the
interpreter's resident memory before the case (and the DataFrame's own ``memory_usage``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joule_sync
from joule_sync import Event, devnode

FIRST = 1_700_000_000_000_000
STREAM = "/bench/events/log"

CASES = {
    "node pages only, dropped": "for _ in node.event_stream_read(STREAM, block_size=1000): pass",
    "naive: event_stream_read_list + DataFrame.from_records": """
events = node.event_stream_read_list(STREAM, limit=10**9)
frame = pd.DataFrame.from_records(
    [{"id": e.id, "start": e.start_time, "end": e.end_time, **e.content} for e in events],
    index="id",
)
for column in ("start", "end"):
    frame[column] = pd.to_datetime(frame[column], unit="us", utc=True)
""",
    "event_stream_read_dataframe": "frame = node.event_stream_read_dataframe(STREAM)",
    "export to Parquet": "node.export(STREAM, WORK / 'events.parquet')",
    "export to CSV": "node.export(STREAM, WORK / 'events.csv')",
}

CHILD = """
import json, shutil, sys, time
from pathlib import Path
import pandas as pd
import pyarrow.parquet
import joule_sync

def status_mib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

url, key, STREAM, WORK = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
shutil.rmtree(WORK, ignore_errors=True)
WORK.mkdir()
with joule_sync.Node(url, key) as node:
    node.event_stream_info(STREAM)  # connected, the imports done
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    before = status_mib("VmRSS")
    started = time.perf_counter()
    frame = None
CASE
    seconds = time.perf_counter() - started
    peak = status_mib("VmHWM")
size = None if frame is None else frame.memory_usage(deep=True).sum() / 2**20
print(json.dumps({"seconds": seconds, "peak": peak - before, "frame": size}))
"""


def fill(node: devnode.DevNode, count: int) -> float:
    with joule_sync.Node(node.url, node.key) as client:
        stream = client.event_stream_get(STREAM, create=True)
        events = [
            Event(
                FIRST + i * 1000,
                FIRST + i * 1000 + 500,
                {
                    "name": f"event {i % 50}",
                    "value": i * 0.25,
                    "count": i,
                    **({"flag": i % 2 == 0} if i % 3 == 0 else {}),
                },
            )
            for i in range(count)
        ]
        started = time.perf_counter()
        client.event_stream_write(stream, events)
        return time.perf_counter() - started


def run_case(node: devnode.DevNode, code: str, work: Path) -> dict[str, float]:
    indented = "\n".join("    " + line for line in code.strip().splitlines())
    done = subprocess.run(
        [sys.executable, "-c", CHILD.replace("CASE", indented), node.url, node.key, STREAM,
         str(work)],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-events-") as workdir:
        work = Path(workdir)
        node = devnode.start(work / "node")
        try:
            write_seconds = fill(node, args.events)
            results: dict[str, list[dict[str, float]]] = {name: [] for name in CASES}
            for _ in range(args.runs):
                for name, code in CASES.items():
                    results[name].append(run_case(node, code, work / "out"))
        finally:
            devnode.stop(work / "node", purge=True)
    print(f"{args.events:,} events written in {write_seconds:.1f} s\n")
    print("| case | runs (s) | median (s) | events/s | peak MiB over start | DataFrame MiB |")
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak"] for r in runs)
        frame = runs[0]["frame"]
        each = ", ".join(f"{r['seconds']:.2f}" for r in runs)
        print(
            f"| {name} | {each} | {seconds:.2f} | "
            f"{args.events / seconds:,.0f} | {peak:.0f} | "
            f"{'-' if frame is None else f'{frame:.1f}'} |"
        )


if __name__ == "__main__":
    main()
