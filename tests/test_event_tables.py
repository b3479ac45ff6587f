"""Events as tables on the real node: ``event_stream_read_dataframe`` against
``event_stream_read_list``, and event streams exported to Parquet and CSV (by ``Node.export``
and ``joule-sync export``) read back to the same table; the formats that hold arrays of
numbers only are refused before anything is written.  Columns whose values no one type
holds, and events still going on (which the node's write refuses, so only ``_tables`` can be
given them), are checked without a node.
"""

from __future__ import annotations

import csv
import json
import math
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import joule_sync
from joule_sync import ConfigurationError, Event, EventStream
from joule_sync._cli import EXIT_ERROR, main
from joule_sync._tables import event_page, events_to_arrow, events_to_pandas, merge_kinds
from joule_sync.devnode import DevNode

EVENTS = 2_500  # three pages of the node's reads
FIRST = 1_700_000_000_000_000
STEP = 1_000


def content(i: int) -> dict[str, Any]:
    """Strings, integers with floats (a float column), integers, booleans some events lack,
    lists (JSON), and a key named as a column the table has (``id``, renamed ``id_1``)."""
    values: dict[str, Any] = {"name": f"e{i % 7}", "value": i if i % 2 else i + 0.5, "count": i}
    if i % 3 == 0:
        values["flag"] = i % 2 == 0
    if i % 5 == 0:
        values["tags"] = ["a", i]
    if i == 7:
        values["id"] = "clash"
    return values


@pytest.fixture(scope="module")
def events(joule_node: DevNode) -> Iterator[tuple[str, list[Event]]]:
    """An event stream of EVENTS events (every tenth lasting long enough to be going on at
    the start of the next ones); its path and the events as the node returns them."""
    path = f"/event-tables/{uuid.uuid4().hex[:8]}/events"
    with joule_sync.Node(joule_node.url, joule_node.key) as node:
        stream = node.event_stream_get(path, create=True)
        written = [
            Event(FIRST + i * STEP, FIRST + i * STEP + (2_500 if i % 10 == 0 else 500), content(i))
            for i in range(EVENTS)
        ]
        node.event_stream_write(stream, written)
        yield path, node.event_stream_read_list(stream, limit=EVENTS + 1)


def _plain(value: Any) -> Any:
    """A table's value as the event holds it: None for NA."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _content_columns(expected: list[Event]) -> tuple[list[str], list[str]]:
    """The content keys in the order first seen (the node's, which sorts them) and the
    columns they are, ``id`` renamed."""
    keys = list(dict.fromkeys(k for e in expected for k in e.content))
    return keys, [k if k not in ("start", "end", "id") else f"{k}_1" for k in keys]


def _assert_frame_holds(frame: pd.DataFrame, expected: list[Event]) -> None:
    assert frame.index.name == "id"
    assert frame.index.tolist() == [e.id for e in expected]
    for column in ("start", "end"):
        assert str(frame[column].dtype) == "datetime64[us, UTC]"
    assert frame["start"].astype("int64").tolist() == [e.start_time for e in expected]
    assert frame["end"].astype("int64").tolist() == [e.end_time for e in expected]
    keys, names = _content_columns(expected)
    assert list(frame.columns) == ["start", "end", *names]
    for key, name in zip(keys, names, strict=True):
        assert [_plain(v) for v in frame[name]] == [e.content.get(key) for e in expected], key


def test_the_dataframe_holds_what_event_stream_read_list_does(
    node: joule_sync.Node, events: tuple[str, list[Event]]
) -> None:
    path, expected = events
    frame = node.event_stream_read_dataframe(path)
    _assert_frame_holds(frame, expected)
    assert len(frame) == EVENTS
    dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items()}
    assert dtypes == {
        "start": "datetime64[us, UTC]",
        "end": "datetime64[us, UTC]",
        "name": "str",
        "value": "float64",  # integers and floats
        "count": "int64",
        "flag": "boolean",  # missing in two events of three: NA
        "tags": "object",
        "id_1": "str",
    }


def test_the_dataframe_takes_a_filter_and_a_time_range(
    node: joule_sync.Node, events: tuple[str, list[Event]]
) -> None:
    path, _ = events
    start, end = FIRST + 1_001 * STEP, FIRST + 1_500 * STEP
    arguments: list[dict[str, Any]] = [
        {"start": start, "end": end},  # the event going on at start is included
        {"json_filter": [[["name", "is", "e3"]]]},
        {"start": start, "json_filter": '[[["count", "lt", 1200]]]'},
    ]
    for given in arguments:
        expected = node.event_stream_read_list(path, **given)
        assert expected, given
        _assert_frame_holds(node.event_stream_read_dataframe(path, **given), expected)
    assert node.event_stream_read_dataframe(path, start)["start"].iloc[0] < pd.Timestamp(
        start, unit="us", tz="UTC"
    )


def test_an_empty_stream_gives_an_empty_frame_and_files_with_the_time_columns(
    node: joule_sync.Node, tmp_path: Path
) -> None:
    stream = node.event_stream_create(EventStream("empty"), f"/event-tables/{uuid.uuid4().hex[:8]}")
    frame = node.event_stream_read_dataframe(stream)
    assert frame.empty and list(frame.columns) == ["start", "end"] and frame.index.name == "id"
    assert all(str(t) == "datetime64[us, UTC]" for t in frame.dtypes)
    assert node.export(stream, tmp_path / "e.csv").rows == 0
    assert (tmp_path / "e.csv").read_text() == "start,end,id\n"
    node.export(stream, tmp_path / "e.parquet")
    table = pq.read_table(tmp_path / "e.parquet")
    assert table.num_rows == 0 and table.column_names == ["start", "end", "id"]


def _expected_table(expected: list[Event]) -> list[dict[str, Any]]:
    """The rows an export of these events holds: times in µs, lists as JSON text, the
    integers among ``value``'s floats as floats."""
    keys, names = _content_columns(expected)
    rows = []
    for e in expected:
        row: dict[str, Any] = {"start": e.start_time, "end": e.end_time, "id": e.id}
        for key, name in zip(keys, names, strict=True):
            value = e.content.get(key)
            row[name] = float(value) if key == "value" and value is not None else value
            if isinstance(value, list):
                row[name] = json.dumps(value)
        rows.append(row)
    return rows


def _read_parquet(path: Path) -> tuple[pa.Schema, list[dict[str, Any]]]:
    table = pq.read_table(path)
    for name in ("start", "end"):
        column = table.column(name).cast(pa.int64())
        table = table.set_column(table.column_names.index(name), name, column)
    return pq.read_schema(path), table.to_pylist()


def _read_csv(path: Path, schema: pa.Schema) -> tuple[list[str], list[dict[str, Any]]]:
    """The CSV's header and rows, each text parsed as the type ``schema`` gives its column
    (the times as integers)."""
    parse: dict[Any, Callable[[str], Any]] = {
        pa.int64(): int,
        pa.float64(): float,
        pa.bool_(): lambda t: t == "true",
    }
    types = {f.name: f.type for f in schema} | {"start": pa.int64(), "end": pa.int64()}
    with path.open(newline="") as file:
        reader = csv.reader(file)
        header = next(reader)
        rows = [
            {
                name: None if text == "" else parse.get(types[name], str)(text)
                for name, text in zip(header, row, strict=True)
            }
            for row in reader
        ]
    return header, rows


def test_parquet_and_csv_exports_read_back_to_the_events(
    node: joule_sync.Node,
    events: tuple[str, list[Event]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, expected = events
    result = node.export(path, tmp_path / "ev.parquet", progress=True)
    assert (result.format, result.rows, result.resumed_after) == ("parquet", EVENTS, None)
    assert "export ev.parquet [####################] 100% 2,500 rows" in capsys.readouterr().err
    schema, rows = _read_parquet(tmp_path / "ev.parquet")
    assert schema.names == ["start", "end", "id", *_content_columns(expected)[1]]
    assert [str(f.type) for f in schema][:3] == ["timestamp[us, tz=UTC]"] * 2 + ["int64"]
    assert schema.field("tags").metadata == {b"encoding": b"json"}
    assert rows == _expected_table(expected)
    assert node.export(path, tmp_path / "ev.csv").rows == EVENTS
    assert _read_csv(tmp_path / "ev.csv", schema) == (schema.names, rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev.csv", "ev.parquet"]

    start, end = FIRST + 100 * STEP, FIRST + 200 * STEP
    node.export(path, tmp_path / "range.csv", start=start, end=end)
    in_range = node.event_stream_read_list(path, start, end)
    header, rows = _read_csv(tmp_path / "range.csv", schema)
    assert header == ["start", "end", "id", *_content_columns(in_range)[1]]  # their keys only
    assert rows == _expected_table(in_range)


def test_formats_of_numbers_only_and_data_options_are_refused_before_anything_is_written(
    node: joule_sync.Node, events: tuple[str, list[Event]], tmp_path: Path
) -> None:
    path, _ = events
    for name, format in [("ev.npy", None), ("ev.h5", None), ("ev.csv", "hdf5")]:
        with pytest.raises(ConfigurationError, match=r"exports to csv or parquet \(.*\.csv"):
            node.export(path, tmp_path / name, format=format)
    with pytest.raises(ConfigurationError, match="elements"):
        node.export(path, tmp_path / "ev.csv", elements=["name"])
    with pytest.raises(ConfigurationError, match="written whole"):
        node.export(path, tmp_path / "ev.csv", resume=True)
    with pytest.raises(ConfigurationError, match="csv_header describes a data stream's rows"):
        node.export(path, tmp_path / "ev.csv", csv_header=True)
    assert list(tmp_path.iterdir()) == []
    existing = tmp_path / "ev.parquet"
    existing.write_text("precious")
    with pytest.raises(ConfigurationError, match="exists"):
        node.export(path, existing)
    assert existing.read_text() == "precious"


def test_joule_sync_export_writes_an_event_stream(
    joule_node: DevNode,
    events: tuple[str, list[Event]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, expected = events
    monkeypatch.setenv("JOULE_URL", joule_node.url)
    monkeypatch.setenv("JOULE_KEY", joule_node.key)
    target = tmp_path / "ev.parquet"
    assert main(["export", path, str(target), "-q"]) == 0
    assert f"{target}: 2,500 events of {path} as parquet" in capsys.readouterr().err
    assert _read_parquet(target)[1] == _expected_table(expected)
    assert main(["export", path, str(tmp_path / "ev.csv"), "-i", "name"]) == EXIT_ERROR
    assert "--elements picks a data stream's elements" in capsys.readouterr().err
    assert main(["export", path, str(tmp_path / "ev.npy")]) == EXIT_ERROR
    assert "exports to csv or parquet" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev.parquet"]


def test_columns_no_one_type_holds_and_events_still_going_on() -> None:
    """Page by page, a key's type widens only as far as its values need, never losing one."""
    pages = [
        [Event(10, None, {"n": 1, "mixed": 1, "big": 2**60, "huge": 2**60, "none": None}, id=1)],
        [Event(20, 30, {"n": 2.5, "mixed": "é", "huge": 0.5, "beyond": 2**64}, id=2)],
    ]
    frame = events_to_pandas(pages)
    assert frame["end"].isna().tolist() == [True, False]
    assert frame["n"].tolist() == [1.0, 2.5]
    assert frame["mixed"].tolist() == [1, "é"]
    assert str(frame["big"].dtype) == "Int64" and frame["big"].iloc[0] == 2**60
    assert frame["huge"].tolist() == [2**60, 0.5]  # no float64 holds 2**60 + 1 exactly
    assert frame["none"].tolist() == [None, None]
    assert frame["beyond"].tolist() == [None, 2**64]
    parsed = [event_page(page) for page in pages]
    kinds: dict[str, str] = {}
    for page in parsed:
        merge_kinds(kinds, page)
    table = events_to_arrow(parsed, kinds).to_pydict()
    assert table["end"][0] is None
    assert table["mixed"] == ["1", '"é"']
    assert table["huge"] == [str(2**60), "0.5"]
    assert table["beyond"] == [None, str(2**64)]
