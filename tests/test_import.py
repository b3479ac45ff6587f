"""Imports on the real node: exports read back into fresh streams (rows, intervals, elements),
only what the node lacks written (a second run, a backfill, a cut import run again), bad files
refused before anything is written, and the ``joule-sync import`` command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import h5py
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import joule_sync
from faultproxy import Fault, FaultProxy
from joule_sync import ConfigurationError, ConnectionFailed, DataError, Element, Node, WritePipe
from joule_sync._cli import main
from joule_sync.devnode import DevNode
from rows import make_rows

Rows = npt.NDArray[np.void]
LAYOUT = "float32_3"
ROWS = 30_000
BREAKS = (10_000, 20_000)
ELEMENTS = [Element(name=n, units="W", display_type="discrete") for n in ("a", "b", "c")]
SELF_DESCRIBING = ["power.csv", "power.parquet", "power.h5"]


def fresh_path() -> str:
    return f"/import/{uuid.uuid4().hex[:8]}/power"


def fill(node: Node, path: str, rows: Rows, breaks: tuple[int, ...] = BREAKS) -> None:
    """A stream at ``path`` holding ``rows`` with interval breaks before rows ``breaks``."""
    stream = node.data_stream_create(
        joule_sync.DataStream(name="power", datatype="float32", elements=ELEMENTS),
        path.rsplit("/", 1)[0],
    )
    with node.data_write(stream) as pipe:
        for part in np.split(rows, breaks):
            pipe.write(part)
            pipe.close_interval()


@pytest.fixture(scope="module")
def rows() -> Rows:
    """ROWS rows in three intervals: 5 s gaps before rows BREAKS."""
    made = make_rows(LAYOUT, ROWS)
    for row in BREAKS:
        made["timestamp"][row:] += 5_000_000
    return made


@pytest.fixture(scope="module")
def exported(
    joule_node: DevNode, rows: Rows, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[list[int]], Path]]:
    """The rows in a stream, its intervals, and a folder of its exports in every format (the
    CSV with its header)."""
    folder = tmp_path_factory.mktemp("exports")
    path = fresh_path()
    with Node(joule_node.url, joule_node.key) as node:
        fill(node, path, rows)
        for name in [*SELF_DESCRIBING, "power.npy"]:
            node.export(path, folder / name, csv_header=name.endswith(".csv"))
        yield path, node.data_intervals(path), folder


def holds(node: Node, path: str, rows: Rows, intervals: list[list[int]]) -> None:
    assert node.data_read_array(path).tobytes() == rows.tobytes()
    assert node.data_intervals(path) == intervals


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SELF_DESCRIBING)
def test_an_export_read_back_recreates_the_stream_it_came_from(
    node: Node,
    exported: tuple[str, list[list[int]], Path],
    rows: Rows,
    name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Into a new stream, made as the file describes it."""
    path, intervals, folder = exported
    copy = fresh_path()
    result = node.data_import(folder / name, copy, progress=True)
    assert (result.created, result.rows, result.skipped) == (True, ROWS, 0)
    holds(node, copy, rows, intervals)
    created, source = node.data_stream_get(copy), node.data_stream_get(path)
    assert created.datatype == "float32"
    assert [(e.name, e.units, e.display_type) for e in created.elements] == [
        (e.name, e.units, e.display_type) for e in source.elements
    ]
    assert f"import {name} [####################] 100%" in capsys.readouterr().err

    again = node.data_import(folder / name, copy)  # the node has it all: nothing is written
    assert (again.created, again.rows, again.skipped) == (False, 0, ROWS)
    holds(node, copy, rows, intervals)


def test_without_a_stream_the_file_names_it(node: Node, rows: Rows, tmp_path: Path) -> None:
    path = fresh_path()
    fill(node, path, rows)
    intervals = node.data_intervals(path)
    node.export(path, tmp_path / "power.parquet")
    node.data_stream_delete(path)
    result = node.data_import(tmp_path / "power.parquet")
    assert result.created and result.stream.name == "power"
    holds(node, path, rows, intervals)


def test_npy_needs_a_stream_and_keeps_the_rows_only(
    node: Node, exported: tuple[str, list[list[int]], Path], rows: Rows
) -> None:
    _, _, folder = exported
    with pytest.raises(ConfigurationError, match="does not say which stream"):
        node.data_import(folder / "power.npy")
    copy = fresh_path()
    result = node.data_import(folder / "power.npy", copy)
    assert result.created and [e.name for e in result.stream.elements] == [
        "Element 0",
        "Element 1",
        "Element 2",
    ]
    # bare rows: in one interval
    holds(node, copy, rows, [[int(rows["timestamp"][0]), int(rows["timestamp"][-1]) + 1]])


def test_a_csv_header_is_read_by_pandas_and_by_the_import(
    node: Node, exported: tuple[str, list[list[int]], Path], rows: Rows
) -> None:
    path, intervals, folder = exported
    first = (folder / "power.csv").read_text().split("\n", 1)[0]
    document = json.loads(first.removeprefix("# joule: "))
    assert document["path"] == path and document["layout"] == LAYOUT
    assert document["intervals"] == intervals
    assert document["node"] == {"name": node.name, "url": node.url}
    assert [e["units"] for e in document["elements"]] == ["W"] * 3
    frame = pd.read_csv(folder / "power.csv", comment="#")
    assert list(frame.columns) == ["timestamp", "a", "b", "c"]
    assert np.array_equal(frame["timestamp"].to_numpy(), rows["timestamp"])
    assert np.array_equal(frame[["a", "b", "c"]].to_numpy(np.float32), rows["data"])
    # pyarrow's metadata too
    parquet = pq.read_schema(folder / "power.parquet").metadata[b"joule"]
    assert json.loads(parquet) == document


def test_a_csv_without_its_header_goes_into_an_existing_stream(
    node: Node, rows: Rows, tmp_path: Path
) -> None:
    path = fresh_path()
    fill(node, path, rows)
    node.export(path, tmp_path / "plain.csv")
    with pytest.raises(ConfigurationError, match="does not say which stream"):
        node.data_import(tmp_path / "plain.csv")
    copy = fresh_path()
    with pytest.raises(ConfigurationError, match="create the stream first"):
        node.data_import(tmp_path / "plain.csv", copy)
    fill(node, copy, rows[:0])
    assert node.data_import(tmp_path / "plain.csv", copy).rows == ROWS
    assert node.data_read_array(copy).tobytes() == rows.tobytes()


def test_an_hdf5_file_without_intervals_is_one_interval(
    node: Node, exported: tuple[str, list[list[int]], Path], rows: Rows, tmp_path: Path
) -> None:
    _, _, folder = exported
    shutil.copy(folder / "power.h5", tmp_path / "power.h5")
    with h5py.File(tmp_path / "power.h5", "a") as file:
        del file["intervals"]  # as upstream's 'joule data read --file' writes it
    copy = fresh_path()
    node.data_import(tmp_path / "power.h5", copy)
    holds(node, copy, rows, [[int(rows["timestamp"][0]), int(rows["timestamp"][-1]) + 1]])


# -- only what the node lacks ----------------------------------------------------------------


def test_start_and_end_pick_the_rows(
    node: Node, exported: tuple[str, list[list[int]], Path], rows: Rows
) -> None:
    _, _, folder = exported
    copy = fresh_path()
    start, end = int(rows["timestamp"][5_000]), int(rows["timestamp"][15_000])
    result = node.data_import(folder / "power.parquet", copy, start=start, end=end)
    assert result.rows == 10_000
    assert node.data_read_array(copy).tobytes() == rows[5_000:15_000].tobytes()
    assert len(node.data_intervals(copy)) == 2  # the file's break at row 10,000


def test_a_backfill_goes_before_the_data_the_stream_has(
    node: Node, exported: tuple[str, list[list[int]], Path], rows: Rows
) -> None:
    _, intervals, folder = exported
    copy = fresh_path()
    later = make_rows(LAYOUT, 1000, start=int(rows["timestamp"][-1]) + 60_000_000)
    fill(node, copy, later, ())
    result = node.data_import(folder / "power.h5", copy)
    assert (result.created, result.rows, result.skipped) == (False, ROWS, 0)
    holds(node, copy, np.concatenate([rows, later]), intervals + node.data_intervals(copy)[-1:])


@pytest.mark.parametrize(
    "held",
    [
        (0, 15_000),  # a prefix: an import cut off
        (25_000, ROWS),  # the end
        (5_000, 12_000),  # across a break
    ],
)
def test_rows_the_stream_has_are_left_out_and_the_intervals_are_the_files(
    node: Node,
    exported: tuple[str, list[list[int]], Path],
    rows: Rows,
    held: tuple[int, int],
) -> None:
    _, intervals, folder = exported
    copy = fresh_path()
    first, last = held
    fill(node, copy, rows[first:last], tuple(b - first for b in BREAKS if first < b < last))
    result = node.data_import(folder / "power.csv", copy)
    assert (result.rows, result.skipped) == (ROWS - (last - first), last - first)
    holds(node, copy, rows, intervals)


KILLED_IMPORT = """
import os, signal, sys, time
import joule_sync, joule_sync._pipes as pipes

url, key, file, stream = sys.argv[1:]
node = joule_sync.Node(url, key)
close_interval = pipes.WritePipe.close_interval

def stored_then_killed(self):
    close_interval(self)
    while not node.data_intervals(stream):  # the first interval is stored...
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGKILL)  # ...then a power cut, mid-upload

pipes.WritePipe.close_interval = stored_then_killed
node.data_import(file, stream)
"""


def test_an_import_killed_midway_completes_when_run_again(
    node: Node,
    joule_node: DevNode,
    exported: tuple[str, list[list[int]], Path],
    rows: Rows,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, intervals, folder = exported
    copy = fresh_path()
    files = [str(folder / "power.parquet"), copy]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path))
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_IMPORT, joule_node.url, joule_node.key, *files],
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -9, killed.stderr
    result = node.data_import(folder / "power.parquet", copy)  # waits for the cut upload
    assert 0 < result.skipped < ROWS and result.rows + result.skipped == ROWS
    holds(node, copy, rows, intervals)


def test_an_upload_cut_off_midway_completes_when_run_again(
    node: Node,
    joule_node: DevNode,
    exported: tuple[str, list[list[int]], Path],
    rows: Rows,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, intervals, folder = exported
    copy = fresh_path()
    close_interval = WritePipe.close_interval

    def close_once_stored(pipe: WritePipe) -> None:
        close_interval(pipe)
        while not node.data_intervals(copy):  # the node stores the first interval...
            time.sleep(0.05)

    monkeypatch.setattr(WritePipe, "close_interval", close_once_stored)
    with FaultProxy(urlsplit(joule_node.url).port or 0) as proxy:
        # ...then the upload is cut off in the second
        proxy.inject(Fault(cut_request_after=20 * 15_000), method="POST", path="/data")
        with pytest.raises(ConnectionFailed, match="broke off"):
            Node(proxy.url, joule_node.key).data_import(folder / "power.h5", copy)
    monkeypatch.undo()
    stored = node.data_read_array(copy)
    assert 0 < len(stored) < ROWS
    result = node.data_import(folder / "power.h5", copy)
    assert (result.rows, result.skipped) == (ROWS - len(stored), len(stored))
    holds(node, copy, rows, intervals)


# -- bad files -------------------------------------------------------------------------------


def _csv(text: str) -> str:
    header = '# joule: {"version":1,"path":null,"layout":"float32_2","elements":[{"name":"a"},'
    header += '{"name":"b"}],"node":{"name":null,"url":null},"intervals":[[10,40]]}\n'
    return header + "timestamp,a,b\n" + text


BAD_CSV = {
    "a row too wide": (_csv("10,1,2\n20,1,2,3\n"), "bad.csv: line 4 has 4 fields, expected 3"),
    "not a number": (_csv("10,1,2\n20,1,x\n"), "line 4, field 3: 'x' is not a number"),
    "an empty value": (_csv("10,1,2\n20,,2\n"), "line 4, field 2 is empty"),
    "a fractional timestamp": (_csv("10,1,2\n20.5,1,2\n"), "'20.5' is not an integer"),
    "timestamps that do not increase": (_csv("10,1,2\n30,1,2\n20,1,2\n"), "monotonic"),
    "a row outside the intervals": (_csv("10,1,2\n50,1,2\n"), "outside every interval"),
    "a value beyond float32": (_csv("10,1,2\n20,1,1e39\n"), "float32"),
    "NaN": (_csv("10,1,2\n20,nan,2\n"), "NaN"),
}


@pytest.mark.parametrize("case", BAD_CSV)
def test_a_bad_file_is_refused_before_anything_is_written(
    node: Node, tmp_path: Path, case: str
) -> None:
    text, message = BAD_CSV[case]
    (tmp_path / "bad.csv").write_text(text)
    copy = fresh_path()
    with pytest.raises(DataError, match=message):
        node.data_import(tmp_path / "bad.csv", copy)
    with pytest.raises(joule_sync.StreamNotFound):
        node.data_stream_get(copy)  # not even created


def test_a_file_of_another_layout_than_the_stream_is_refused(
    node: Node, exported: tuple[str, list[list[int]], Path], tmp_path: Path
) -> None:
    path, intervals, folder = exported
    stream = node.data_stream_create(
        joule_sync.DataStream(name="s", datatype="int16", elements=ELEMENTS), fresh_path()
    )
    for name in [*SELF_DESCRIBING, "power.npy"]:
        with pytest.raises(DataError, match=f"holds {LAYOUT} rows, but stream 's' is int16_3"):
            node.data_import(folder / name, stream)
    table = pq.read_table(folder / "power.parquet").drop_columns(["c"])
    pq.write_table(table.replace_schema_metadata({}), tmp_path / "two.parquet")
    with pytest.raises(DataError, match="float32_2 rows, but stream 'power' is float32_3"):
        node.data_import(tmp_path / "two.parquet", path)
    np.save(tmp_path / "wide.npy", np.zeros((3, 5)))
    with pytest.raises(DataError, match="4 value columns, but layout float32_3 has 3"):
        node.data_import(tmp_path / "wide.npy", path)
    assert node.data_intervals(stream) == [] and node.data_intervals(path) == intervals


def test_a_parquet_file_of_strings_is_refused(node: Node, tmp_path: Path) -> None:
    table = pa.table({"timestamp": pa.array([1, 2], pa.int64()), "a": ["x", "y"]})
    pq.write_table(table, tmp_path / "words.parquet")
    stream = node.data_stream_create(
        joule_sync.DataStream(name="s", elements=[Element(name="a")]), fresh_path()
    )
    with pytest.raises(DataError, match="column 'a' holds string, not numbers"):
        node.data_import(tmp_path / "words.parquet", stream)


# -- the command -----------------------------------------------------------------------------


def test_the_import_command(
    joule_node: DevNode,
    exported: tuple[str, list[list[int]], Path],
    rows: Rows,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, intervals, folder = exported
    monkeypatch.setenv("JOULE_URL", joule_node.url)
    monkeypatch.setenv("JOULE_KEY", joule_node.key)
    copy = fresh_path()
    assert main(["import", str(folder / "power.h5"), copy]) == 0
    err = capsys.readouterr().err
    assert "import power.h5 [####################] 100%" in err
    assert f"{ROWS:,} rows written to 'power' (created), 0 it had already" in err
    with Node(joule_node.url, joule_node.key) as node:
        holds(node, copy, rows, intervals)
    assert main(["import", str(folder / "power.npy"), copy, "-q"]) == 0
    assert f": 0 rows written to 'power', {ROWS:,} it had already" in capsys.readouterr().err
    assert main(["import", str(folder / "power.npy"), "-q"]) == 1
    assert "name the stream" in capsys.readouterr().err
