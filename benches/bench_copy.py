"""A copy between two nodes, side by side with writing the same rows from memory.

    .venv/bin/python benches/bench_copy.py [--rows 2000000] [--runs 3]

Starts two harness nodes without modules (real upstream jouleds on loopback, each with its
own PostgreSQL) in a temporary directory, loads ``--rows`` float32_3 rows in three intervals
into the first and vacuums it (as bench_pipes does: the first read after a bulk load pays
for PostgreSQL's hint-bit writes), then, interleaved run by run, each into a fresh stream of
the second node:

- ``data_write``: the rows from memory, with the same two interval breaks;
- ``data_copy``: the first node's stream (its raw body passed on, undecoded);
- ``data_copy`` again: the destination holds everything, nothing is sent.

Each line gives the medians of the wall time, of the client's CPU (this process, every
thread; also per million rows sent) and of the CPU each node spent meanwhile (jouled plus
its PostgreSQL cluster).  Every copy is checked: the same rows and intervals as the source.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg2

import joule_sync
from bench_pipes import NodeCpu, cpu_seconds, make_rows
from joule_sync import devnode

ELEMENTS = [joule_sync.Element(name=n) for n in ("a", "b", "c")]


@dataclass(frozen=True)
class Sample:
    rows: int  # rows sent to the destination
    seconds: float
    client_cpu: float
    source_cpu: float
    dest_cpu: float


class Bench:
    def __init__(self, first: devnode.DevNode, second: devnode.DevNode, rows: int) -> None:
        self.source = joule_sync.Node(first.url, first.key, name="source")
        self.dest = joule_sync.Node(second.url, second.key, name="dest")
        self.cpu = NodeCpu(first), NodeCpu(second)
        self.rows = make_rows(rows)
        breaks = [rows // 3, 2 * rows // 3]
        for after in breaks:
            self.rows["timestamp"][after:] += 60_000_000  # a minute without data
        self.parts = np.split(self.rows, breaks)
        self.stream = self.source.data_stream_create(
            joule_sync.DataStream(name="power", elements=ELEMENTS), "/bench"
        )
        self.write(self.source, self.stream)
        with contextlib.closing(psycopg2.connect(first.dsn)) as db:
            db.autocommit = True  # VACUUM refuses to run in a transaction
            with db.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
        self.numbers = itertools.count(1)
        self.copied = ""

    def write(self, node: joule_sync.Node, stream: joule_sync.DataStream) -> int:
        with node.data_write(stream) as pipe:
            for part in self.parts:
                pipe.write(part)
                pipe.close_interval()
        return pipe.rows_written

    def measure(self, operation: Callable[[], int]) -> Sample:
        source, dest = self.cpu
        before = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF), source(), dest()
        rows = operation()
        return Sample(
            rows,
            time.perf_counter() - before[0],
            cpu_seconds(resource.RUSAGE_SELF) - before[1],
            source() - before[2],
            dest() - before[3],
        )

    def write_from_memory(self) -> int:
        stream = joule_sync.DataStream(name=f"written{next(self.numbers)}", elements=ELEMENTS)
        return self.write(self.dest, self.dest.data_stream_create(stream, "/bench"))

    def copy(self) -> int:
        self.copied = f"/bench/copied{next(self.numbers)}"
        return self.source.data_copy(self.stream, self.dest, self.copied).rows

    def copy_again(self) -> int:
        return self.source.data_copy(self.stream, self.dest, self.copied).rows

    def check(self) -> None:
        copied = self.dest.data_read_array(self.copied)
        assert copied.tobytes() == self.rows.tobytes(), "the copy differs from the source"
        assert self.dest.data_intervals(self.copied) == self.source.data_intervals(self.stream)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    with tempfile.TemporaryDirectory(prefix="bench-copy-") as tmp:
        dirs = [Path(tmp) / "source", Path(tmp) / "dest"]
        try:
            bench = Bench(*(devnode.start(d, modules=False) for d in dirs), args.rows)
            cases = {
                "data_write (the rows from memory)": bench.write_from_memory,
                "data_copy": bench.copy,
                "data_copy again (nothing missing)": bench.copy_again,
            }
            samples: dict[str, list[Sample]] = {name: [] for name in cases}
            for _ in range(args.runs):
                for name, case in cases.items():  # interleaved: drift hits every case alike
                    samples[name].append(bench.measure(case))
                bench.check()
        finally:
            for state_dir in dirs:
                devnode.stop(state_dir, purge=True)
    print(table(samples, args.rows))


def table(samples: dict[str, list[Sample]], rows: int) -> str:
    def median(values: list[Sample], field: str) -> float:
        return statistics.median(getattr(s, field) for s in values)

    base = median(next(iter(samples.values())), "seconds")
    out = [
        f"\n{rows:,} float32_3 rows in 3 intervals, each time into a fresh stream of the "
        "second node; medians\n",
        "| method | rows sent | runs (s) | median (s) | rows/s | time ratio | client CPU (s) "
        "| client CPU per M rows (s) | source node CPU (s) | destination node CPU (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, values in samples.items():
        seconds, cpu, sent = median(values, "seconds"), median(values, "client_cpu"), values[0].rows
        per_million = f"{cpu / sent * 1e6:.3f}" if sent else "-"
        rate = f"{sent / seconds:,.0f}" if sent else "-"
        out.append(
            f"| {name} | {sent:,} | {', '.join(f'{s.seconds:.2f}' for s in values)} | "
            f"{seconds:.2f} | {rate} | {seconds / base:.2f}x | {cpu:.2f} | {per_million} | "
            f"{median(values, 'source_cpu'):.2f} | {median(values, 'dest_cpu'):.2f} |"
        )
    return "\n".join(out)


if __name__ == "__main__":
    main()
