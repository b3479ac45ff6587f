"""Exports of 5 million rows, joule-sync against upstream's ``joule data read``, and the
partitioned whole-range read, side by side on one node.

    .venv/bin/python benches/bench_export.py [--rows 5000000]

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
files; the reads around the call alone.  The node is stopped and its state dir removed at
the end.  Prints a markdown table.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as workdir:
        work = Path(workdir)
        node = devnode.start(work / "node")
        try:
            rows = run(node, args.rows, work)
        finally:
            devnode.stop(work / "node", purge=True)
    print_table(rows, args.rows)


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
    with joule_sync.Node(node.url, node.key) as client:  # untimed: PostgreSQL settles after
        client.data_read_array(STREAM)  # the load, or the first command timed pays for it
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
