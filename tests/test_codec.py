"""The codec against a small pure-numpy reference, and every error it raises."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from joule_sync import DataError, DecimationError, codec

TYPES = [
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
]
ORDERS = ["little", "big"]


def reference_decode(
    buffer: bytes, layout: str, byteorder: str
) -> tuple[npt.NDArray[np.void], list[int]]:
    """Row by row, the obvious way: the codec must agree with this."""
    dtype = codec.layout_dtype(layout)
    wire = dtype.newbyteorder(">") if byteorder == "big" else dtype
    assert len(buffer) % dtype.itemsize == 0
    raw = np.frombuffer(buffer, dtype=np.uint8).reshape(-1, dtype.itemsize)
    is_token = ~raw.any(axis=1)
    rows = np.frombuffer(raw[~is_token].tobytes(), dtype=wire).astype(dtype)
    token_rows = np.flatnonzero(is_token)
    return rows, [int(i - k) for k, i in enumerate(token_rows)]


def reference_encode(rows: npt.NDArray[np.void], interval_ends: list[int], byteorder: str) -> bytes:
    wire = rows.dtype.newbyteorder(">") if byteorder == "big" else rows.dtype
    token = bytes(rows.dtype.itemsize)
    parts, start = [], 0
    for end in interval_ends:
        parts += [rows[start:end].astype(wire).tobytes(), token]
        start = end
    parts.append(rows[start:].astype(wire).tobytes())
    return b"".join(parts)


@st.composite
def frames(draw: st.DrawFn) -> tuple[str, npt.NDArray[np.void], list[int]]:
    """A layout, strictly increasing rows of it (never a token) and sorted interval ends."""
    layout = f"{draw(st.sampled_from(TYPES))}_{draw(st.integers(1, 9))}"
    dtype = codec.layout_dtype(layout)
    n = draw(st.integers(0, 60))
    steps = draw(hnp.arrays(np.int64, n, elements=st.integers(1, 10**9)))
    start = draw(st.integers(-(10**15), 10**15))
    rows = np.zeros(n, dtype=dtype)
    rows["timestamp"] = start + np.cumsum(steps)
    element = dtype["data"].base
    rows["data"] = draw(
        hnp.arrays(
            element, (n, dtype["data"].shape[0]), elements=hnp.from_dtype(element, allow_nan=False)
        )
    )
    rows = rows[~((rows["timestamp"] == 0) & ~rows["data"].any(axis=1))]  # drop token lookalikes
    ends = sorted(draw(st.lists(st.integers(0, len(rows)), max_size=6)))
    return layout, rows, ends


def split_anywhere(draw: st.DrawFn, buffer: bytes) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(buffer)), max_size=12)))
    return [buffer[a:b] for a, b in zip([0, *cuts], [*cuts, len(buffer)], strict=True)]


@settings(max_examples=300, deadline=None)
@given(frame=frames(), byteorder=st.sampled_from(ORDERS), data=st.data())
def test_round_trip_in_random_chunks_matches_the_reference(
    frame: tuple[str, npt.NDArray[np.void], list[int]], byteorder: str, data: st.DataObject
) -> None:
    layout, rows, ends = frame
    wire = codec.encode(rows, layout, byteorder=byteorder, interval_ends=ends)  # type: ignore[arg-type]
    assert wire == reference_encode(rows, ends, byteorder)
    ref_rows, ref_ends = reference_decode(wire, layout, byteorder)
    assert ref_ends == ends

    decoder = codec.Decoder(layout, byteorder=byteorder)  # type: ignore[arg-type]
    blocks, got_ends = [], []
    for chunk in split_anywhere(data.draw, wire):
        block = decoder.feed(chunk)
        got_ends += [len(np.concatenate(blocks)) + e if blocks else e for e in block.interval_ends]
        blocks.append(block.data)
    decoder.finish()
    got = np.concatenate(blocks) if blocks else np.zeros(0, codec.layout_dtype(layout))
    assert got.dtype == codec.layout_dtype(layout)
    assert got.tobytes() == ref_rows.tobytes() == rows.tobytes()
    assert got_ends == ends
    whole = codec.decode(wire, layout, byteorder=byteorder)  # type: ignore[arg-type]
    assert whole.data.tobytes() == rows.tobytes() and whole.interval_ends == ends


@settings(max_examples=100, deadline=None)
@given(frame=frames(), cut=st.integers(1, 10**6))
def test_a_cut_inside_a_row_is_an_error_never_a_short_array(
    frame: tuple[str, npt.NDArray[np.void], list[int]], cut: int
) -> None:
    layout, rows, ends = frame
    wire = codec.encode(rows, layout, interval_ends=ends)
    row_size = codec.layout_dtype(layout).itemsize
    keep = cut % len(wire) if wire else 0
    if keep % row_size == 0:
        keep = max(keep - 1, 0)
    if keep == 0:
        return
    decoder = codec.Decoder(layout)
    decoder.feed(wire[:keep])
    assert decoder.pending_bytes == keep % row_size
    with pytest.raises(DataError, match=rf"{keep % row_size} byte\(s\) left over"):
        decoder.finish()


def test_upstream_dtype_for_every_type() -> None:
    assert codec.layout_dtype("float32_3") == np.dtype(
        [("timestamp", "<i8"), ("data", "<f4", (3,))]
    )
    assert codec.layout_dtype("uint16_1") == np.dtype([("timestamp", "<i8"), ("data", "<u2", (1,))])
    for t in TYPES:
        assert codec.layout_dtype(f"{t}_4")["data"].base == np.dtype(t).newbyteorder("<")


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("float32", "invalid layout \"float32\": no '_'"),
        ("float16_3", 'unknown element type "float16"'),
        ("int32_0", "element count must be at least 1"),
    ],
)
def test_bad_layouts_are_named(layout: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        codec.Decoder(layout)


def test_bad_byteorder_is_named() -> None:
    with pytest.raises(DataError, match='unknown byte order "middle"'):
        codec.Decoder("int8_1", byteorder="middle")  # type: ignore[arg-type]


def test_decoded_arrays_own_their_memory_via_numpy() -> None:
    rows = np.zeros(3, codec.layout_dtype("int32_2"))
    rows["timestamp"] = [1, 2, 3]
    decoded = codec.decode(codec.encode(rows, "int32_2"), "int32_2").data
    assert decoded.base is not None and isinstance(decoded.base, np.ndarray)
    decoded["data"][0] = 7  # writable, not a view of the immutable bytes
    assert decoded["data"][0].tolist() == [7, 7]


def test_tokens_mark_interval_ends_and_consecutive_tokens_are_kept() -> None:
    rows = np.zeros(3, codec.layout_dtype("float64_1"))
    rows["timestamp"] = [10, 20, 30]
    rows["data"][:, 0] = [1.0, 2.0, 3.0]
    wire = codec.encode(rows, "float64_1", interval_ends=[0, 1, 1, 3])
    assert len(wire) == 7 * 16
    decoded = codec.decode(wire, "float64_1")
    assert decoded.interval_ends == [0, 1, 1, 3]
    assert [len(part) for part in np.split(decoded.data, decoded.interval_ends)] == [0, 1, 0, 2, 0]


class TestEncoderInputs:
    def test_two_d_array_with_timestamps_in_column_zero(self) -> None:
        array = np.array([[1, 0.5, 1.5], [2, 2.5, 3.5]])
        decoded = codec.decode(codec.encode(array, "float32_2"), "float32_2").data
        assert decoded["timestamp"].tolist() == [1, 2]
        assert decoded["data"].tolist() == [[0.5, 1.5], [2.5, 3.5]]

    def test_timestamps_and_values_pair_including_datetime64_and_one_d_values(self) -> None:
        ts = np.array(["2024-01-01T00:00:00", "2024-01-01T00:00:01"], dtype="datetime64[s]")
        decoded = codec.decode(codec.encode((ts, np.array([5, 6])), "uint8_1"), "uint8_1").data
        assert decoded["timestamp"].tolist() == [1704067200000000, 1704067201000000]
        assert decoded["data"][:, 0].tolist() == [5, 6]

    def test_wrong_element_count(self) -> None:
        with pytest.raises(
            DataError, match="data has 2 element\\(s\\) per row but layout float32_3 needs 3"
        ):
            codec.encode(np.array([[1, 2.0, 3.0]]), "float32_3")

    def test_structured_array_of_another_width(self) -> None:
        rows = np.zeros(2, codec.layout_dtype("int16_4"))
        with pytest.raises(
            DataError, match="data has 4 element\\(s\\) per row but layout int16_3 needs 3"
        ):
            codec.encode(rows, "int16_3")

    @pytest.mark.parametrize(
        ("values", "layout", "message"),
        [
            (
                [[1.0], [np.nan]],
                "int32_1",
                "row 1, element 0: int32_1 value nan cannot be stored as int32",
            ),
            (
                [[1.0], [2.5]],
                "int64_1",
                "row 1, element 0: int64_1 value 2.5 cannot be stored as int64",
            ),
            (
                [[1, 40000]],
                "int16_2",
                "row 0, element 1: int16_2 value 40000 cannot be stored as int16",
            ),
            ([[-1]], "uint32_1", "row 0, element 0: uint32_1 value -1 cannot be stored as uint32"),
            ([[2.0**63]], "int64_1", "row 0, element 0: int64_1 value 9.223372036854776e\\+18"),
            (
                [[1e300]],
                "float32_1",
                "row 0, element 0: float32_1 value 1e\\+300 cannot be stored as float32",
            ),
        ],
    )
    def test_values_that_do_not_fit_name_the_first_row(
        self, values: list[list[float]], layout: str, message: str
    ) -> None:
        ts = np.arange(1, len(values) + 1)
        with pytest.raises(DataError, match=message):
            codec.encode((ts, np.array(values)), layout)

    def test_non_numeric_values(self) -> None:
        with pytest.raises(
            DataError, match="float32_1 value values must be numeric, got dtype <U1"
        ):
            codec.encode((np.array([1]), np.array([["a"]])), "float32_1")

    def test_fractional_timestamps(self) -> None:
        with pytest.raises(DataError, match=r"row 1: timestamp 2\.5 cannot be stored as int64"):
            codec.encode((np.array([1.0, 2.5]), np.array([1.0, 2.0])), "float32_1")

    def test_nan_is_a_value_for_float_layouts(self) -> None:
        decoded = codec.decode(
            codec.encode((np.array([1]), np.array([np.nan])), "float64_1"), "float64_1"
        )
        assert np.isnan(decoded.data["data"][0, 0])


class TestEncoderOrdering:
    def test_non_increasing_within_a_call_names_the_row(self) -> None:
        with pytest.raises(
            DataError, match="row 2: timestamp 2 is not after the previous timestamp 3"
        ):
            codec.encode((np.array([1, 3, 2]), np.array([1, 2, 3])), "int8_1")

    def test_duplicates_are_refused(self) -> None:
        with pytest.raises(
            DataError, match="row 1: timestamp 5 is not after the previous timestamp 5"
        ):
            codec.encode((np.array([5, 5]), np.array([1, 2])), "int8_1")

    def test_across_calls_on_one_encoder(self) -> None:
        encoder = codec.Encoder("int8_1")
        encoder.encode((np.array([1, 2]), np.array([1, 2])))
        assert encoder.last_timestamp == 2
        with pytest.raises(
            DataError, match="row 0: timestamp 2 is not after the previous timestamp 2"
        ):
            encoder.encode((np.array([2]), np.array([1])))
        assert encoder.last_timestamp == 2  # a refused call changes nothing
        encoder.encode((np.array([3]), np.array([1])))

    def test_starting_after_stored_data(self) -> None:
        encoder = codec.Encoder("int8_1", last_timestamp=100)
        with pytest.raises(
            DataError, match="row 0: timestamp 50 is not after the previous timestamp 100"
        ):
            encoder.encode((np.array([50]), np.array([1])))

    def test_a_row_that_reads_as_a_token(self) -> None:
        with pytest.raises(
            DataError, match="row 1: timestamp 0 with every element 0 would read back"
        ):
            codec.encode((np.array([-1, 0]), np.array([[1.0, 0.0], [0.0, 0.0]])), "float32_2")

    def test_interval_ends_out_of_range(self) -> None:
        with pytest.raises(DataError, match=r"interval end 3 is out of order or outside 0\.\.=2"):
            codec.encode((np.array([1, 2]), np.array([1, 2])), "int8_1", interval_ends=[3])


def test_decimated_view_names_mean_min_max_without_copying() -> None:
    rows = np.zeros(2, codec.layout_dtype("float32_6"))
    rows["data"] = np.arange(12, dtype=np.float32).reshape(2, 6)
    view = codec.decimated_view(rows)
    assert view["mean"].tolist() == [[0, 1], [6, 7]]
    assert view["min"].tolist() == [[2, 3], [8, 9]]
    assert view["max"].tolist() == [[4, 5], [10, 11]]
    assert np.shares_memory(view, rows)


def test_decimated_view_refuses_raw_layouts() -> None:
    with pytest.raises(DecimationError, match="not decimated data"):
        codec.decimated_view(np.zeros(1, codec.layout_dtype("int32_3")))
    with pytest.raises(DecimationError, match="not decimated data"):
        codec.decimated_view(np.zeros(1, codec.layout_dtype("float32_4")))
