"""Rows as tables: pandas, Arrow and polars, each an optional extra.

Every table has the row timestamps as UTC datetimes (the index, for pandas), one column
per element named after it (``<name>_mean``, ``<name>_min``, ``<name>_max`` for decimated
reads), and an ``interval`` column numbering the runs of data between interval breaks:
rows with the same number were recorded without a break.

Events become tables too (``events_to_pandas``, ``events_to_arrow``): one row per event,
its ``start``, ``end`` and ``id``, and one column per content key, built page by page.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import codec
from ._errors import ConfigurationError
from ._models import Event

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow

Rows = npt.NDArray[np.void]

INTERVAL_COLUMN = "interval"


def require(module: str, extra: str) -> Any:
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigurationError(
            f"{module} is not installed: pip install 'joule-sync[{extra}]'"
        ) from exc


def column_names(element_names: Sequence[str], decimated: bool) -> list[str]:
    """Element names as columns; decimated reads have mean, min and max of each."""
    names = _unique(list(element_names))
    if not decimated:
        return names
    return [f"{n}_{stat}" for stat in ("mean", "min", "max") for n in names]


def interval_numbers(rows: int, interval_ends: Sequence[int]) -> npt.NDArray[np.int32]:
    """For each row, how many interval breaks come before it."""
    ends = np.asarray(interval_ends, dtype=np.int64)
    return np.searchsorted(ends, np.arange(rows), side="right").astype(np.int32)


def to_pandas(
    data: Rows, interval_ends: Sequence[int], element_names: Sequence[str], decimated: bool
) -> pandas.DataFrame:
    pd = require("pandas", "pandas")
    index = pd.DatetimeIndex(data["timestamp"].astype("datetime64[us]"), name="timestamp")
    # decimated rows hold all means, then all minimums, then all maximums: the order
    # column_names lists them in, so the 2-D values line up as they are
    frame = pd.DataFrame(
        _values(data),
        columns=column_names(element_names, decimated),
        index=index.tz_localize("UTC"),
    )
    frame[INTERVAL_COLUMN] = interval_numbers(len(data), interval_ends)
    result: pandas.DataFrame = frame
    return result


def to_arrow(
    data: Rows,
    interval_ends: Sequence[int],
    element_names: Sequence[str],
    decimated: bool,
    first_interval: int = 0,
) -> pyarrow.Table:
    """The rows as an Arrow table; their ``interval`` numbers start at ``first_interval``."""
    pa = require("pyarrow", "arrow")
    table = arrow_table(data["timestamp"], _values(data), column_names(element_names, decimated))
    numbers = interval_numbers(len(data), interval_ends) + first_interval
    return table.append_column(INTERVAL_COLUMN, pa.array(numbers))


def arrow_table(
    timestamps: npt.NDArray[np.int64], values: npt.NDArray[Any], names: Sequence[str]
) -> pyarrow.Table:
    """``timestamp`` (UTC, µs) and one column per name, from the values' columns.

    Each column is copied by numpy, and Arrow takes the copy as it is: memory freed goes
    back to the system at once, where pyarrow's pool (mimalloc) holds on to it a while,
    which made a stream of batches peak up to twice as high (README, "Arrow streams")."""
    pa = require("pyarrow", "arrow")
    utc = pa.timestamp("us", tz="UTC")
    columns = {"timestamp": pa.array(np.ascontiguousarray(timestamps), type=utc)}
    for i, name in enumerate(names):
        columns[name] = pa.array(np.ascontiguousarray(values[:, i]))
    return pa.table(columns)


def to_polars(
    data: Rows, interval_ends: Sequence[int], element_names: Sequence[str], decimated: bool
) -> polars.DataFrame:
    pl = require("polars", "polars")
    frame: polars.DataFrame = pl.from_arrow(to_arrow(data, interval_ends, element_names, decimated))
    return frame


def numbered_pandas_chunks(
    chunks: Iterable[codec.Decoded], names: list[str]
) -> Iterator[pandas.DataFrame]:
    """DataFrames of the chunks, their intervals numbered on from one chunk to the next."""
    for chunk, first_interval in numbered_chunks(chunks):
        frame = to_pandas(chunk.data, chunk.interval_ends, names, False)
        frame[INTERVAL_COLUMN] += first_interval
        yield frame


def numbered_chunks(chunks: Iterable[codec.Decoded]) -> Iterator[tuple[codec.Decoded, int]]:
    """Each chunk with the number of its first interval: the breaks in the chunks before it,
    so that the numbers count on from one chunk to the next."""
    breaks_before = 0
    for chunk in chunks:
        yield chunk, breaks_before
        breaks_before += len(chunk.interval_ends)


def _values(data: Rows) -> npt.NDArray[Any]:
    """The elements as a 2-D array, one row per row; its width from the dtype, because
    numpy cannot infer it (``reshape(0, -1)``) when there are no rows."""
    width = int(np.prod(data.dtype["data"].shape))
    return data["data"].reshape(len(data), width)


def _unique(names: list[str], taken: Iterable[str] = ()) -> list[str]:
    """Names made unique (``x``, ``x_1``...) so that no column hides another, nor one of
    the ``taken`` names."""
    used = set(taken)
    result = []
    for name in names:
        unique, count = name, 0
        while unique in used:  # "x", "x", "x_1" gives x, x_1, x_1_1
            count += 1
            unique = f"{name}_{count}"
        used.add(unique)
        result.append(unique)
    return result


# -- events ------------------------------------------------------------------------------------

EVENT_COLUMNS = ("start", "end", "id")
"""The columns of every event table, before the content keys (the DataFrame's index is
``id``); a content key of one of these names is renamed as element names are (``start_1``)."""
NOT_ENDED = np.iinfo(np.int64).min
"""The end of an event that is still going on: NaT, as numpy stores it in int64."""
INT53 = 1 << 53
"""Integers up to this size are exactly float64: a column of them and floats is float."""

KIND_DTYPES: dict[str, np.dtype[Any]] = {
    "null": np.dtype(object),  # no event has a value under the key (missing or JSON null)
    "bool": np.dtype(np.bool_),
    "int53": np.dtype(np.int64),  # integers that float64 holds exactly
    "int": np.dtype(np.int64),
    "float": np.dtype(np.float64),
    "str": np.dtype(object),
    "json": np.dtype(object),  # mixed types, lists, objects, integers beyond int64
}
"""What a content column holds: the one JSON type of all its values (null: none), as
numpy stores it."""


@dataclass(frozen=True)
class ContentColumn:
    kind: str
    values: npt.NDArray[Any]
    """Of the kind's dtype; where ``missing``, a placeholder (0, False, None)."""
    missing: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class EventPage:
    """A page of events as columns: numbers in numpy arrays, not one object per event."""

    ids: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    """``NOT_ENDED`` where the event is still going on."""
    content: dict[str, ContentColumn]
    """One column per key some event of the page has, in the order first seen."""

    def __len__(self) -> int:
        return len(self.ids)

    def column(self, key: str, kind: str) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
        """The values under ``key`` as ``kind`` (which ``merge_kinds`` allows), and where
        they are missing."""
        found = self.content.get(key)
        if found is None or found.kind == "null":
            return _placeholders(len(self), kind), np.ones(len(self), np.bool_)
        if found.kind == kind or {found.kind, kind} == {"int53", "int"}:
            return found.values, found.missing
        if kind == "float":  # from int53: exact
            return found.values.astype(np.float64), found.missing
        as_objects = _objects(found.values.tolist())  # json: the values as Python objects
        as_objects[found.missing] = None
        return as_objects, found.missing


def event_page(events: Sequence[Event]) -> EventPage:
    """The events as columns."""
    size = len(events)
    by_key: dict[str, list[Any]] = {}
    for row, event in enumerate(events):
        for key, value in event.content.items():
            values = by_key.get(key)
            if values is None:
                values = by_key[key] = [None] * size
            values[row] = value
    return EventPage(
        np.fromiter((e.id for e in events), np.int64, size),
        np.fromiter((e.start_time for e in events), np.int64, size),
        np.fromiter(
            (NOT_ENDED if e.end_time is None else e.end_time for e in events), np.int64, size
        ),
        {key: _content_column(values) for key, values in by_key.items()},
    )


def _content_column(values: list[Any]) -> ContentColumn:
    missing = np.fromiter((v is None for v in values), np.bool_, len(values))
    present = [v for v in values if v is not None]
    kind = _kind(present)
    dtype = KIND_DTYPES[kind]
    if dtype.kind == "O":
        column = _objects(values)
    else:
        column = np.array([0 if v is None else v for v in values], dtype)
    return ContentColumn(kind, column, missing)


def _kind(present: list[Any]) -> str:
    """The kind of these values (none of them None); bool is not a number, as in JSON."""
    types = {type(v) for v in present}
    if not types:
        return "null"
    if types == {bool}:
        return "bool"
    if types == {str}:
        return "str"
    if not types <= {int, float}:
        return "json"
    integers = [v for v in present if type(v) is int]
    if integers and not -(1 << 63) <= min(integers) <= max(integers) < 1 << 63:
        return "json"  # beyond int64: kept as it came
    exact = all(-INT53 <= v <= INT53 for v in integers)
    if float in types:
        return "float" if exact else "json"
    return "int53" if exact else "int"


def merge_kinds(kinds: dict[str, str], page: EventPage) -> None:
    """Add the page's content columns to ``kinds`` (key to kind, in the order first seen):
    the kind of a key is the one kind that holds all its values so far."""
    for key, column in page.content.items():
        kinds[key] = _merged(kinds.get(key, "null"), column.kind)


def _merged(a: str, b: str) -> str:
    if a == b or b == "null":
        return a
    if a == "null":
        return b
    pair = {a, b}
    if pair == {"int53", "int"}:
        return "int"
    if pair == {"int53", "float"}:
        return "float"
    return "json"  # what no one type holds without loss: each value as it came


def event_column_names(kinds: dict[str, str]) -> list[str]:
    """The content columns' names: the keys, renamed where they would hide another column."""
    return _unique(list(kinds), taken=EVENT_COLUMNS)


def content_text(
    values: npt.NDArray[Any], missing: npt.NDArray[np.bool_], kind: str
) -> list[str | None]:
    """The values as text: strings as they are, anything else as JSON; None where missing."""
    if kind == "str":
        texts = values.tolist()
    else:  # non-ASCII text as it is, not as \u escapes
        texts = [json.dumps(v, ensure_ascii=False) for v in values.tolist()]
    return [None if gone else text for text, gone in zip(texts, missing.tolist(), strict=True)]


def events_to_pandas(pages: Iterable[Sequence[Event]]) -> pandas.DataFrame:
    """One row per event, indexed by ``id``: ``start`` and ``end`` (UTC; NaT for an event
    still going on), then one column per content key.

    Each page becomes columns as it comes, so the events' objects never pile up.  A key
    that some events lack is NA there; its column's type holds all its values: ``bool``
    (``boolean`` with NA), ``int64`` (``Int64`` with NA), ``float64`` (integers and floats,
    NaN for NA), strings, else Python objects (mixed types, lists, dicts).
    """
    pd = require("pandas", "pandas")
    collected = [event_page(events) for events in pages]
    kinds: dict[str, str] = {}
    for page in collected:
        merge_kinds(kinds, page)
    columns = {
        "start": _utc(pd, _joined([p.starts for p in collected], np.int64)),
        "end": _utc(pd, _joined([p.ends for p in collected], np.int64)),
    }
    for name, kind, values, missing in _content_columns(collected, kinds):
        columns[name] = _pandas_column(pd, kind, values, missing)
    ids = _joined([p.ids for p in collected], np.int64)
    frame: pandas.DataFrame = pd.DataFrame(columns, index=pd.Index(ids, name="id"))
    return frame


def events_to_arrow(pages: Sequence[EventPage], kinds: dict[str, str]) -> pyarrow.Table:
    """``start``, ``end`` (UTC, µs; null for an event still going on), ``id``, then a column
    per key of ``kinds``, of the type its kind says: JSON text for ``json`` (the field's
    metadata says ``encoding: json``)."""
    pa = require("pyarrow", "arrow")
    utc = pa.timestamp("us", tz="UTC")
    ends = _joined([p.ends for p in pages], np.int64)
    fields = [pa.field("start", utc), pa.field("end", utc), pa.field("id", pa.int64())]
    arrays = [
        pa.array(_joined([p.starts for p in pages], np.int64), type=utc),
        pa.array(ends, type=utc, mask=ends == NOT_ENDED),
        pa.array(_joined([p.ids for p in pages], np.int64)),
    ]
    for name, kind, values, missing in _content_columns(pages, kinds):
        if kind in ("json", "null"):
            fields.append(pa.field(name, pa.string(), metadata={"encoding": "json"}))
            arrays.append(pa.array(content_text(values, missing, kind), type=pa.string()))
        else:
            column = pa.array(values, mask=missing, type=_ARROW_TYPES[kind](pa))
            fields.append(pa.field(name, column.type))
            arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _content_columns(
    pages: Sequence[EventPage], kinds: dict[str, str]
) -> Iterator[tuple[str, str, npt.NDArray[Any], npt.NDArray[np.bool_]]]:
    """Each content column of the pages: its name, kind, values and where they are missing."""
    for (key, kind), name in zip(kinds.items(), event_column_names(kinds), strict=True):
        parts = [page.column(key, kind) for page in pages]
        values = _joined([v for v, _ in parts], KIND_DTYPES[kind])
        yield name, kind, values, _joined([m for _, m in parts], np.bool_)


_ARROW_TYPES: dict[str, Callable[[Any], Any]] = {
    "bool": lambda pa: pa.bool_(),
    "int53": lambda pa: pa.int64(),
    "int": lambda pa: pa.int64(),
    "float": lambda pa: pa.float64(),
    "str": lambda pa: pa.string(),
}


def _pandas_column(
    pd: Any, kind: str, values: npt.NDArray[Any], missing: npt.NDArray[np.bool_]
) -> Any:
    if kind == "bool" and missing.any():
        return pd.arrays.BooleanArray(values, missing)
    if kind in ("int53", "int") and missing.any():
        return pd.arrays.IntegerArray(values, missing)
    if kind == "float":
        values[missing] = np.nan
    if kind in ("json", "null"):
        return pd.array(values, dtype=object)  # kept as objects, even where all are text
    return values  # strings: pandas's own string type (str in pandas 3, NaN for NA)


def _utc(pd: Any, microseconds: npt.NDArray[np.int64]) -> Any:
    """UTC datetimes of µs; ``NOT_ENDED`` is NaT."""
    return pd.DatetimeIndex(microseconds.view("datetime64[us]")).tz_localize("UTC")


def _placeholders(size: int, kind: str) -> npt.NDArray[Any]:
    """Values of ``kind`` for rows that have none: 0, False or None."""
    dtype = KIND_DTYPES[kind]
    return np.empty(size, object) if dtype.kind == "O" else np.zeros(size, dtype)


def _objects(values: list[Any]) -> npt.NDArray[np.object_]:
    """An array of the values as they are (slice assignment would spread lists over rows)."""
    return np.fromiter(values, object, len(values))


def _joined(arrays: list[npt.NDArray[Any]], dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """One array of the pages' arrays (an empty one of ``dtype`` when there are none)."""
    return np.concatenate(arrays) if arrays else np.empty(0, dtype)
