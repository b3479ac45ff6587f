"""Rows as tables on the real node: pandas, Arrow and polars.

Each has the timestamps as UTC datetimes, one column per element named after it (with
``_mean``/``_min``/``_max`` when decimated) and an ``interval`` column numbering the runs of
rows between interval breaks.
"""

from __future__ import annotations

import sys
import uuid

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import joule_sync
from joule_sync import ConfigurationError, Element, codec
from joule_sync._tables import column_names
from rows import make_rows

NAMES = ["voltage", "current", "power factor"]
LAYOUT = "float32_3"


@pytest.fixture
def stream_with_breaks(node: joule_sync.Node) -> tuple[joule_sync.DataStream, np.ndarray]:
    """A float32_3 stream with named elements: 1000, 2000 and 3000 rows in three intervals."""
    stream = joule_sync.DataStream(
        name="frames", datatype="float32", elements=[Element(name=n) for n in NAMES]
    )
    stream = node.data_stream_create(stream, f"/frames/{uuid.uuid4().hex[:8]}")
    rows = make_rows(LAYOUT, 6000)
    rows["timestamp"][1000:] += 60_000_000
    rows["timestamp"][3000:] += 60_000_000
    with node.data_write(stream) as pipe:
        pipe.write(rows[:1000])
        pipe.close_interval()
        pipe.write(rows[1000:3000])
        pipe.close_interval()
        pipe.write(rows[3000:])
    return stream, rows


INTERVALS = [0] * 1000 + [1] * 2000 + [2] * 3000


def test_pandas_has_a_utc_index_named_columns_and_intervals(
    node: joule_sync.Node, stream_with_breaks: tuple[joule_sync.DataStream, np.ndarray]
) -> None:
    stream, rows = stream_with_breaks
    frame = node.data_read_dataframe(stream)
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert str(frame.index.tz) == "UTC" and frame.index.name == "timestamp"
    expected_index = pd.to_datetime(rows["timestamp"], unit="us", utc=True)
    assert (frame.index == expected_index).all()
    assert list(frame.columns) == [*NAMES, "interval"]
    assert frame[NAMES].dtypes.tolist() == [np.float32] * 3
    np.testing.assert_array_equal(frame[NAMES].to_numpy(), rows["data"])
    assert frame["interval"].tolist() == INTERVALS


def test_arrow_and_polars_hold_the_same_as_pandas(
    node: joule_sync.Node, stream_with_breaks: tuple[joule_sync.DataStream, np.ndarray]
) -> None:
    stream, rows = stream_with_breaks
    table = node.data_read_arrow(stream)
    assert table.column_names == ["timestamp", *NAMES, "interval"]
    assert table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert table["timestamp"].cast(pa.int64()).to_pylist() == rows["timestamp"].tolist()
    for i, name in enumerate(NAMES):
        assert table.schema.field(name).type == pa.float32()
        np.testing.assert_array_equal(table[name].to_numpy(), rows["data"][:, i])
    assert table["interval"].to_pylist() == INTERVALS

    frame = node.data_read_polars(stream)
    assert frame.columns == ["timestamp", *NAMES, "interval"]
    assert frame.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert frame["timestamp"].dt.epoch("us").to_list() == rows["timestamp"].tolist()
    np.testing.assert_array_equal(frame.select(NAMES).to_numpy(), rows["data"])
    assert frame["interval"].to_list() == INTERVALS


def test_decimated_tables_have_mean_min_max_columns(
    node: joule_sync.Node, stream_with_breaks: tuple[joule_sync.DataStream, np.ndarray]
) -> None:
    stream, _ = stream_with_breaks
    with node.data_read(stream, max_rows=500) as pipe:
        assert pipe.decimated
        blocks = list(pipe)
    decimated = np.concatenate([b.data for b in blocks])
    view = codec.decimated_view(decimated)
    breaks = sum(b.end_of_interval for b in blocks)

    expected_columns = [f"{n}_{s}" for s in ("mean", "min", "max") for n in NAMES]
    frame = node.data_read_dataframe(stream, max_rows=500)
    assert list(frame.columns) == [*expected_columns, "interval"]
    assert len(frame) == len(decimated)
    for stat in ("mean", "min", "max"):
        columns = [f"{n}_{stat}" for n in NAMES]
        np.testing.assert_array_equal(frame[columns].to_numpy(), view[stat])
    assert frame["interval"].max() == breaks == 2

    table = node.data_read_arrow(stream, max_rows=500)
    assert table.column_names == ["timestamp", *expected_columns, "interval"]
    polars_frame = node.data_read_polars(stream, max_rows=500)
    np.testing.assert_array_equal(
        polars_frame.select(expected_columns).to_numpy(), frame[expected_columns].to_numpy()
    )


def test_an_empty_range_gives_empty_tables_with_the_columns(
    node: joule_sync.Node, stream_with_breaks: tuple[joule_sync.DataStream, np.ndarray]
) -> None:
    stream, rows = stream_with_breaks
    gap = int(rows["timestamp"][999]) + 1000
    frame = node.data_read_dataframe(stream, gap, gap + 1000)
    assert len(frame) == 0 and list(frame.columns) == [*NAMES, "interval"]
    assert isinstance(frame.index, pd.DatetimeIndex) and str(frame.index.tz) == "UTC"
    assert node.data_read_arrow(stream, gap, gap + 1000).column_names == [
        "timestamp",
        *NAMES,
        "interval",
    ]
    assert node.data_read_polars(stream, gap, gap + 1000).shape == (0, 5)


def test_partitioned_tables_equal_one_read(
    node: joule_sync.Node, stream_with_breaks: tuple[joule_sync.DataStream, np.ndarray]
) -> None:
    stream, _ = stream_with_breaks
    assert node.data_read_arrow(stream, partitions=3).equals(node.data_read_arrow(stream))
    assert node.data_read_polars(stream, partitions=4).equals(node.data_read_polars(stream))


def test_dataframe_chunks_number_intervals_across_chunks(
    node: joule_sync.Node, stream_with_breaks: tuple[joule_sync.DataStream, np.ndarray]
) -> None:
    stream, _ = stream_with_breaks
    chunks = list(node.data_read_dataframe_chunks(stream, rows=1500))
    assert len(chunks) >= 2
    assert all(len(c) == 1500 for c in chunks[:-1])
    assert chunks[-1]["interval"].iloc[0] > 0  # the number carried over
    joined = pd.concat(chunks)
    assert joined.equals(node.data_read_dataframe(stream))


def test_duplicate_element_names_get_distinct_columns() -> None:
    assert column_names(["x", "y", "x"], decimated=False) == ["x", "y", "x_1"]
    assert column_names(["x", "x"], decimated=True) == [
        "x_mean",
        "x_1_mean",
        "x_min",
        "x_1_min",
        "x_max",
        "x_1_max",
    ]


@pytest.mark.parametrize(
    ("method", "module", "extra"),
    [
        ("data_read_dataframe", "pandas", "pandas"),
        ("data_read_arrow", "pyarrow", "arrow"),
        ("data_read_polars", "polars", "polars"),
    ],
)
def test_a_missing_extra_says_what_to_install(
    node: joule_sync.Node,
    stream_with_breaks: tuple[joule_sync.DataStream, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    module: str,
    extra: str,
) -> None:
    stream, _ = stream_with_breaks
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(ConfigurationError, match=rf"pip install 'joule-sync\[{extra}\]'"):
        getattr(node, method)(stream)
