"""Rows as tables: pandas, Arrow and polars, each an optional extra.

Every table has the row timestamps as UTC datetimes (the index, for pandas), one column
per element named after it (``<name>_mean``, ``<name>_min``, ``<name>_max`` for decimated
reads), and an ``interval`` column numbering the runs of data between interval breaks:
rows with the same number were recorded without a break.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import codec
from ._errors import ConfigurationError

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


def _unique(names: list[str]) -> list[str]:
    """Element names made unique (``x``, ``x_1``...) so that no column hides another."""
    seen: dict[str, int] = {}
    result = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}_{count}")
    return result
