"""Exports of 5 million rows, joule-sync against upstream's ``joule data read``, and the
partitioned whole-range read, side by side on one node; then exports and imports in one
process against the reads and writes they are made of.

    .venv/bin/python benches/bench_export.py [--rows 5000000] [--runs 7] [--import-rows 2000000]

Starts a harness node (a real upstream jouled on loopback) in a temporary state dir, writes
``--rows`` float32_3 rows (1 kHz, one interval) to a stream, registers the node for
upstream's CLI in a temporary config dir, then times, one after the other:

- CSV: ``joule-sync export STREAM s.csv`` against ``joule data read STREAM > s.txt``;
- upstream's own text format: ``joule-sync read STREAM > s.txt`` (checked to be the same
  bytes as upstream's) against the same;
- HDF5: ``joule-sync export STREAM s.h5`` against ``joule data read STREAM --file s.h5``;
- Parquet: ``joule-sync export STREAM s.parquet`` (upstream has no Parquet);
- ``data_read_array(stream, partitions=K)`` for K = 1, 2, 4, in this process.

Commands are timed as whole processes, interpreter start included, with their output in
files; the reads around the call alone.

Then, in this process, ``--runs`` interleaved rounds (medians and best runs, each also as a
ratio to the first case; the client's CPU, all its threads, per million rows beside each):

- ``Node.export`` of the whole stream to CSV (plain, and with ``csv_header``), Parquet,
  ``.npy`` and HDF5, against ``data_read_array`` of the same range;
- ``Node.data_import`` of the first ``--import-rows`` rows from each of those files, each
  into a fresh stream (deleted after), against ``data_write`` of the same rows from memory.

The node is stopped and its state dir removed at the end.  Prints markdown tables.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import functools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg2

import joule_sync
from joule_sync import codec, devnode

LAYOUT = "float32_3"
FIRST_TIMESTAMP = 1_700_000_000_000_000
STEP_US = 1000
WRITE_ROWS = 500_000
STREAM = "/bench/export/power"
CONSOLE_SCRIPT = Path(sys.executable).with_name("joule-sync")


@dataclass(frozen=True)
class Row:
    """One line of the table: what was timed, and the upstream time it compares with."""

    what: str
    seconds: float
    upstream_seconds: float | None = None
    note: str = ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows in the stream")
    parser.add_argument("--runs", type=int, default=7, help="rounds of the in-process cases")
    parser.add_argument(
        "--import-rows", type=int, default=2_000_000, help="rows in each file imported"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as workdir:
        work = Path(workdir)
        node = devnode.start(work / "node")
        try:
            rows = run(node, args.rows, work)
            with joule_sync.Node(node.url, node.key) as client:
                exports = in_process(export_cases(client, work), args.runs)
                imports = in_process(import_cases(client, work, args.import_rows), args.runs)
        finally:
            devnode.stop(work / "node", purge=True)
    print_table(rows, args.rows)
    print_in_process("Exports", exports, args.rows, args.runs)
    print_in_process("Imports", imports, args.import_rows, args.runs)


def run(node: devnode.DevNode, count: int, work: Path) -> list[Row]:
    fill(node, count)
    config = work / "joule-config"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOULE_")}
    env["JOULE_USER_CONFIG_DIR"] = str(config)
    joule = str(node.venv / "bin" / "joule")
    subprocess.run(
        [joule, "node", "add", "bench", node.url, node.key],
        env=env,
        check=True,
        capture_output=True,
    )

    def timed(command: list[str], stdout: Path | None = None) -> float:
        with open(stdout or os.devnull, "wb") as out:
            began = time.perf_counter()
            subprocess.run(command, env=env, stdout=out, stderr=subprocess.DEVNULL, check=True)
            return time.perf_counter() - began

    ours = [str(CONSOLE_SCRIPT)]
    settle(node)
    upstream_text = timed([joule, "data", "read", STREAM], work / "upstream.txt")
    upstream_hdf5 = timed([joule, "data", "read", STREAM, "--file", str(work / "upstream.h5")])
    text = timed([*ours, "read", STREAM], work / "ours.txt")
    same = filecmp.cmp(work / "ours.txt", work / "upstream.txt", shallow=False)
    table = [
        Row(
            "CSV: `joule-sync export` vs `joule data read > file`",
            timed([*ours, "export", STREAM, str(work / "s.csv"), "-q"]),
            upstream_text,
        ),
        Row(
            "upstream's text: `joule-sync read > file` vs `joule data read > file`",
            text,
            upstream_text,
            "same bytes" if same else "OUTPUT DIFFERS",
        ),
        Row(
            "HDF5: `joule-sync export` vs `joule data read --file`",
            timed([*ours, "export", STREAM, str(work / "s.h5"), "-q"]),
            upstream_hdf5,
        ),
        Row(
            "Parquet: `joule-sync export`",
            timed([*ours, "export", STREAM, str(work / "s.parquet"), "-q"]),
        ),
    ]
    reads: dict[int, float] = {}
    with joule_sync.Node(node.url, node.key) as client:
        for partitions in (1, 2, 4):
            began = time.perf_counter()
            rows = client.data_read_array(STREAM, partitions=partitions)
            reads[partitions] = time.perf_counter() - began
            assert len(rows) == count
    table += [
        Row(f"`data_read_array(partitions={k})`", seconds, note=f"{reads[1] / seconds:.2f}x K=1")
        for k, seconds in reads.items()
    ]
    return table


@dataclass(frozen=True)
class Timing:
    seconds: float
    cpu: float
    """CPU seconds of this process (all its threads) meanwhile."""


Case = Callable[[], Timing]
EXPORTS = {
    "CSV": ("s.csv", False),
    "CSV with its `# joule:` header": ("h.csv", True),
    "Parquet": ("s.parquet", False),
    "`.npy`": ("s.npy", False),
    "HDF5": ("s.h5", False),
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(operation: Callable[[], object]) -> Timing:
    began, cpu = time.perf_counter(), cpu_seconds()
    operation()
    return Timing(time.perf_counter() - began, cpu_seconds() - cpu)


def export_cases(client: joule_sync.Node, work: Path) -> dict[str, Case]:
    """``data_read_array`` of the stream, and exports of it (each file made anew)."""

    def export(name: str, csv_header: bool) -> Timing:
        (work / name).unlink(missing_ok=True)
        return timed(functools.partial(client.export, STREAM, work / name, csv_header=csv_header))

    cases: dict[str, Case] = {
        "`data_read_array`": functools.partial(
            timed, functools.partial(client.data_read_array, STREAM)
        )
    }
    for what, (name, csv_header) in EXPORTS.items():
        cases[f"`export`: {what}"] = functools.partial(export, name, csv_header)
    return cases


def import_cases(client: joule_sync.Node, work: Path, count: int) -> dict[str, Case]:
    """``data_write`` of the first ``count`` rows from memory, and imports of them from each
    file format, each into a fresh stream deleted afterwards."""
    end = FIRST_TIMESTAMP + count * STEP_US
    rows = client.data_read_array(STREAM, end=end)
    files = {}
    for what, (name, csv_header) in EXPORTS.items():
        if what != "CSV":  # a CSV without its header needs a stream made before
            files[what] = work / f"import-{name}"
            client.export(STREAM, files[what], end=end, csv_header=csv_header)

    def into_fresh_stream(write: Callable[[joule_sync.DataStream], object]) -> Timing:
        elements = client.data_stream_get(STREAM).elements
        stream = client.data_stream_create(
            joule_sync.DataStream(name="power", datatype="float32", elements=elements),
            f"/bench/import/{uuid.uuid4().hex[:8]}",
        )
        try:
            return timed(functools.partial(write, stream))
        finally:
            assert len(client.data_intervals(stream)) == 1
            client.data_stream_delete(stream)

    def write_rows(stream: joule_sync.DataStream) -> None:
        with client.data_write(stream) as pipe:
            pipe.write(rows)

    def import_file(file: Path, stream: joule_sync.DataStream) -> None:
        client.data_import(file, stream)

    cases: dict[str, Case] = {
        "`data_write` from memory": functools.partial(into_fresh_stream, write_rows)
    }
    for what, file in files.items():
        write = functools.partial(import_file, file)
        cases[f"`data_import`: {what}"] = functools.partial(into_fresh_stream, write)
    return cases


def in_process(cases: dict[str, Case], runs: int) -> dict[str, list[Timing]]:
    """``runs`` rounds of every case, interleaved: drift in the machine's load hits each.
    Every other round runs them in reverse order, so that no case always follows the same
    one (a case right after a large file's write pays for its write-back)."""
    timings: dict[str, list[Timing]] = {name: [] for name in cases}
    for number in range(runs):
        for name, case in list(cases.items())[:: -1 if number % 2 else 1]:
            timings[name].append(case())
            print(f"{name}: {timings[name][-1].seconds:.2f} s", file=sys.stderr)
    return timings


def print_in_process(title: str, timings: dict[str, list[Timing]], count: int, runs: int) -> None:
    """Medians, and the best runs: on a machine shared with other work, the best run is the
    one least disturbed."""
    reference = timings[next(iter(timings))]
    base = statistics.median(t.seconds for t in reference)
    best_base = min(t.seconds for t in reference)
    print(
        f"\n{title}: {count:,} rows of {LAYOUT}, {runs} interleaved rounds; "
        f"load average {os.getloadavg()[0]:.1f} at the end\n"
    )
    print("| what | runs (s) | median (s) | ratio | best (s) | ratio | client CPU (s per M rows) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, values in timings.items():
        median = statistics.median(t.seconds for t in values)
        best = min(t.seconds for t in values)
        cpu = statistics.median(t.cpu for t in values) / count * 1e6
        runs_text = ", ".join(f"{t.seconds:.2f}" for t in values)
        print(
            f"| {name} | {runs_text} | {median:.2f} | {median / base:.2f}x | {best:.2f} | "
            f"{best / best_base:.2f}x | {cpu:.2f} |"
        )


def settle(node: devnode.DevNode) -> None:
    """Vacuum after the load, then read once untimed: otherwise autovacuum starts in the
    middle of the timed runs, and the first read after a bulk load pays PostgreSQL's
    hint-bit writes."""
    with contextlib.closing(psycopg2.connect(node.dsn)) as db:
        db.autocommit = True  # VACUUM refuses to run in a transaction
        with db.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
    with joule_sync.Node(node.url, node.key) as client:
        client.data_read_array(STREAM)


def fill(node: devnode.DevNode, count: int) -> None:
    """``count`` rows of slowly varying 3-phase values, one interval."""
    print(f"writing {count:,} rows to {STREAM}...", file=sys.stderr)
    rng = np.random.default_rng(0)
    with joule_sync.Node(node.url, node.key) as client:
        elements = [joule_sync.Element(name=f"phase {p}", units="W") for p in "ABC"]
        stream = joule_sync.DataStream(name="power", datatype="float32", elements=elements)
        stream = client.data_stream_create(stream, STREAM.rsplit("/", 1)[0])
        with client.data_write(stream) as pipe:
            for first in range(0, count, WRITE_ROWS):
                rows = np.zeros(min(WRITE_ROWS, count - first), codec.layout_dtype(LAYOUT))
                rows["timestamp"] = FIRST_TIMESTAMP + STEP_US * np.arange(first, first + len(rows))
                rows["data"] = 1000 + rng.normal(0, 50, rows["data"].shape)
                pipe.write(rows)


def print_table(rows: list[Row], count: int) -> None:
    print(
        f"\n{count:,} rows of {LAYOUT}, one harness node on loopback "
        f"(`.venv/bin/python benches/bench_export.py --rows {count}`):\n"
    )
    print("| what | joule-sync | rows/s | upstream | speed-up | |")
    print("|---|---:|---:|---:|---:|---|")
    for row in rows:
        upstream = f"{row.upstream_seconds:.1f} s" if row.upstream_seconds else "-"
        ratio = f"{row.upstream_seconds / row.seconds:.1f}x" if row.upstream_seconds else "-"
        print(
            f"| {row.what} | {row.seconds:.1f} s | {count / row.seconds:,.0f} | {upstream} "
            f"| {ratio} | {row.note} |"
        )


if __name__ == "__main__":
    main()
