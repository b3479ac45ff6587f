"""Exports on the real node: every format against the data, element selection,
resume after an interruption (a killed process, an exception, a file cut inside a row),
memory bounded while exporting millions of rows, and HDF5 both ways with upstream's CLI.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import joule_sync
import joule_sync._export
from joule_sync import ConfigurationError, DataError, Element
from joule_sync.devnode import DevNode
from peak_memory import run_script
from rows import make_rows

Rows = npt.NDArray[np.void]
LAYOUT = "float32_3"
NAMES = ["phase A", "phase B", "phase C"]
ROWS = 300_000
BREAKS = (100_000, 200_000)
SUFFIXES = [".csv", ".parquet", ".npy", ".h5"]


@pytest.fixture(scope="module")
def stream(joule_node: DevNode) -> Iterator[tuple[joule_sync.DataStream, Rows, str]]:
    """A float32_3 stream of ROWS rows with named elements and two interval breaks; its rows
    and its path."""
    rows = make_rows(LAYOUT, ROWS)
    rows["timestamp"][BREAKS[0] :] += 5_000_000
    rows["timestamp"][BREAKS[1] :] += 5_000_000
    path = f"/export/{uuid.uuid4().hex[:8]}/power"
    with joule_sync.Node(joule_node.url, joule_node.key) as node:
        created = node.data_stream_create(
            joule_sync.DataStream(
                name="power",
                datatype="float32",
                elements=[Element(name=n, units="W") for n in NAMES],
            ),
            path.rsplit("/", 1)[0],
        )
        with node.data_write(created) as pipe:
            pipe.write(rows[: BREAKS[0]])
            pipe.close_interval()
            pipe.write(rows[BREAKS[0] : BREAKS[1]])
            pipe.close_interval()
            pipe.write(rows[BREAKS[1] :])
        yield created, rows, path


# -- reading the files back ------------------------------------------------------------------


def read_csv(path: Path) -> tuple[list[str], Rows]:
    """Header and rows of an exported CSV, values parsed as the stream's float32."""
    with path.open() as file:
        header = next(csv.reader(file))
        lines = file.read().splitlines()
    table = np.array([line.split(",") for line in lines], dtype=str).reshape(
        len(lines), len(header)
    )
    rows = np.zeros(len(table), joule_sync.codec.layout_dtype(f"float32_{len(header) - 1}"))
    rows["timestamp"] = table[:, 0].astype(np.int64)
    rows["data"] = table[:, 1:].astype(np.float32)
    assert header[0] == "timestamp"
    return header[1:], rows


def read_parquet(path: Path) -> tuple[list[str], Rows]:
    table = pq.read_table(path)
    assert table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    names = table.column_names[1:]
    rows = np.zeros(table.num_rows, joule_sync.codec.layout_dtype(f"float32_{len(names)}"))
    rows["timestamp"] = table["timestamp"].cast(pa.int64()).to_numpy()
    for i, name in enumerate(names):
        assert table.schema.field(name).type == pa.float32()
        rows["data"][:, i] = table[name].to_numpy()
    return names, rows


def read_hdf5(path: Path) -> tuple[list[str], Rows]:
    with h5py.File(path) as file:
        names = json.loads(file.attrs["elements"])
        data, timestamps = file["data"][:], file["timestamp"][:]
    assert timestamps.dtype == np.int64 and timestamps.shape == (len(data), 1)
    rows = np.zeros(len(data), joule_sync.codec.layout_dtype(f"float32_{len(names)}"))
    rows["timestamp"] = timestamps[:, 0]
    rows["data"] = data
    return names, rows


def read_npy(path: Path) -> tuple[None, Rows]:
    return None, np.load(path)


READERS: dict[str, Callable[[Path], tuple[list[str] | None, Rows]]] = {
    ".csv": read_csv,
    ".parquet": read_parquet,
    ".h5": read_hdf5,
    ".npy": read_npy,
}


def selected(rows: Rows, columns: list[int]) -> Rows:
    out = np.zeros(len(rows), joule_sync.codec.layout_dtype(f"float32_{len(columns)}"))
    out["timestamp"] = rows["timestamp"]
    out["data"] = rows["data"][:, columns]
    return out


# -- every format ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_format_holds_every_row_exactly(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    suffix: str,
) -> None:
    _, rows, path = stream
    target = tmp_path / f"power{suffix}"
    result = node.export(path, target)
    assert (result.path, result.rows, result.resumed_after) == (target, ROWS, None)
    names, back = READERS[suffix](target)
    assert names in (None, NAMES)
    assert back.dtype == rows.dtype
    assert back.tobytes() == rows.tobytes()


def test_csv_text_is_a_header_and_exact_shortest_numbers(
    node: joule_sync.Node, stream: tuple[joule_sync.DataStream, Rows, str], tmp_path: Path
) -> None:
    _, rows, path = stream
    target = tmp_path / "power.csv"
    node.export(path, target, end=int(rows["timestamp"][2]) + 1)
    lines = target.read_text().splitlines()
    assert lines[0] == "timestamp,phase A,phase B,phase C"
    for line, row in zip(lines[1:], rows[:3], strict=True):
        timestamp, *values = line.split(",")
        assert int(timestamp) == row["timestamp"]
        # shortest: the float32's repr, not the float64 digits of it
        assert values == [str(np.float32(v)) for v in row["data"]]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_elements_by_name_and_index_select_columns_in_order(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    suffix: str,
) -> None:
    created, rows, _ = stream
    target = tmp_path / f"two{suffix}"
    node.export(created, target, elements=["phase C", 0])
    names, back = READERS[suffix](target)
    assert names in (None, ["phase C", "phase A"])
    assert back.tobytes() == selected(rows, [2, 0]).tobytes()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_time_range_exports_only_its_rows(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    suffix: str,
) -> None:
    created, rows, _ = stream
    start, end = int(rows["timestamp"][99_000]), int(rows["timestamp"][201_000])
    target = tmp_path / f"range{suffix}"
    assert node.export(created.id, target, start=start, end=end).rows == 102_000
    assert READERS[suffix](target)[1].tobytes() == rows[99_000:201_000].tobytes()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_range_without_rows_gives_a_readable_empty_file(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    suffix: str,
) -> None:
    created, rows, _ = stream
    gap = int(rows["timestamp"][BREAKS[0] - 1]) + 1000
    target = tmp_path / f"empty{suffix}"
    assert node.export(created, target, start=gap, end=gap + 1000).rows == 0
    assert len(READERS[suffix](target)[1]) == 0


def test_the_format_argument_overrides_the_suffix(
    node: joule_sync.Node, stream: tuple[joule_sync.DataStream, Rows, str], tmp_path: Path
) -> None:
    _, rows, path = stream
    target = tmp_path / "power.data"
    node.export(path, target, format="npy")
    assert np.load(target).tobytes() == rows.tobytes()


def test_mistakes_are_refused_before_anything_is_written(
    node: joule_sync.Node, stream: tuple[joule_sync.DataStream, Rows, str], tmp_path: Path
) -> None:
    _, _, path = stream
    with pytest.raises(ConfigurationError, match="format"):
        node.export(path, tmp_path / "power.txt")
    with pytest.raises(ConfigurationError, match="format"):
        node.export(path, tmp_path / "power.csv", format="excel")
    with pytest.raises(ConfigurationError, match="'phase D' does not exist"):
        node.export(path, tmp_path / "power.csv", elements=["phase D"])
    with pytest.raises(ConfigurationError, match="element 3 does not exist"):
        node.export(path, tmp_path / "power.csv", elements=[3])
    with pytest.raises(ConfigurationError, match="before end"):
        node.export(path, tmp_path / "power.csv", start=10, end=10)
    assert list(tmp_path.iterdir()) == []
    existing = tmp_path / "power.csv"
    existing.write_text("precious")
    with pytest.raises(ConfigurationError, match="exists"):
        node.export(path, existing)
    assert existing.read_text() == "precious"


def test_the_hdf5_path_attribute_is_the_stream_path_however_the_stream_is_named(
    node: joule_sync.Node, stream: tuple[joule_sync.DataStream, Rows, str], tmp_path: Path
) -> None:
    created, rows, path = stream
    for given in (path, created, created.id):
        target = tmp_path / f"by-{type(given).__name__}.h5"
        node.export(given, target, end=int(rows["timestamp"][10]))
        with h5py.File(target) as file:
            assert file.attrs["path"] == path
            assert file.attrs["node_url"] == node.url
            assert file.attrs["node_name"] == node.name
            elements = json.loads(file.attrs["element_json"])
            assert [(e["name"], e["units"]) for e in elements] == [(n, "W") for n in NAMES]


def test_progress_goes_to_stderr_and_ends_at_100_percent(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, _, path = stream
    node.export(path, tmp_path / "power.npy", progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    last = captured.err.strip().splitlines()[-1]
    assert "export power.npy [####################] 100%" in last
    assert f"{ROWS:,} rows" in last and "rows/s" in last


# -- resume ----------------------------------------------------------------------------------

# small parts, batches and checkpoints: a few of each are complete when the export is killed
SMALL = {"PARQUET_PART_ROWS": 10_000, "HDF5_CHECKPOINT_ROWS": 40_000, "BATCH_BYTES": 200_000}

KILLED_EXPORT = """
import os, signal, sys
from pathlib import Path
import joule_sync, joule_sync._export as export

url, key, path, target, kill_after, small = sys.argv[1:]
for name, value in eval(small).items():
    setattr(export, name, value)
kind = export.export_format(Path(target), None)

class KilledMidway(export.WRITERS[kind]):
    batches = 0

    def write(self, rows):
        super().write(rows)
        KilledMidway.batches += 1
        if KilledMidway.batches == int(kill_after):
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup at all: as a power cut

export.WRITERS[kind] = KilledMidway
with joule_sync.Node(url, key) as node:
    node.export(path, target)
"""


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SMALL.items():
        monkeypatch.setattr(joule_sync._export, name, value)


def same_file(suffix: str, resumed: Path, reference: Path) -> None:
    """Byte for byte, but HDF5 by datasets and attributes: its bytes depend on when chunks
    were allocated."""
    if suffix != ".h5":
        assert resumed.read_bytes() == reference.read_bytes()
        return
    with h5py.File(resumed) as got, h5py.File(reference) as expected:
        assert dict(got.attrs) == dict(expected.attrs)
        for name in ("data", "timestamp", "intervals"):
            assert got[name].dtype == expected[name].dtype
            assert np.array_equal(got[name][:], expected[name][:])


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_an_export_killed_midway_resumes_to_the_same_file(
    node: joule_sync.Node,
    joule_node: DevNode,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    suffix: str,
) -> None:
    _, rows, path = stream
    reference, target = tmp_path / f"reference{suffix}", tmp_path / f"killed{suffix}"
    node.export(path, reference)
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_EXPORT,
            joule_node.url,
            joule_node.key,
            path,
            str(target),
            "9",
            repr(SMALL),
        ],
        capture_output=True,
        text=True,
    )
    assert killed.returncode == -9, killed.stderr
    result = joule_sync.Node(joule_node.url, joule_node.key).export(path, target, resume=True)
    assert result.resumed_after is not None  # went on from the rows saved, not afresh
    assert 0 < result.rows < ROWS
    assert rows["timestamp"][ROWS - result.rows - 1] == result.resumed_after
    same_file(suffix, target, reference)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C in the middle of an export."""


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_an_export_stopped_by_ctrl_c_resumes_to_the_same_file(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    suffix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, _, path = stream
    reference, target = tmp_path / f"reference{suffix}", tmp_path / f"stopped{suffix}"
    node.export(path, reference)
    kind = joule_sync._export.export_format(target, None)
    writer_class = joule_sync._export.WRITERS[kind]
    batches = iter(range(1000))

    class StoppedMidway(writer_class):  # type: ignore[misc, valid-type]
        def write(self, rows: Rows) -> None:
            super().write(rows)
            if next(batches) == 7:
                raise Interrupted

    monkeypatch.setitem(joule_sync._export.WRITERS, kind, StoppedMidway)
    with pytest.raises(Interrupted):
        node.export(path, target)
    monkeypatch.setitem(joule_sync._export.WRITERS, kind, writer_class)
    if suffix == ".parquet":
        assert not target.exists()  # never a complete-looking file of part of the rows
    assert node.export(path, target, resume=True).resumed_after is not None
    same_file(suffix, target, reference)


@pytest.mark.parametrize(("suffix", "cut"), [(".csv", 17), (".csv", -1), (".npy", 13)])
def test_a_file_cut_inside_a_row_resumes_to_the_same_bytes(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    suffix: str,
    cut: int,
) -> None:
    """Cut ``cut`` bytes after the start of a row halfway (-1: a line without its newline)."""
    _, _, path = stream
    reference, target = tmp_path / f"reference{suffix}", tmp_path / f"cut{suffix}"
    node.export(path, reference)
    whole = reference.read_bytes()
    halfway = whole.index(b"\n", len(whole) // 2) + 1 if suffix == ".csv" else 256 + 20 * 150_000
    target.write_bytes(whole[: halfway + cut])
    result = node.export(path, target, resume=True)
    assert result.resumed_after is not None
    assert target.read_bytes() == whole


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_a_file_cut_before_its_first_row_resumes_to_the_same_bytes(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    suffix: str,
) -> None:
    _, _, path = stream
    reference, target = tmp_path / f"reference{suffix}", tmp_path / f"cut{suffix}"
    node.export(path, reference)
    header_bytes = 10 if suffix == ".csv" else 256  # inside the CSV header, after the npy one
    target.write_bytes(reference.read_bytes()[:header_bytes])
    assert node.export(path, target, resume=True).resumed_after is None
    assert target.read_bytes() == reference.read_bytes()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_resuming_a_complete_export_changes_nothing(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    suffix: str,
) -> None:
    _, rows, path = stream
    target = tmp_path / f"done{suffix}"
    node.export(path, target)
    before = READERS[suffix](target)
    result = node.export(path, target, resume=True)
    assert (result.rows, result.resumed_after) == (0, rows["timestamp"][-1])
    after = READERS[suffix](target)
    assert after[0] == before[0] and after[1].tobytes() == before[1].tobytes()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_resume_refuses_a_file_of_other_columns(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    suffix: str,
) -> None:
    _, rows, path = stream
    target = tmp_path / f"other{suffix}"
    node.export(path, target, end=int(rows["timestamp"][10]), elements=[0, 1])
    with pytest.raises(DataError, match="cannot resume"):
        node.export(path, target, resume=True)


@pytest.mark.usefixtures("small_batches")
def test_a_csv_with_its_header_resumes_to_the_same_bytes(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The header line holds the intervals the export began with: a stopped export goes on
    with them, one cut inside its header begins again."""
    _, _, path = stream
    reference, target = tmp_path / "reference.csv", tmp_path / "stopped.csv"
    node.export(path, reference, csv_header=True)
    whole = reference.read_bytes()
    assert whole.startswith(b"# joule: {") and b"\ntimestamp,phase A," in whole
    batches = iter(range(1000))

    class StoppedMidway(joule_sync._export.CsvWriter):
        def write(self, rows: Rows) -> None:
            super().write(rows)
            if next(batches) == 7:
                raise Interrupted

    monkeypatch.setitem(joule_sync._export.WRITERS, "csv", StoppedMidway)
    with pytest.raises(Interrupted):
        node.export(path, target, csv_header=True)
    monkeypatch.setitem(joule_sync._export.WRITERS, "csv", joule_sync._export.CsvWriter)
    assert node.export(path, target, csv_header=True, resume=True).resumed_after is not None
    assert target.read_bytes() == whole
    for cut in (5, whole.index(b"\n") - 3, whole.index(b"\n") + 9):
        target.write_bytes(whole[:cut])
        assert node.export(path, target, csv_header=True, resume=True).resumed_after is None
        assert target.read_bytes() == whole
    with pytest.raises(DataError, match="cannot resume"):
        node.export(path, target, resume=True)  # without the header line this export has
    with pytest.raises(ConfigurationError, match="csv_header is for CSV files"):
        node.export(path, tmp_path / "power.h5", csv_header=True)


# -- memory ----------------------------------------------------------------------------------

MEMORY_ROWS = 800_000
MEMORY_LAYOUT = "float64_32"  # 264 bytes a row: 211 MB of rows (wide: the node stores rows,
# not bytes, at its pace, so few wide rows load quickly)

EXPORT_PEAK_MEMORY = """
import json, sys
import joule_sync
from peak_memory import peak_mib, start_measuring

url, key, path, folder = sys.argv[1:]
with joule_sync.Node(url, key) as node:
    # warm up: imports, connection
    node.export(path, f"{folder}/warm-up.parquet", end=node.data_intervals(path)[0][0] + 10**6)
    node.export(path, f"{folder}/warm-up.h5", end=node.data_intervals(path)[0][0] + 10**6)
    before = start_measuring()
    for suffix in (".csv", ".parquet", ".npy", ".h5"):
        node.export(path, f"{folder}/big{suffix}")
    exported = {"before": before, "peak": peak_mib()}
    # each file read back whole, the node missing its last rows: those are written
    last = node.data_intervals(path)[-1][1] - 1
    node.export(path, f"{folder}/warm-up.csv", end=node.data_intervals(path)[0][0] + 10**6)
    for suffix in (".csv", ".parquet", ".h5"):
        node.data_import(f"{folder}/warm-up{suffix}", path)  # imports, pyarrow's threads
    before = start_measuring()
    for suffix in (".csv", ".parquet", ".npy", ".h5"):
        node.data_delete(path, start=last - 10**7)
        assert node.data_import(f"{folder}/big{suffix}", path).rows == 10_001
    print(json.dumps({"export": exported, "import": {"before": before, "peak": peak_mib()}}))
"""


def test_exporting_and_importing_millions_of_rows_keeps_memory_bounded(
    node: joule_sync.Node, joule_node: DevNode, tmp_path: Path
) -> None:
    path = f"/export/{uuid.uuid4().hex[:8]}/wide"
    stream = node.data_stream_create(
        joule_sync.DataStream(
            name="wide", datatype="float64", elements=[Element(name=f"e{i}") for i in range(32)]
        ),
        path.rsplit("/", 1)[0],
    )
    with node.data_write(stream) as pipe:
        for first in range(0, MEMORY_ROWS, 200_000):
            pipe.write(make_rows(MEMORY_LAYOUT, 200_000, start=10**15 + first * 1000, seed=first))
    stdout = run_script(EXPORT_PEAK_MEMORY, joule_node.url, joule_node.key, path, str(tmp_path))
    assert len(np.load(tmp_path / "big.npy", mmap_mode="r")) == MEMORY_ROWS
    for rss in json.loads(stdout).values():
        assert rss["peak"] < 300, rss
        # the rows are 211 MB: holding even half of them would show
        assert rss["peak"] - rss["before"] < 100, rss


# -- HDF5 with upstream's CLI ----------------------------------------------------------------


@dataclass(frozen=True)
class UpstreamCli:
    """Upstream's ``joule`` CLI, with the session node registered as 'upstream' in a config
    dir of its own."""

    executable: Path
    config_dir: Path

    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.executable), *args],
            env={**os.environ, "JOULE_USER_CONFIG_DIR": str(self.config_dir)},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"joule {' '.join(args)}: {done.stdout}{done.stderr}"
        return done


@pytest.fixture(scope="module")
def upstream(joule_node: DevNode, tmp_path_factory: pytest.TempPathFactory) -> UpstreamCli:
    joule = UpstreamCli(joule_node.venv / "bin" / "joule", tmp_path_factory.mktemp("joule"))
    joule("node", "add", "upstream", joule_node.url, joule_node.key)
    return joule


def test_upstream_ingest_reads_our_hdf5_into_a_new_stream(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    upstream: UpstreamCli,
) -> None:
    _, rows, path = stream
    target = tmp_path / "ours.h5"
    node.export(path, target)
    copy = f"/export/ingested_{uuid.uuid4().hex[:8]}/power"
    upstream("data", "ingest", str(target), "--stream", copy)
    # created from our element_json, filled from our datasets (in one interval: HDF5
    # files have no breaks)
    created = node.data_stream_get(copy)
    assert created.datatype == "float32"
    assert [(e.name, e.units) for e in created.elements] == [(n, "W") for n in NAMES]
    assert node.data_read_array(copy).tobytes() == rows.tobytes()


def test_upstream_ingest_finds_the_stream_by_our_path_attribute(
    node: joule_sync.Node, tmp_path: Path, upstream: UpstreamCli
) -> None:
    path = f"/export/{uuid.uuid4().hex[:8]}/refill"
    created = node.data_stream_create(
        joule_sync.DataStream(name="refill", datatype="int32", elements=[Element(name="n")]),
        path.rsplit("/", 1)[0],
    )
    rows = make_rows("int32_1", 50_000)
    with node.data_write(created) as pipe:
        pipe.write(rows)
    target = tmp_path / "refill.h5"
    node.export(created.id, target)  # by id: the path attribute must still be the path
    node.data_delete(created)
    done = upstream("data", "ingest", str(target), stdin="y\n")
    assert f"Destination stream: {path}" in done.stdout
    assert node.data_read_array(created).tobytes() == rows.tobytes()


def test_upstream_read_file_holds_what_our_export_holds(
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    upstream: UpstreamCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Upstream's datasets and attributes (compressed with LZF where upstream's use gzip), and
    our intervals beside them; each side reads the other's file."""
    _, rows, path = stream
    theirs, ours = tmp_path / "theirs.h5", tmp_path / "ours.h5"
    upstream("data", "read", path, "--file", str(theirs), "--elements", "2,0")
    # the same node, found the same way: get_node() reads the CLI's config
    monkeypatch.setenv("JOULE_USER_CONFIG_DIR", str(upstream.config_dir))
    monkeypatch.delenv("JOULE_URL", raising=False)
    with joule_sync.get_node("upstream") as configured:
        configured.export(path, ours, elements=[2, 0])
        intervals = configured.data_intervals(path)
        copy = f"/export/theirs_{uuid.uuid4().hex[:8]}/power"
        assert configured.data_import(theirs, copy).created
        # their rows, their elements, in one interval: their file keeps no breaks
        assert configured.data_read_array(copy).tobytes() == selected(rows, [2, 0]).tobytes()
        assert [e.name for e in configured.data_stream_get(copy).elements] == [NAMES[2], NAMES[0]]
        assert configured.data_intervals(copy) == [[intervals[0][0], intervals[-1][1]]]
    with h5py.File(theirs) as expected, h5py.File(ours) as got:
        assert set(expected) == {"data", "timestamp"}
        assert set(got) == {"data", "timestamp", "intervals"}
        assert got["intervals"][:].tolist() == intervals
        assert dict(got.attrs) == dict(expected.attrs)
        for name in ("data", "timestamp"):
            assert got[name].dtype == expected[name].dtype
            assert got[name].shape == expected[name].shape
            assert (got[name].compression, expected[name].compression) == ("lzf", "gzip")
            assert np.array_equal(got[name][:], expected[name][:])
    assert read_hdf5(theirs)[1].tobytes() == selected(rows, [2, 0]).tobytes()


def test_our_resume_continues_a_file_upstream_started(
    node: joule_sync.Node,
    stream: tuple[joule_sync.DataStream, Rows, str],
    tmp_path: Path,
    upstream: UpstreamCli,
) -> None:
    _, rows, path = stream
    target = tmp_path / "started.h5"
    halfway = int(rows["timestamp"][150_000])
    upstream("data", "read", path, "--end", str(halfway), "--file", str(target))
    result = node.export(path, target, resume=True)
    assert (result.resumed_after, result.rows) == (rows["timestamp"][149_999], ROWS - 150_000)
    assert read_hdf5(target)[1].tobytes() == rows.tobytes()


def test_csv_header_quotes_names_with_commas(node: joule_sync.Node, tmp_path: Path) -> None:
    path = f"/export/{uuid.uuid4().hex[:8]}/odd"
    created = node.data_stream_create(
        joule_sync.DataStream(
            name="odd", datatype="int16", elements=[Element(name='a, "b"'), Element(name="c")]
        ),
        path.rsplit("/", 1)[0],
    )
    with node.data_write(created) as pipe:
        pipe.write(make_rows("int16_2", 10))
    target = tmp_path / "odd.csv"
    node.export(created, target)
    header = next(csv.reader(io.StringIO(target.read_text())))
    assert header == ["timestamp", 'a, "b"', "c"]
    node.export(created, target, resume=True)  # the quoted header is recognised as its own
