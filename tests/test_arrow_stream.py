"""Arrow streams: ``data_read_batches`` against the real node, and what consumes it.

The reader's rows are those of ``data_read_array`` and its columns those of
``data_read_arrow``, in batches of the asked size; the read starts with the first batch and
ends when the reader is closed or dropped; DuckDB, polars and pyarrow take it through the
Arrow PyCapsule stream interface; a process reading a large range stays far below the
range's size, and needs no pandas.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pytest
import respx

import joule_sync
from joule_sync import DataStream, Element
from joule_sync.devnode import DevNode
from peak_memory import run_script
from rows import make_rows
from wire import STREAM_JSON

LAYOUT = "float32_3"
BREAKS = (1000, 1700)  # one on a batch edge, one inside a batch
COUNT = 2500
TOUR_QUERY = re.search(
    r'duckdb\.sql\("""(.+?)"""\)', (Path(__file__).parents[1] / "README.md").read_text(), re.S
)
"""The SQL of README's tour, run here as it is written there."""


@pytest.fixture
def power(node: joule_sync.Node) -> DataStream:
    """The tour's stream: elements a, b and c, 2,500 rows 1 ms apart in three intervals."""
    stream = node.data_stream_create(
        DataStream(name="power", elements=[Element(name=p, units="W") for p in "abc"]),
        f"/arrow/{uuid.uuid4().hex[:8]}",
    )
    rows = make_rows(LAYOUT, COUNT)
    with node.data_write(stream) as pipe:
        for first, last in zip((0, *BREAKS), (*BREAKS, COUNT), strict=True):
            pipe.write(rows[first:last])
            pipe.close_interval()
    return stream


class OnlyTheCapsule:
    """A stream known by ``__arrow_c_stream__`` alone, as a consumer sees any producer's."""

    def __init__(self, reader: pa.RecordBatchReader) -> None:
        self.reader = reader

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self.reader.__arrow_c_stream__(requested_schema)


def _busy_connections(node: joule_sync.Node) -> int:
    pool = node.transport.client._transport._pool  # httpcore's: what httpx does not show
    return len([c for c in pool.connections if not c.is_idle()])


def test_batches_hold_the_rows_of_an_array_read_and_the_columns_of_an_arrow_read(
    node: joule_sync.Node, power: DataStream
) -> None:
    batches = list(node.data_read_batches(power, rows=1000))
    assert [len(b) for b in batches] == [1000, 1000, 500]
    table = pa.Table.from_batches(batches)
    assert table.equals(node.data_read_arrow(power))  # schema and interval numbers too
    assert table["interval"].to_pylist() == [0] * 1000 + [1] * 700 + [2] * 800
    rows = node.data_read_array(power)
    assert table["timestamp"].cast(pa.int64()).to_numpy().tobytes() == rows["timestamp"].tobytes()
    values = np.column_stack([table[p].to_numpy() for p in "abc"])
    assert values.tobytes() == rows["data"].tobytes()


def test_the_read_starts_at_the_first_batch_and_ends_when_the_reader_is_closed_or_dropped(
    node: joule_sync.Node, power: DataStream
) -> None:
    reader = node.data_read_batches(power, rows=100)
    later = make_rows(LAYOUT, 10, start=1_800_000_000_000_000)
    with node.data_write(power) as pipe:  # after the call, before the first batch
        pipe.write(later)
    assert _busy_connections(node) == 0
    assert len(reader.read_next_batch()) == 100
    assert _busy_connections(node) == 1  # the read, 2,400 rows to go
    reader.close()
    assert _busy_connections(node) == 0
    with pytest.raises(pa.ArrowInvalid, match="closed"):
        reader.read_next_batch()

    reader = node.data_read_batches(power, rows=100)
    reader.read_next_batch()
    del reader
    assert _busy_connections(node) == 0

    with node.data_read_batches(power, start=1_800_000_000_000_000) as reader:
        assert reader.read_all()["timestamp"].cast(pa.int64()).to_pylist() == list(
            later["timestamp"]
        )


def test_an_empty_range_is_a_reader_of_the_columns_and_no_rows(
    node: joule_sync.Node, power: DataStream
) -> None:
    table = node.data_read_batches(power, start=1, end=2).read_all()
    assert table.num_rows == 0
    assert table.schema == node.data_read_arrow(power).schema


def test_the_tours_duckdb_query_runs_over_a_stream(
    node: joule_sync.Node, power: DataStream
) -> None:
    assert TOUR_QUERY is not None, "README's tour has no duckdb.sql query"
    batches = node.data_read_batches(power)  # noqa: F841 (the query names it)
    result = duckdb.sql(TOUR_QUERY.group(1)).pl()

    rows = node.data_read_array(power)
    tenths, first_rows, counts = np.unique(
        rows["timestamp"] // 100_000, return_index=True, return_counts=True
    )
    assert result["tenth"].dt.epoch("us").to_list() == (tenths * 100_000).tolist()
    assert result["n"].to_list() == counts.tolist()
    a_sums = np.add.reduceat(rows["data"][:, 0].astype(np.float64), first_rows)
    np.testing.assert_allclose(result["a"].to_numpy(), a_sums / counts, rtol=1e-12)
    assert result["c_max"].to_list() == np.maximum.reduceat(rows["data"][:, 2], first_rows).tolist()


def test_duckdb_polars_and_pyarrow_take_the_reader_through_its_capsule(
    node: joule_sync.Node, power: DataStream
) -> None:
    expected = node.data_read_arrow(power)
    frame = pl.DataFrame(OnlyTheCapsule(node.data_read_batches(power, rows=700)))  # 4 batches
    assert frame.equals(pl.from_arrow(expected))
    stream = OnlyTheCapsule(node.data_read_batches(power, rows=700))  # noqa: F841 (in the SQL)
    queried = duckdb.sql("select * from stream order by timestamp").pl()
    utc = pl.col("timestamp").dt.convert_time_zone("UTC")  # DuckDB names it as the OS does
    assert queried.with_columns(utc).equals(frame)
    assert pl.DataFrame(node.data_read_batches(power, rows=700)).equals(frame)
    assert pl.from_arrow(node.data_read_batches(power, rows=700)).equals(frame)
    assert pa.table(node.data_read_batches(power, rows=700)).equals(expected)
    capsule = OnlyTheCapsule(node.data_read_batches(power, rows=700))
    assert pa.RecordBatchReader.from_stream(capsule).read_all().equals(expected)


@pytest.mark.parametrize(
    ("layout", "body", "complaint"),
    [
        # rows of another type than the stream's: never read as garbage through the C stream
        ("int16_1", make_rows("int16_1", 3).tobytes(), "another layout than the stream's"),
        # a response that ends inside a row
        ("float32_1", make_rows("float32_1", 3).tobytes()[:-5], "left over"),
    ],
    ids=["another layout", "cut inside a row"],
)
def test_a_read_that_fails_raises_its_reason_through_the_reader(
    mocked_node: joule_sync.Node, mock: respx.MockRouter, layout: str, body: bytes, complaint: str
) -> None:
    mock.get("/stream.json").respond(json=STREAM_JSON)  # float32_1
    headers = {"joule-layout": layout, "joule-decimation": "1"}
    mock.get("/data").respond(content=body, headers=headers)
    reader = mocked_node.data_read_batches("/test/bulk/f32")
    with pytest.raises(pa.ArrowInvalid, match=complaint):
        reader.read_all()


# -- memory ----------------------------------------------------------------------------------

READ_PEAK_MEMORY = """
import importlib.machinery, json, sys

class NoPandas:  # import pandas fails as if it were not installed: nothing here needs it
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "pandas":
            return importlib.machinery.ModuleSpec(name, self)
    def create_module(self, spec):
        raise ModuleNotFoundError("No module named 'pandas'", name="pandas")
    def exec_module(self, module):
        pass

sys.meta_path.insert(0, NoPandas())
import duckdb, polars
duckdb.execute("set enable_progress_bar = false")  # it would print to stdout
import joule_sync
from peak_memory import peak_mib, start_measuring

url, key, stream_id = sys.argv[1:]
with joule_sync.Node(url, key) as node:
    stream = int(stream_id)
    first_ms = node.data_intervals(stream)[0][0] + 1000  # warm up: imports, connection
    assert len(polars.DataFrame(node.data_read_batches(stream, end=first_ms))) == 1
    duckdb.sql("select 1").fetchall()

    before = start_measuring()
    reader, rows = node.data_read_batches(stream, rows=5_000), 0
    while True:
        try:
            rows += len(reader.read_next_batch())
        except StopIteration:
            break
    read_mib = peak_mib() - before

    before = start_measuring()
    batches = node.data_read_batches(stream, rows=5_000)
    [(counted, top)] = duckdb.sql("select count(*), max(e31) from batches").fetchall()
    duckdb_mib = peak_mib() - before
assert "pandas" not in sys.modules
print(json.dumps({"rows": rows, "counted": counted, "read_mib": read_mib,
                  "duckdb_mib": duckdb_mib}))
"""


def test_reading_a_large_range_holds_a_few_batches_and_needs_no_pandas(
    node: joule_sync.Node, joule_node: DevNode
) -> None:
    """Peak resident memory of a process that reads the range batch by batch, then has DuckDB
    query it.  Wide rows give many bytes for few rows, which the node is slow to store."""
    layout, count = "float64_32", 250_000  # 63 MiB of rows; a batch of 5,000 is 1.3 MiB
    stream = node.data_stream_create(
        DataStream(name="wide", datatype="float64", elements=[Element(f"e{i}") for i in range(32)]),
        f"/arrow/{uuid.uuid4().hex[:8]}",
    )
    with node.data_write(stream) as pipe:
        for first in range(0, count, 125_000):
            pipe.write(make_rows(layout, 125_000, start=1_700_000_000_000_000 + first * 1000))
    measured = json.loads(
        run_script(READ_PEAK_MEMORY, joule_node.url, joule_node.key, str(stream.id))
    )
    data_mib = count * make_rows(layout, 1).itemsize / 2**20
    assert measured["rows"] == measured["counted"] == count
    # 7.6 and 12.0 to 13.5 MiB seen: about four batches at once, and what DuckDB holds
    assert measured["read_mib"] < data_mib / 4, measured
    assert measured["duckdb_mib"] < data_mib / 3, measured
