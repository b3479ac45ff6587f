"""Whole-range reads: the growing buffer's memory, partitioned reads, chunks.

``plan_partitions`` and ``join_pieces`` are tested on their own first, then against the real
node with data crafted so that the planned boundaries fall inside intervals, on rows' own
timestamps and in gaps.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import joule_sync
from conftest import MakeStream
from joule_sync import codec
from joule_sync._rebatch import rebatch
from joule_sync._whole_reads import join_pieces, plan_partitions
from joule_sync.devnode import DevNode
from peak_memory import run_script
from rows import make_rows

START = 1_700_000_000_000_000
STEP = 1000


def write(node: joule_sync.Node, stream: joule_sync.DataStream, *parts: np.ndarray) -> None:
    """Write ``parts`` with an interval break between each."""
    with node.data_write(stream) as pipe:
        for i, part in enumerate(parts):
            if i:
                pipe.close_interval()
            pipe.write(part)


# -- plan_partitions -------------------------------------------------------------------------


def test_plan_splits_time_with_data_evenly_and_skips_gaps() -> None:
    # 100 µs of data, a gap of 1000, 300 µs of data: 4 pieces of 100 µs of data each
    intervals = [[0, 100], [1100, 1400]]
    assert plan_partitions(intervals, None, None, 4) == [
        (0, 100),
        (100, 1200),
        (1200, 1300),
        (1300, 1400),
    ]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_plan_pieces_are_contiguous_and_cover_the_clipped_data(count: int) -> None:
    intervals = [[10, 50], [60, 61], [100, 333], [400, 1000]]
    pieces = plan_partitions(intervals, 30, 900, count)
    assert pieces[0][0] == 30 and pieces[-1][1] == 900
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    assert all(s < e for s, e in pieces)
    assert len(pieces) == count


def test_plan_never_makes_empty_pieces_when_there_is_less_data_than_pieces() -> None:
    assert plan_partitions([[5, 7]], None, None, 4) == [(5, 6), (6, 7)]


def test_plan_of_a_range_without_data_is_empty() -> None:
    assert plan_partitions([], None, None, 3) == []
    assert plan_partitions([[0, 10]], 10, 20, 3) == []


# -- join_pieces -----------------------------------------------------------------------------


def rows_at(*timestamps: int) -> np.ndarray:
    rows = np.zeros(len(timestamps), codec.layout_dtype("int32_1"))
    rows["timestamp"] = timestamps
    return rows


def test_join_marks_breaks_between_pieces_only_where_the_node_has_them() -> None:
    intervals = [[0, 10], [20, 30], [40, 50]]
    pieces = [
        codec.Decoded(rows_at(1, 2), []),
        codec.Decoded(rows_at(3, 21), [1]),  # a break inside the piece
        codec.Decoded(rows_at(22), []),  # the same interval continues: no break
        codec.Decoded(rows_at(), []),  # an empty piece changes nothing
        codec.Decoded(rows_at(41, 42), []),  # a new interval: a break before it
    ]
    joined = join_pieces(pieces, intervals)
    assert joined.data["timestamp"].tolist() == [1, 2, 3, 21, 22, 41, 42]
    assert joined.interval_ends == [3, 5]


def test_join_does_not_repeat_a_break_a_piece_already_ends_with() -> None:
    intervals = [[0, 10], [20, 30]]
    joined = join_pieces(
        [codec.Decoded(rows_at(1, 9), [2]), codec.Decoded(rows_at(20), [])], intervals
    )
    assert joined.interval_ends == [2]


# -- partitioned reads on the node -----------------------------------------------------------


@pytest.fixture
def three_intervals(
    node: joule_sync.Node, make_stream: MakeStream
) -> tuple[joule_sync.DataStream, np.ndarray]:
    """Rows 1 ms apart in three intervals of 4000, 2000 and 6000 rows, with gaps between."""
    stream = make_stream("float32_3")
    rows = make_rows("float32_3", 12_000, start=START, step=STEP)
    rows["timestamp"][4000:] += 10_000_000  # 10 s gaps
    rows["timestamp"][6000:] += 10_000_000
    write(node, stream, rows[:4000], rows[4000:6000], rows[6000:])
    return stream, rows


def inner_boundaries(intervals: list[list[int]], start: int, end: int, count: int) -> list[int]:
    return [s for s, _ in plan_partitions(intervals, start, end, count)[1:]]


def end_placing_a_boundary(
    intervals: list[list[int]], rows: np.ndarray, start: int, count: int, on_a_row: bool
) -> int:
    """An end for which ``count`` pieces of ``[start, end)`` have a boundary strictly inside
    an interval: exactly on a row's timestamp, or (``on_a_row=False``) between two rows."""
    timestamps = set(rows["timestamp"].tolist())
    for end in range(int(rows["timestamp"][8000]), int(rows["timestamp"][9000])):
        for bound in inner_boundaries(intervals, start, end, count):
            inside = any(s < bound < e - 1 for s, e in intervals)
            if inside and (bound in timestamps) == on_a_row:
                return end
    raise AssertionError("no such end: the data is not as the test expects")


@pytest.mark.parametrize("count", [2, 3, 4])
@pytest.mark.parametrize("where", ["whole stream", "on a row", "between rows"])
def test_partitions_read_the_same_rows_and_breaks_as_one_read(
    node: joule_sync.Node,
    three_intervals: tuple[joule_sync.DataStream, np.ndarray],
    count: int,
    where: str,
) -> None:
    stream, rows = three_intervals
    start: int | None = None
    end: int | None = None
    if where != "whole stream":
        start = int(rows["timestamp"][1000]) + 1  # inside the first interval, between rows
        end = end_placing_a_boundary(
            node.data_intervals(stream), rows, start, count, on_a_row=where == "on a row"
        )
    whole = node.data_read_array(stream, start, end)
    split = node.data_read_array(stream, start, end, partitions=count)
    assert len(whole) > 6000
    assert split.tobytes() == whole.tobytes()
    whole_frame = node.data_read_dataframe(stream, start, end)
    split_frame = node.data_read_dataframe(stream, start, end, partitions=count)
    assert whole_frame["interval"].max() == 2
    assert whole_frame.equals(split_frame)


def test_partitions_with_a_float_start_are_one_read_too(
    node: joule_sync.Node, three_intervals: tuple[joule_sync.DataStream, np.ndarray]
) -> None:
    # upstream scripts compute start as time_now() - 1e6: a float
    stream, rows = three_intervals
    start = float(rows["timestamp"][10]) + 0.5
    whole = node.data_read_array(stream, start)
    assert node.data_read_array(stream, start, partitions=3).tobytes() == whole.tobytes()


def test_partitions_of_a_range_without_data_are_empty(
    node: joule_sync.Node, three_intervals: tuple[joule_sync.DataStream, np.ndarray]
) -> None:
    stream, rows = three_intervals
    gap = int(rows["timestamp"][3999]) + 1000
    empty = node.data_read_array(stream, gap, gap + 1000, partitions=4)
    assert len(empty) == 0 and empty.dtype == codec.layout_dtype("float32_3")


# -- chunks ----------------------------------------------------------------------------------


def test_chunks_hold_exactly_n_rows_and_the_breaks(
    node: joule_sync.Node, three_intervals: tuple[joule_sync.DataStream, np.ndarray]
) -> None:
    stream, rows = three_intervals
    chunks = list(node.data_read_chunks(stream, rows=2500))
    data = np.concatenate([c.data for c in chunks])
    assert data.tobytes() == rows.tobytes()
    assert [len(c.data) for c in chunks] == [2500] * 4 + [2000]
    breaks, offset = [], 0
    for chunk in chunks:
        breaks += [offset + e for e in chunk.interval_ends]
        offset += len(chunk.data)
    assert breaks == [4000, 6000]


@pytest.mark.parametrize("rows_per_chunk", [1, 3, 4, 5, 7, 100])
def test_chunks_split_blocks_and_keep_breaks_at_chunk_edges(rows_per_chunk: int) -> None:
    rows = make_rows("int16_1", 20, start=START, step=STEP)
    # blocks of 4, 1, 10 and 5 rows; breaks after rows 4, 5 and 20 (the last)
    blocks = [(rows[:4], True), (rows[4:5], True), (rows[5:15], False), (rows[15:], True)]
    chunks = list(rebatch(iter(blocks), rows_per_chunk))
    full, rest = divmod(len(rows), rows_per_chunk)
    assert [len(c.data) for c in chunks] == [rows_per_chunk] * full + ([rest] if rest else [])
    assert np.concatenate([c.data for c in chunks]).tobytes() == rows.tobytes()
    breaks = [i * rows_per_chunk + e for i, c in enumerate(chunks) for e in c.interval_ends]
    assert breaks == [4, 5, 20]
    assert all(0 < e <= len(c.data) for c in chunks for e in c.interval_ends)


# -- memory ----------------------------------------------------------------------------------

READ_PEAK_MEMORY = """
import json, sys
import joule_sync
from peak_memory import peak_mib, start_measuring

url, key, stream_id, partitions = sys.argv[1:]
with joule_sync.Node(url, key) as node:
    node.data_read_array(int(stream_id), max_rows=10)  # warm up: imports, connection
    before = start_measuring()
    rows = node.data_read_array(int(stream_id), partitions=int(partitions))
    print(json.dumps({"grown_mib": peak_mib() - before, "result_mib": rows.nbytes / 2**20}))
"""


def test_read_array_peak_memory_is_the_result_and_a_few_mib(
    node: joule_sync.Node, joule_node: DevNode, make_stream: MakeStream
) -> None:
    """Measured as the peak resident memory of a process that does nothing else."""
    stream = make_stream("float64_4")
    count = 2_000_000  # 80 MB: far above what the process holds otherwise
    with node.data_write(stream) as pipe:
        for first in range(0, count, 500_000):
            pipe.write(make_rows("float64_4", 500_000, start=START + first * STEP, seed=first))
    bounds = {
        # the result, and 8 MiB for the network chunks and the last huge page (77.5 MiB seen)
        1: 1.0,
        # the pieces, then the result they are copied into, each piece dropped once copied:
        # the result and one piece at most (118.8 MiB seen for 76.3; joining them all with
        # np.concatenate: 156.6)
        2: 1.5,
    }
    for partitions, bound in bounds.items():
        measured = json.loads(
            run_script(
                READ_PEAK_MEMORY, joule_node.url, joule_node.key, str(stream.id), str(partitions)
            )
        )
        assert measured["result_mib"] == count * 40 / 2**20
        assert measured["grown_mib"] <= bound * measured["result_mib"] + 8, (partitions, measured)
