"""Streams as Dask DataFrames: partitioned reads on the workers, ordered writes (extra ``dask``).

::

    import joule_sync.dask as jd

    frame = jd.read_dataframe("/plant/power", start, end)  # one partition per ~2 M rows
    day = frame.loc[pd.Timestamp("2024-03-01", tz="UTC") : pd.Timestamp("2024-03-02", tz="UTC")]
    day.resample("1min").mean().compute()  # reads only the partitions of that day

Each partition is a time range of the stream, read by the worker that computes it over a
connection of its own.  The ranges are planned in the calling process from
``data_intervals`` and ``data_stream_info``: each holds the same time *with data* (gaps count
for nothing), so at a steady sample rate each holds about the same number of rows.  The
divisions are the partition start times, UTC timestamps like the index of
``Node.data_read_dataframe``, so ``.loc`` on a time range reads only the partitions it
touches.  Columns are those of ``data_read_dataframe``, including the ``interval`` column
numbered over the whole range: ``read_dataframe(s, a, b).compute()`` equals
``node.data_read_dataframe(s, a, b)`` row for row.  Open ends are fixed to the stream's
extent when the graph is built, so a retried partition reads exactly the same range: Dask
recomputes the partitions of a worker that dies, and ``compute(retries=n)`` also retries
reads that fail (a read that breaks off raises ``ConnectionFailed``).

How the workers get the API key
-------------------------------
A task graph is pickled to the scheduler, its task names are shown on the dashboard and may
be logged: it carries the node's URL and a ``NodeRef``, a *reference* to the key, never the
key itself (nor any data).  A worker looks the key up on its own machine when a task runs:

* ``NodeRef(url, name="plant")``: the node named ``plant`` in the joule configuration of the
  worker's machine (``joule node add plant URL KEY`` there, or the same ``nodes.json`` in
  ``$JOULE_USER_CONFIG_DIR``).  Its URL there must be the graph's URL.
* ``NodeRef(url)``: the worker's ``JOULE_KEY`` environment variable (another variable with
  ``key_variable=``), set where the workers are started (the environment of ``dask worker``,
  of a LocalCluster's parent process, of a deployment's containers).  If the worker also has
  ``JOULE_URL``, it must be the graph's URL: a key is never sent to another node than the one
  it was configured for.  ``JOULE_CA_FILE`` is honoured as by ``get_node``.

``node=`` takes a ``NodeRef``; a node name (``NodeRef(url, name=name)``); a connected
``Node`` (referenced by its name if this machine's configuration has it under that name with
the same URL, else by ``JOULE_KEY`` if this process's ``JOULE_URL`` is its URL); or nothing,
for the node ``get_node()`` picks, referenced the same way.  The planning requests run in the
calling process, which needs the key too.

Writes (``write_dataframe``) need no reference: the caller's process computes the partitions
on the cluster, a few ahead, and sends them in order over one upload, because a node ingests
one ordered stream per upload and its database, not the client, is what limits the rate.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import itertools
import math
import os
import socket
import sys
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

import numpy as np
import numpy.typing as npt

from . import _tables, codec
from ._arguments import require_count, stream_spec, time_range
from ._config import get_node
from ._errors import ConfigurationError, DataError
from ._export import element_columns
from ._models import DataStream
from ._node import Node
from ._read_core import open_data
from ._transport import Params
from ._whole_reads import clip_intervals, plan_partitions, read_array

if sys.version_info >= (3, 11):
    from typing import Unpack
elif TYPE_CHECKING:  # only annotations name it, and they are not evaluated
    from typing_extensions import Unpack

try:
    import dask.dataframe as dd
    import pandas as pd
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ConfigurationError(
        "joule_sync.dask needs Dask and pandas: pip install 'joule-sync[dask]'"
    ) from exc

# dask.dataframe's constructors carry no annotations: these say what they return
_from_map = cast(Callable[..., dd.DataFrame], dd.from_map)
_from_pandas = cast(Callable[..., dd.DataFrame], dd.from_pandas)

__all__ = [
    "NodeRef",
    "PartitionOptions",
    "ReadOptions",
    "read_dataframe",
    "read_dataframes",
    "read_joined",
    "write_dataframe",
]

DEFAULT_PARTITION_ROWS = 2_000_000
"""Rows per partition unless told otherwise: about 50 MB of float32_3 rows in pandas (index,
values and interval number), within Dask's advice of partitions of tens to hundreds of MB."""

StreamLike = DataStream | str | int


@dataclass(frozen=True)
class NodeRef:
    """Where a worker finds a node and its API key; safe to put in a task graph.

    ``url`` is the node's URL.  With ``name``, the key is that node's in the joule
    configuration of the machine that connects; without, it is the environment variable
    ``key_variable`` there.  See the module documentation.
    """

    url: str
    name: str | None = None
    key_variable: str = "JOULE_KEY"

    def connect(self) -> Node:
        """A Node on ``url`` with the key found on this machine; raises ConfigurationError
        saying what is missing or does not match."""
        url = self.url.rstrip("/")
        if self.name is not None:
            node = get_node(self.name)
            if node.url != url:
                node.close()
                raise ConfigurationError(
                    f"node {self.name!r} in the joule configuration of {socket.gethostname()} "
                    f"is {node.url}, not {url} as the task graph says: its key is not sent there"
                )
            return node
        key = os.environ.get(self.key_variable)
        if not key:
            raise ConfigurationError(
                f"{self.key_variable} is not set on {socket.gethostname()} (pid {os.getpid()}): "
                f"set it to the API key of {url} where the workers start, or configure the "
                f"node there and use NodeRef({url!r}, name=...)"
            )
        configured_url = os.environ.get("JOULE_URL", "").rstrip("/")
        if self.key_variable == "JOULE_KEY" and configured_url and configured_url != url:
            raise ConfigurationError(
                f"JOULE_KEY on {socket.gethostname()} is the key of JOULE_URL={configured_url}, "
                f"not of {url} as the task graph says: its key is not sent there"
            )
        return Node(url, key, ca_file=os.environ.get("JOULE_CA_FILE") or None)


NodeLike = Node | NodeRef | str | None


class PartitionOptions(TypedDict, total=False):
    """The keyword options of every read: which node, and how the range is partitioned.

    - ``node``: a ``NodeRef``, a node name, a connected ``Node`` or None (see the module
      documentation); by default the node ``get_node()`` picks.
    - ``npartitions``: that many partitions.
    - ``partition_rows``: partitions of about that many rows, by the node's row estimate;
      by default ``DEFAULT_PARTITION_ROWS``.  Not with ``npartitions``.
    """

    node: NodeLike
    npartitions: int | None
    partition_rows: int | None


class ReadOptions(PartitionOptions, total=False):
    """The keyword options of ``read_dataframe`` and ``read_dataframes``: those of
    ``PartitionOptions`` (``node``, ``npartitions``, ``partition_rows``), and

    - ``max_rows``: read the decimation level the node would choose for the whole range (as
      ``data_read_dataframe(max_rows=...)`` does), in every partition.
    """

    max_rows: int | None


# --------------------------------------------------------------------------------------------
# What travels in the graph: how to read one stream, and the range of one partition
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    """One stream's part of one partition: rows in ``[start, end)``.

    ``interval_offset`` is the ``interval`` number, over the whole range read, of the first
    interval in the span: the node numbers the intervals of each read from 0.
    """

    start: int
    end: int
    interval_offset: int


@dataclass(frozen=True)
class _Source:
    """How a worker reads one stream: no key and no data."""

    ref: NodeRef
    stream_id: int
    element_names: tuple[str, ...]
    layout: str
    """Of the rows read: ``float32_{3N}`` when decimated."""
    decimation_level: int

    @property
    def decimated(self) -> bool:
        return self.decimation_level > 1

    def frame(self, rows: npt.NDArray[np.void], interval_ends: Sequence[int]) -> pd.DataFrame:
        return _tables.to_pandas(rows, interval_ends, self.element_names, self.decimated)

    def empty_frame(self) -> pd.DataFrame:
        return self.frame(np.empty(0, codec.layout_dtype(self.layout)), [])

    def read(self, node: Node, span: _Span) -> pd.DataFrame:
        params: Params = {"id": self.stream_id, "start": span.start, "end": span.end}
        if self.decimated:
            params["decimation-level"] = self.decimation_level
        decoded, _ = read_array(node.transport, params)
        if not len(decoded.data):  # the node's empty answer has the undecimated layout
            return self.empty_frame()
        frame = self.frame(decoded.data, decoded.interval_ends)
        frame[_tables.INTERVAL_COLUMN] += span.interval_offset
        return frame


@dataclass(frozen=True)
class _ReadPartition:
    """The partition function of one stream; ``columns`` is Dask's column projection."""

    source: _Source
    selected: tuple[str, ...] | None
    """The columns of the chosen ``elements`` (and ``interval``); None for all."""

    def __call__(self, span: _Span, columns: list[str] | None = None) -> pd.DataFrame:
        with self.source.ref.connect() as node:
            frame = self.source.read(node, span)
        wanted = columns if columns is not None else self.selected
        selected: pd.DataFrame = frame if wanted is None else frame[list(wanted)]
        return selected


@dataclass(frozen=True)
class _ReadJoinedPartition:
    """The partition function of several streams joined on time."""

    sources: tuple[_Source, ...]
    labels: tuple[str, ...]
    how: Literal["outer", "asof"]
    tolerance: int
    """asof: how old (µs) another stream's row may be; also how much earlier than the
    partition the other streams are read.  0 for outer."""
    dtypes: tuple[tuple[str, str], ...]
    """Column dtypes after the join: integer columns that can miss values become float64."""

    def __call__(self, spans: tuple[_Span, ...], columns: list[str] | None = None) -> pd.DataFrame:
        with self.sources[0].ref.connect() as node:
            frames = [s.read(node, span) for s, span in zip(self.sources, spans, strict=True)]
        joined = self._join(self._labelled(frames))
        return joined if columns is None else joined[columns]

    def _labelled(self, frames: Sequence[pd.DataFrame]) -> list[pd.DataFrame]:
        return [f.add_prefix(f"{label}.") for label, f in zip(self.labels, frames, strict=True)]

    def empty_frame(self) -> pd.DataFrame:
        return self._join(self._labelled([s.empty_frame() for s in self.sources]))

    def _join(self, frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
        if self.how == "outer":
            joined = pd.concat(frames, axis=1, join="outer", sort=True)
        else:
            joined = frames[0]
            for other in frames[1:]:
                joined = pd.merge_asof(
                    joined,
                    other,
                    left_index=True,
                    right_index=True,
                    direction="backward",
                    tolerance=pd.Timedelta(self.tolerance, unit="us"),
                )
        typed: pd.DataFrame = joined.astype(dict(self.dtypes))
        return typed


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read_dataframe(
    stream: StreamLike,
    start: int | None = None,
    end: int | None = None,
    *,
    elements: Sequence[str | int] | None = None,
    **options: Unpack[ReadOptions],
) -> dd.DataFrame:
    """The rows of ``[start, end)`` (µs) as a Dask DataFrame of time-range partitions.

    ``elements`` picks columns by element name or index (the ``interval`` column is always
    kept); the other options (``node``, ``npartitions``, ``partition_rows``, ``max_rows``)
    are ``ReadOptions``'s.
    """
    _check_options("read_dataframe", options, ReadOptions.__optional_keys__)
    with _planning_node(options.get("node")) as (connected, ref):
        return _read_one(connected, ref, stream, start, end, options, elements)


def read_dataframes(
    streams: Mapping[str, StreamLike] | Sequence[StreamLike],
    start: int | None = None,
    end: int | None = None,
    **options: Unpack[ReadOptions],
) -> dict[str, dd.DataFrame]:
    """``read_dataframe`` of each stream over the same range, planned with one connection.

    Keys are the mapping's keys, or for a sequence each stream's path as given (else its
    name).  Each frame has partitions of its own; see ``read_joined`` for one frame.
    """
    _check_options("read_dataframes", options, ReadOptions.__optional_keys__)
    with _planning_node(options.get("node")) as (connected, ref):
        return {
            label: _read_one(connected, ref, stream, start, end, options, None)
            for label, stream in _labelled_streams(connected, streams).items()
        }


def read_joined(
    streams: Mapping[str, StreamLike] | Sequence[StreamLike],
    start: int | None = None,
    end: int | None = None,
    *,
    how: Literal["outer", "asof"] = "outer",
    tolerance: int | None = None,
    **options: Unpack[PartitionOptions],
) -> dd.DataFrame:
    """Several streams of one node as one Dask DataFrame, joined on time.

    Columns are ``<label>.<column>`` for each stream's columns (its ``interval`` column
    included), labels as in ``read_dataframes``.  Where the timestamps differ:

    * ``how="outer"``: one row per timestamp of any stream; a stream without a row at that
      exact timestamp has NaN there.  Integer columns (``interval`` too) become float64 to
      hold NaN.
    * ``how="asof"``: the rows of the *first* stream; each other stream contributes its last
      row at or before that timestamp, if it is at most ``tolerance`` µs older, else NaN
      (``pandas.merge_asof(direction="backward")``).  ``tolerance`` is required: each
      partition reads the other streams from ``tolerance`` before its start, so keep it near
      their sample spacing.  Their integer columns become float64.

    The result equals that join of the ``data_read_dataframe`` frames of the range.
    Partitions are planned on the time with data of any stream (outer) or of the first (asof).
    The other options are ``PartitionOptions``.
    """
    _check_options("read_joined", options, PartitionOptions.__optional_keys__)
    if how not in ("outer", "asof"):
        raise ConfigurationError(f"how must be 'outer' or 'asof', not {how!r}")
    if how == "asof":
        if tolerance is None:
            raise ConfigurationError("how='asof' needs a tolerance, in µs")
        require_count(tolerance, "tolerance")
    elif tolerance is not None:
        raise ConfigurationError("tolerance only applies to how='asof'")
    bounds = time_range(start, end)
    start, end = bounds.get("start"), bounds.get("end")
    with _planning_node(options.get("node")) as (connected, ref):
        labelled = _labelled_streams(connected, streams)
        if len(labelled) < 2:
            raise ConfigurationError("read_joined needs at least two streams")
        planned = [_plan_stream(connected, ref, s, start, end, None) for s in labelled.values()]
    if how == "asof":
        basis, rows = planned[0].intervals, planned[0].rows
    else:
        basis, rows = _union(p.intervals for p in planned), sum(p.rows for p in planned)
    reader = _ReadJoinedPartition(
        tuple(p.source for p in planned),
        tuple(labelled),
        how,
        tolerance or 0,
        _joined_dtypes(planned, tuple(labelled), how),
    )
    meta = reader.empty_frame()
    edges = _partition_edges(basis, start, end, _partition_count(rows, options))
    if not edges:
        return _from_pandas(meta, npartitions=1)
    pieces = [
        tuple(
            p.span(lo if k == 0 else _at_least(lo - reader.tolerance, start), hi)
            for k, p in enumerate(planned)
        )
        for lo, hi in itertools.pairwise(edges)
    ]
    return _from_map(
        reader, pieces, meta=meta, divisions=_divisions(edges), label="joule-read-joined"
    )


@dataclass(frozen=True)
class _Planned:
    """A stream as planned in the calling process (never sent to the workers)."""

    stream: DataStream
    source: _Source
    intervals: list[tuple[int, int]]
    """Its intervals clipped to the range read."""
    rows: float
    """Its estimated rows in the range, at the decimation level read."""

    def span(self, start: int, end: int) -> _Span:
        # the intervals that end at or before ``start`` come before the span's first
        return _Span(start, end, bisect.bisect_right(self.interval_ends, start))

    @functools.cached_property
    def interval_ends(self) -> list[int]:
        return [e for _, e in self.intervals]


def _read_one(
    connected: Node,
    ref: NodeRef,
    stream: StreamLike,
    start: int | None,
    end: int | None,
    options: ReadOptions,
    elements: Sequence[str | int] | None,
) -> dd.DataFrame:
    bounds = time_range(start, end)
    start, end = bounds.get("start"), bounds.get("end")
    planned = _plan_stream(connected, ref, stream, start, end, options.get("max_rows"))
    count = _partition_count(planned.rows, options)
    reader = _ReadPartition(planned.source, _selected_columns(planned, elements))
    meta = reader.source.empty_frame()
    if reader.selected is not None:
        meta = meta[list(reader.selected)]
    edges = _partition_edges(planned.intervals, start, end, count)
    if not edges:
        return _from_pandas(meta, npartitions=1)
    spans = [planned.span(lo, hi) for lo, hi in itertools.pairwise(edges)]
    return _from_map(reader, spans, meta=meta, divisions=_divisions(edges), label="joule-read")


def _plan_stream(
    connected: Node,
    ref: NodeRef,
    stream: StreamLike,
    start: int | None,
    end: int | None,
    max_rows: int | None,
) -> _Planned:
    target = connected.data_stream_get(stream)
    intervals = connected.data_intervals(target)
    clipped = clip_intervals(intervals, start, end)
    level = 1
    if max_rows is not None and clipped:
        level = _decimation_level(connected, target, start, end, max_rows)
    layout = target.layout if level == 1 else f"float32_{3 * len(target.elements)}"
    stream_time = sum(e - s for s, e in intervals)
    rows = 0.0
    if stream_time:
        # the node's estimate of the stream's rows, in proportion of the time with data
        stream_rows = connected.data_stream_info(target).rows
        rows = stream_rows * sum(e - s for s, e in clipped) / stream_time / level
    names = tuple(e.name for e in target.elements)
    assert target.id is not None  # the node sends every stream with its id
    return _Planned(target, _Source(ref, target.id, names, layout, level), clipped, rows)


def _decimation_level(
    connected: Node, stream: DataStream, start: int | None, end: int | None, max_rows: int
) -> int:
    """The decimation level a read of the whole range with ``max_rows`` gives (the read
    core's choice: the node's, or the coarsest level with rows where the node's is empty);
    the body is left unread."""
    params: Params = {**stream_spec(stream), **time_range(start, end), "max-rows": max_rows}
    body = open_data(connected.transport, params)
    body.close()
    return body.decimation


def _check_options(function: str, options: Mapping[str, object], accepted: frozenset[str]) -> None:
    """Refuse what Python would refuse of a named keyword: ``**options`` takes any name, and
    a misspelt option must not be ignored."""
    unexpected = sorted(options.keys() - accepted)
    if unexpected:
        raise TypeError(f"{function}() got an unexpected keyword argument {unexpected[0]!r}")
    if options.get("npartitions") is not None and options.get("partition_rows") is not None:
        raise ConfigurationError("give npartitions or partition_rows, not both")
    for name in ("npartitions", "partition_rows", "max_rows"):
        if options.get(name) is not None:
            require_count(options[name], name)


def _partition_count(rows: float, options: PartitionOptions) -> int:
    npartitions = options.get("npartitions")
    if npartitions is not None:
        return npartitions
    return max(1, math.ceil(rows / (options.get("partition_rows") or DEFAULT_PARTITION_ROWS)))


def _partition_edges(
    intervals: Sequence[tuple[int, int]], start: int | None, end: int | None, count: int
) -> list[int]:
    """Partition boundaries: the first at ``start`` (or the first data), the last at ``end``
    (or just after the last data), between them equal time with data."""
    pieces = plan_partitions(intervals, None, None, count)
    if not pieces:
        return []
    edges = [lo for lo, _ in pieces] + [pieces[-1][1]]
    if start is not None:
        edges[0] = start
    if end is not None:
        edges[-1] = end
    return edges


def _divisions(edges: Sequence[int]) -> tuple[pd.Timestamp, ...]:
    return tuple(pd.Timestamp(edge, unit="us", tz="UTC") for edge in edges)


def _at_least(value: int, floor: int | None) -> int:
    return value if floor is None else max(value, floor)


def _union(interval_lists: Iterable[Sequence[tuple[int, int]]]) -> list[tuple[int, int]]:
    """The time covered by any of the lists, as sorted disjoint intervals."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(i for intervals in interval_lists for i in intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _selected_columns(
    planned: _Planned, elements: Sequence[str | int] | None
) -> tuple[str, ...] | None:
    if elements is None:
        return None
    source = planned.source
    chosen = element_columns(planned.stream, elements)
    columns = _tables.column_names(source.element_names, source.decimated)
    width = len(source.element_names)
    stats = 3 if source.decimated else 1  # decimated: all means, then all mins, then all maxes
    picked = [columns[s * width + i] for s in range(stats) for i in chosen]
    return (*picked, _tables.INTERVAL_COLUMN)


def _joined_dtypes(
    planned: Sequence[_Planned], labels: Sequence[str], how: str
) -> tuple[tuple[str, str], ...]:
    dtypes = []
    for position, (label, p) in enumerate(zip(labels, planned, strict=True)):
        may_miss = how == "outer" or position > 0
        for column, dtype in p.source.empty_frame().dtypes.items():
            kind = np.dtype(dtype).kind
            dtypes.append(
                (f"{label}.{column}", "float64" if may_miss and kind in "iu" else str(dtype))
            )
    return tuple(dtypes)


def _labelled_streams(
    connected: Node, streams: Mapping[str, StreamLike] | Sequence[StreamLike]
) -> dict[str, StreamLike]:
    if isinstance(streams, Mapping):
        return dict(streams)
    labelled: dict[str, StreamLike] = {}
    for stream in streams:
        label = stream if isinstance(stream, str) else connected.data_stream_get(stream).name
        if label in labelled:
            raise ConfigurationError(
                f"two streams are labelled {label!r}: pass a mapping {{label: stream}}"
            )
        labelled[label] = stream
    return labelled


# --------------------------------------------------------------------------------------------
# Connections: where planning and writing happen, and what the workers get
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _connected(node: NodeLike) -> Iterator[Node]:
    """A Node in this process for ``node``; closed afterwards unless the caller gave it."""
    if isinstance(node, Node):
        yield node
        return
    if isinstance(node, NodeRef):
        opened = node.connect()
    elif node is None or isinstance(node, str):
        opened = get_node(node)
    else:
        raise ConfigurationError(
            f"node must be a Node, a NodeRef, a node name or None, not {type(node).__name__}"
        )
    with opened:
        yield opened


@contextlib.contextmanager
def _planning_node(node: NodeLike) -> Iterator[tuple[Node, NodeRef]]:
    with _connected(node) as connected:
        yield connected, _reference(node, connected)


def _reference(node: NodeLike, connected: Node) -> NodeRef:
    """How the workers find ``node`` (see the module documentation)."""
    if isinstance(node, NodeRef):
        return node
    if isinstance(node, str):
        return NodeRef(connected.url, name=node)
    from_environment = os.environ.get("JOULE_URL", "").rstrip("/") == connected.url
    if node is None:  # get_node() read the environment, else the configuration
        if from_environment:
            return NodeRef(connected.url)
        return NodeRef(connected.url, name=connected.name)
    with contextlib.suppress(ConfigurationError), get_node(connected.name) as configured:
        if configured.url == connected.url:
            return NodeRef(connected.url, name=connected.name)
    if from_environment:
        return NodeRef(connected.url)
    raise ConfigurationError(
        f"cannot tell how the workers get the API key of {connected!r}: it is neither in this "
        f"machine's joule configuration under its name nor JOULE_URL; pass "
        f"node=NodeRef({connected.url!r}, name=...) or NodeRef({connected.url!r}, "
        f"key_variable=...)"
    )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_dataframe(
    frame: dd.DataFrame,
    stream: StreamLike,
    *,
    node: NodeLike = None,
    merge_gap: int = 0,
    lookahead: int = 2,
) -> int:
    """Write a Dask DataFrame's partitions to ``stream`` in partition order; returns the rows.

    The index holds the timestamps (datetimes, UTC if naive, or integer µs); the other
    columns are the elements, matched by name if they are the stream's element names, else
    by position.  An ``interval`` column (as read) puts an interval break wherever its value
    changes, across partitions too; without one the rows form one interval.  ``merge_gap``
    is ``data_write``'s: the first rows continue the stream's last interval if that close.

    Partitions are computed on the cluster ``lookahead`` at a time ahead of the one being
    sent, and sent over one upload from this process.  Known divisions that are out of order
    or overlap are refused before anything is written; a partition whose rows are not in
    strictly increasing time order, or do not come after the previous partition's, is
    refused when its turn comes, with DataError saying up to where the stream was written.
    """
    require_count(lookahead, "lookahead")
    if frame.known_divisions:
        _check_divisions(frame.divisions)
    with _connected(node) as connected:
        target = connected.data_stream_get(stream)
        values = _value_columns(list(frame.columns), target)
        has_intervals = _tables.INTERVAL_COLUMN in frame.columns
        last: tuple[int, int, Any] | None = None  # partition number, timestamp, interval
        with (
            connected.data_write(target, merge_gap=merge_gap) as pipe,
            contextlib.closing(_computed_partitions(frame, lookahead)) as parts,
        ):
            for number, part in enumerate(parts):
                if not len(part):
                    continue
                timestamps = _timestamps(part.index, number)
                _check_order(timestamps, number, last)
                labels = part[_tables.INTERVAL_COLUMN].to_numpy() if has_intervals else None
                breaks = _break_positions(labels, None if last is None else last[2])
                rows = part[values].to_numpy()
                run_start = 0
                for position in breaks:
                    if position > run_start:
                        pipe.write((timestamps[run_start:position], rows[run_start:position]))
                    pipe.close_interval()
                    run_start = position
                pipe.write((timestamps[run_start:], rows[run_start:]))
                last = (number, int(timestamps[-1]), None if labels is None else labels[-1])
            return pipe.rows_written


def _check_divisions(divisions: Sequence[Any]) -> None:
    for number, (lo, hi) in enumerate(itertools.pairwise(divisions)):
        final = number == len(divisions) - 2  # Dask's last partition includes its end
        if hi < lo or (hi == lo and not final):
            raise DataError(
                f"partitions {number} and {number + 1} are out of order or overlap: they are "
                f"divided at {lo} then {hi}; nothing was written"
            )


def _computed_partitions(
    frame: dd.DataFrame, lookahead: int
) -> Generator[pd.DataFrame, None, None]:
    """The partitions in order, each computed while up to ``lookahead`` later ones are."""
    parts = frame.to_delayed()  # type: ignore[no-untyped-call]  # dask: no annotations
    pool = ThreadPoolExecutor(max_workers=lookahead, thread_name_prefix="joule-sync dask write")
    try:
        pending: deque[Future[pd.DataFrame]] = deque()
        for part in parts:
            pending.append(pool.submit(part.compute))
            if len(pending) > lookahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _value_columns(columns: list[str], target: DataStream) -> list[str]:
    values = [c for c in columns if c != _tables.INTERVAL_COLUMN]
    names = _tables.column_names([e.name for e in target.elements], decimated=False)
    if sorted(values) == sorted(names):
        return names
    if len(values) != len(names):
        raise DataError(
            f"{len(values)} value column(s) ({', '.join(map(str, values))}) for the "
            f"{len(names)} element(s) of {target.name} ({', '.join(names)})"
        )
    return values


def _timestamps(index: pd.Index, number: int) -> npt.NDArray[np.int64]:
    if isinstance(index, pd.DatetimeIndex):
        utc = index.tz_convert("UTC") if index.tz is not None else index
        return np.asarray(utc.as_unit("us").asi8, dtype=np.int64)
    if pd.api.types.is_integer_dtype(index.dtype):
        return np.asarray(index, dtype=np.int64)
    raise DataError(
        f"partition {number} has a {index.dtype} index: timestamps must be datetimes or µs"
    )


def _check_order(
    timestamps: npt.NDArray[np.int64], number: int, last: tuple[int, int, Any] | None
) -> None:
    steps = np.diff(timestamps)
    if (steps <= 0).any():
        at = int(timestamps[int(np.argmax(steps <= 0)) + 1])
        raise DataError(
            f"partition {number} is not in strictly increasing time order (at {_iso(at)}); "
            f"{_written(last)}"
        )
    if last is not None and timestamps[0] <= last[1]:
        raise DataError(
            f"partition {number} starts at {_iso(int(timestamps[0]))}, not after the end of "
            f"partition {last[0]} ({_iso(last[1])}): partitions overlap or are out of order; "
            f"{_written(last)}"
        )


def _written(last: tuple[int, int, Any] | None) -> str:
    if last is None:
        return "nothing was written"
    return f"partitions up to {last[0]} were written, rows up to {_iso(last[1])}"


def _iso(timestamp: int) -> str:
    return f"{pd.Timestamp(timestamp, unit='us', tz='UTC').isoformat()} ({timestamp} µs)"


def _break_positions(labels: npt.NDArray[Any] | None, previous: Any) -> list[int]:
    """Row positions before which an interval break falls: where ``labels`` changes, and at
    0 if the first label is not the previous partition's last."""
    if labels is None:
        return []
    changes = (np.flatnonzero(labels[1:] != labels[:-1]) + 1).tolist()
    starts_new = previous is not None and labels[0] != previous
    return [0, *changes] if starts_new else changes
