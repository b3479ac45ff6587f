"""The main job, ``run()`` (``joule-sync demo``, ``scripts/export.sh``): a tour on a real node.

1. Find a node: ``--node NAME``, else the configured one (``$JOULE_URL`` or the joule CLI's
   default node); with none configured, start the local dev node and register it.
2. Load a week of 3-phase power of a small office building into ``STREAM_PATH`` at 5 rows/s
   (about 3 million rows, with four outages: interval breaks), unless it is there already.
3. Export it to Parquet, with the progress bar.
4. Plot a decimated day (the node's mean, min and max of each phase) to a PNG.
5. Print where the files are.

The week is the same on every machine: generated from a fixed seed, in UTC.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .. import codec
from .._config import NODES_FILE, config_dir, get_node
from .._errors import StreamNotFound
from .._export import ExportResult
from .._models import DataStream, Element
from .._node import Node
from .._progress import Progress
from .._tables import require
from . import NODE_NAME, register
from . import start as start_dev_node

log = logging.getLogger("joule_sync")

STREAM_PATH = "/demo/building/power"
PHASES = ("phase A", "phase B", "phase C")
LAYOUT = "float32_3"
FIRST_DAY = datetime(2024, 3, 4, tzinfo=timezone.utc)  # a Monday
DAYS = 7
STEP_US = 200_000  # 5 rows a second
PLOTTED_DAY = datetime(2024, 3, 6, tzinfo=timezone.utc)  # a Wednesday with an outage
PLOT_ROWS = 2000  # the node decimates the day's 432,000 rows to about this many
SEED = 2024

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
START_US = int(FIRST_DAY.timestamp()) * 1_000_000
END_US = START_US + DAYS * US_PER_DAY


def _at(day: int, hour: float) -> int:
    return START_US + day * US_PER_DAY + int(hour * US_PER_HOUR)


# (start, end) of the outages: no rows there, an interval break instead
OUTAGES = [
    (_at(0, 7 + 55 / 60), _at(0, 8 + 5 / 60)),  # Monday: the meter rebooted
    (_at(2, 10 + 12 / 60), _at(2, 10 + 47 / 60)),  # Wednesday: a breaker tripped
    (_at(4, 2.0), _at(4, 4.5)),  # Friday night: maintenance
    (_at(5, 16 + 20 / 60), _at(5, 16 + 22 / 60)),  # Saturday: a network glitch
]


@dataclass(frozen=True)
class Load:
    """A load switched on over ``[start, end)``: ``watts`` on one phase, or on all three."""

    start: int
    end: int
    phase: int | None
    watts: float


def run(out_dir: Path, node_name: str | None) -> int:
    """The whole tour; returns the exit status."""
    began = time.monotonic()
    out_dir = out_dir.absolute()
    out_dir.mkdir(parents=True, exist_ok=True)
    node, where = _connect(node_name)
    with node:
        print(f"node:    {node.url} ({where})")
        stream = _load(node)
        info = node.data_stream_info(stream)
        intervals = node.data_intervals(stream)
        print(
            f"stream:  {STREAM_PATH}: {rows_in(intervals):,} rows in {len(intervals)} "
            f"intervals, {_day(info.start)} to {_day(info.end)} (UTC)"
        )
        exported = _export(node, stream, out_dir / "building_power.parquet")
        png = _plot_day(node, out_dir / f"building_power_{PLOTTED_DAY:%Y-%m-%d}.png")
    print(
        f"parquet: {exported.path} ({exported.path.stat().st_size / 1e6:.1f} MB, "
        f"{exported.rows:,} rows)"
    )
    print(f"plot:    {png}")
    print(f"done in {time.monotonic() - began:.1f} s")
    return 0


def _connect(name: str | None) -> tuple[Node, str]:
    """The node to use and how it was found; starts the dev node when none is configured."""
    configured = os.environ.get("JOULE_URL") or (config_dir() / NODES_FILE).exists()
    if name is not None or configured:
        node = get_node(name)
        if node.name != NODE_NAME:
            return node, f"configured node '{node.name}'"
        node.close()  # the dev node, registered by an earlier run: (re)start it below
    log.info("no node configured: starting the local dev node (the first time installs it)")
    dev_node = start_dev_node()
    register(dev_node)
    return Node(dev_node.url, dev_node.key, name=NODE_NAME), (
        f"the local dev node, state in {dev_node.state_dir}; "
        f"stop it with 'joule-sync dev-node stop'"
    )


def rows_in(intervals: list[list[int]]) -> int:
    """Rows of the demo's intervals: one every STEP_US, the last at the interval's end - 1."""
    return sum((end - 1 - start) // STEP_US + 1 for start, end in intervals)


def _day(timestamp: int | None) -> str:
    if timestamp is None:
        return "-"
    return f"{datetime.fromtimestamp(timestamp / 1e6, timezone.utc):%Y-%m-%d %H:%M}"


# -- the demo stream -------------------------------------------------------------------------


def _segments() -> list[tuple[int, int]]:
    """``[start, end)`` of the runs of rows between the outages."""
    edges = [START_US, *(t for outage in OUTAGES for t in outage), END_US]
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]


def _expected_intervals() -> list[list[int]]:
    """What ``data_intervals`` says once the week is loaded: each ends after its last row."""
    intervals = []
    for start, end in _segments():
        first = -(-(start - START_US) // STEP_US) * STEP_US + START_US
        last = (end - 1 - START_US) // STEP_US * STEP_US + START_US
        intervals.append([first, last + 1])
    return intervals


def _load(node: Node) -> DataStream:
    """The demo stream, loaded unless it holds the week already (a partial load is redone)."""
    try:
        stream = node.data_stream_get(STREAM_PATH)
    except StreamNotFound:
        folder, name = STREAM_PATH.rsplit("/", 1)
        new = DataStream(
            name=name,
            description="a week of an office building's 3-phase power (joule-sync demo)",
            datatype="float32",
            elements=[Element(name=phase, units="W") for phase in PHASES],
        )
        stream = node.data_stream_create(new, folder)
    if node.data_intervals(stream) == _expected_intervals():
        return stream
    node.data_delete(stream)
    loads = _loads(np.random.default_rng(SEED))
    expected = rows_in(_expected_intervals())
    bar = Progress(f"load {STREAM_PATH}", expected)
    with node.data_write(stream) as pipe:
        for index, (start, end) in enumerate(_segments()):
            if index:
                pipe.close_interval()
            for rows in _rows(start, end, loads):
                pipe.write(rows)
                bar.update(len(rows), len(rows))
    bar.finish()
    return stream


def _loads(rng: np.random.Generator) -> list[Load]:
    """The week's switched loads: the air conditioning, the fridge, kettles and the like."""
    loads: list[Load] = []
    # air conditioning, a 3-phase compressor: long cycles by day, short ones at night
    t = START_US
    while t < END_US:
        working = _occupied_fraction(np.array([t]))[0] > 0.5
        on_minutes = rng.uniform(10, 16) if working else rng.uniform(4, 8)
        off_minutes = rng.uniform(6, 10) if working else rng.uniform(20, 30)
        on_end = t + int(on_minutes * 60e6)
        loads.append(Load(t, on_end, None, 2400.0))
        loads.append(Load(t, t + 1_000_000, None, 3000.0))  # the start-up surge
        t = on_end + int(off_minutes * 60e6)
    # the fridge on phase B, day and night
    t = START_US + int(rng.uniform(0, 40) * 60e6)
    while t < END_US:
        loads.append(Load(t, t + int(rng.uniform(15, 25) * 60e6), 1, 160.0))
        t += int(rng.uniform(50, 70) * 60e6)
    # kettles, microwaves, the printer: on one phase for a few minutes, mostly in office hours
    for hour_start in range(START_US, END_US, US_PER_HOUR):
        busy = _occupied_fraction(np.array([hour_start + US_PER_HOUR // 2]))[0]
        for _ in range(rng.poisson(0.3 + 7 * busy)):
            start = hour_start + int(rng.uniform(0, US_PER_HOUR))
            length = int(rng.uniform(1, 5) * 60e6)
            loads.append(Load(start, start + length, int(rng.integers(3)), rng.uniform(1100, 2100)))
    return loads


def _occupied_fraction(timestamps: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """How busy the building is: about 1 from 8:00 to 18:00 on weekdays, 0 at night."""
    since = timestamps - START_US
    hour = (since % US_PER_DAY) / US_PER_HOUR
    weekday = (since // US_PER_DAY) % 7 < 5
    day = 1 / (1 + np.exp(-3 * (hour - 7.7))) / (1 + np.exp(-3 * (17.8 - hour)))
    return np.asarray(day * np.where(weekday, 1.0, 0.12), dtype=np.float64)


BASE_WATTS = np.array([850.0, 620.0, 1040.0])  # servers, lights at night, standby
OFFICE_WATTS = np.array([2700.0, 2100.0, 3100.0])  # lights, computers: when occupied
WANDER_US = 10_000_000


def _rows(start: int, end: int, loads: list[Load]) -> Iterator[npt.NDArray[np.void]]:
    """The rows of ``[start, end)``, a day's worth at a time (bounded memory)."""
    first = START_US + -(-(start - START_US) // STEP_US) * STEP_US
    rng = np.random.default_rng([SEED, first])
    dtype = codec.layout_dtype(LAYOUT)
    for piece_start in range(first, end, US_PER_DAY):
        timestamps = np.arange(piece_start, min(piece_start + US_PER_DAY, end), STEP_US)
        watts = BASE_WATTS + np.outer(_occupied_fraction(timestamps), OFFICE_WATTS)
        for load in loads:
            if load.end <= timestamps[0] or load.start > timestamps[-1]:
                continue
            on = slice(*np.searchsorted(timestamps, [load.start, load.end]))
            if load.phase is None:
                watts[on] += load.watts
            else:
                watts[on, load.phase] += load.watts
        # computers and lights wander over tens of seconds; the meter adds its noise
        knots = np.arange(timestamps[0], timestamps[-1] + WANDER_US, WANDER_US)
        wander = rng.normal(0, 1, (len(knots), 3)) * (40 + 0.03 * OFFICE_WATTS)
        for phase in range(3):
            watts[:, phase] += np.interp(timestamps, knots, wander[:, phase])
        watts += rng.normal(0, 12, watts.shape)
        rows = np.empty(len(timestamps), dtype)
        rows["timestamp"] = timestamps
        rows["data"] = watts
        yield rows


# -- export and plot -------------------------------------------------------------------------


def _export(node: Node, stream: DataStream, path: Path) -> ExportResult:
    """A fresh export, so that every run shows the progress bar at work."""
    path.unlink(missing_ok=True)
    shutil.rmtree(path.with_name(path.name + ".parts"), ignore_errors=True)
    return node.export(stream, path, progress=True)


def _plot_day(node: Node, path: Path) -> Path:
    """The node's decimation of PLOTTED_DAY: each phase's mean, with its min-max band."""
    matplotlib = require("matplotlib", "plot")
    matplotlib.use("Agg")  # files only: no display needed
    logging.getLogger("matplotlib").setLevel(logging.WARNING)  # font cache notices
    plt = require("matplotlib.pyplot", "plot")
    dates = require("matplotlib.dates", "plot")

    start = int(PLOTTED_DAY.timestamp()) * 1_000_000
    end = start + US_PER_DAY
    with node.data_read(STREAM_PATH, start, end, max_rows=PLOT_ROWS) as pipe:
        blocks = list(pipe)
        factor = pipe.decimation_factor
    figure, axes = plt.subplots(figsize=(12, 5.5), dpi=120)
    colors = ("tab:red", "tab:olive", "tab:blue")
    # one line per interval: a gap in the data stays a gap in the plot
    runs: list[list[int]] = [[]]
    for index, block in enumerate(blocks):
        runs[-1].append(index)
        if block.end_of_interval:
            runs.append([])
    for run_number, run in enumerate(r for r in runs if r):
        rows = np.concatenate([blocks[i].data for i in run])
        times = rows["timestamp"].astype("datetime64[us]")
        # a node without decimations gives the rows themselves: mean = min = max
        view = codec.decimated_view(rows) if factor > 1 else None
        stats = {s: rows["data"] if view is None else view[s] for s in ("mean", "min", "max")}
        for phase, (name, color) in enumerate(zip(PHASES, colors, strict=True)):
            label = name if run_number == 0 else None
            axes.fill_between(
                times,
                stats["min"][:, phase] / 1000,
                stats["max"][:, phase] / 1000,
                color=color,
                alpha=0.25,
                linewidth=0,
            )
            axes.plot(
                times, stats["mean"][:, phase] / 1000, color=color, linewidth=1.0, label=label
            )
    intervals = node.data_intervals(STREAM_PATH, start, end)
    for gap_number, (before, after) in enumerate(itertools.pairwise(intervals)):
        axes.axvspan(
            np.datetime64(before[1], "us"),
            np.datetime64(after[0], "us"),
            color="0.85",
            label="no data (outage)" if gap_number == 0 else None,
        )
    axes.set_xlim(np.datetime64(start, "us"), np.datetime64(end, "us"))
    axes.xaxis.set_major_locator(dates.HourLocator(byhour=range(0, 24, 2)))
    axes.xaxis.set_major_formatter(dates.DateFormatter("%H:%M"))
    axes.set_xlabel(f"{PLOTTED_DAY:%A %d %B %Y} (UTC)")
    axes.set_ylabel("power [kW]")
    axes.set_ylim(bottom=0)
    how = f"decimated x{factor}: mean, band from min to max" if factor > 1 else "every row"
    axes.set_title(f"{STREAM_PATH}: one day, {how}")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
