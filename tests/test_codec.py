"""The codec against a small pure-numpy reference and an exact pure-Python one, and every
error it raises."""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from joule_sync import DataError, DecimationError, _codec, codec

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


def large_frame(layout: str, tokens: list[int], extra_rows: int = 0) -> bytes:
    """A frame just above the two-thread size, with interval tokens at the given row indices
    (negative ones count from the end)."""
    dtype = codec.layout_dtype(layout)
    n = _codec.PARALLEL_BYTES // dtype.itemsize + 1 + extra_rows
    rows = np.zeros(n, dtype=dtype)
    rows["timestamp"] = np.arange(1, n + 1)
    rows["data"] = (np.arange(n * dtype["data"].shape[0]) % 101).reshape(n, -1)
    raw = rows.view(np.uint8).reshape(n, -1).copy()
    raw[[t % n for t in tokens]] = 0
    return raw.tobytes()


@pytest.mark.parametrize("byteorder", ORDERS)
@pytest.mark.parametrize(
    "where",
    [
        "none",
        "first row",
        "last row",
        "first and last rows",
        "just before the split",
        "at the split",
        "just after the split",
        "around the split",
        "all over",
    ],
)
def test_a_large_frame_decodes_in_two_threads_like_the_reference(
    where: str, byteorder: str
) -> None:
    layout = "int16_3"
    rows = _codec.PARALLEL_BYTES // codec.layout_dtype(layout).itemsize + 1
    split = rows // 2  # the rows before it are decoded in the second thread
    tokens = {
        "none": [],
        "first row": [0],
        "last row": [-1],
        "first and last rows": [0, 1, -2, -1],
        "just before the split": [split - 1],
        "at the split": [split],
        "just after the split": [split + 1],
        "around the split": [split - 2, split - 1, split, split + 1],
        "all over": list(range(0, rows, 997)),
    }[where]
    wire = large_frame(layout, tokens)
    assert len(wire) >= _codec.PARALLEL_BYTES
    ref_rows, ref_ends = reference_decode(wire, layout, byteorder)
    decoded = codec.decode(wire, layout, byteorder=byteorder)  # type: ignore[arg-type]
    assert decoded.data.dtype == codec.layout_dtype(layout)
    assert decoded.data.tobytes() == ref_rows.tobytes()
    assert decoded.interval_ends == ref_ends
    assert [len(p) for p in np.split(decoded.data, decoded.interval_ends)] == [
        len(p) for p in np.split(ref_rows, ref_ends)
    ]


@settings(max_examples=40, deadline=None)
@given(
    layout=st.sampled_from(["int16_1", "float32_3", "uint8_5", "float64_2"]),
    extra_rows=st.integers(0, 5000),
    near_split=st.lists(st.integers(-3, 3), max_size=4),
    anywhere=st.lists(st.floats(0, 1), max_size=4),
    byteorder=st.sampled_from(ORDERS),
)
def test_large_frames_with_tokens_anywhere_decode_like_the_reference(
    layout: str, extra_rows: int, near_split: list[int], anywhere: list[float], byteorder: str
) -> None:
    row_size = codec.layout_dtype(layout).itemsize
    rows = _codec.PARALLEL_BYTES // row_size + 1 + extra_rows
    tokens = [rows // 2 + d for d in near_split] + [int(f * (rows - 1)) for f in anywhere]
    wire = large_frame(layout, tokens, extra_rows)
    ref_rows, ref_ends = reference_decode(wire, layout, byteorder)
    decoded = codec.decode(wire, layout, byteorder=byteorder)  # type: ignore[arg-type]
    assert decoded.data.tobytes() == ref_rows.tobytes()
    assert decoded.interval_ends == ref_ends


def test_a_large_frame_cut_inside_a_row_is_an_error_counting_its_rows() -> None:
    wire = large_frame("float32_3", [0, -1])
    rows = len(wire) // 20
    with pytest.raises(
        DataError, match=rf"7 byte\(s\) left over after {rows - 2} complete row\(s\)"
    ):
        codec.decode(wire[:-13], "float32_3")  # the last (token) row cut: one token left


def test_collecting_past_the_first_reservation_keeps_every_row_and_break() -> None:
    """``feed_collect`` grows its buffer (by ``mremap``) past the 64 MiB first reservation:
    rows written before the move must arrive intact, breaks counted from the first row."""
    layout = "float64_8"  # 72-byte rows: 1,000,000 rows is 72 MB
    tokens = [0, 499_999, 931_000, 999_999]
    wire = large_frame(layout, tokens, 1_000_000 - _codec.PARALLEL_BYTES // 72 - 1)
    assert len(wire) > 64 << 20
    ref_rows, ref_ends = reference_decode(wire, layout, "little")
    decoder = codec.Decoder(layout)
    view = memoryview(wire)
    ends: list[int] = []
    for start in range(0, len(wire), 65_537):  # chunks that split rows
        ends += decoder.feed_collect(view[start : start + 65_537])
    decoder.finish()
    collected = decoder.take_collected()
    assert collected.dtype == codec.layout_dtype(layout)
    assert collected.tobytes() == ref_rows.tobytes()
    assert ends == ref_ends
    assert len(decoder.take_collected()) == 0  # collecting starts again from empty


def test_a_collecting_decoder_cut_inside_a_row_is_a_data_error() -> None:
    decoder = codec.Decoder("int16_1")
    assert decoder.feed_collect(bytes(10) + b"\x01" * 13) == [0]
    with pytest.raises(DataError, match=r"3 byte\(s\) left over after 1 complete row\(s\)"):
        decoder.finish()
    assert decoder.take_collected()["data"].tolist() == [[0x0101]]


class TestCsvFormatter:
    def test_lines_of_the_chosen_elements(self) -> None:
        rows = np.zeros(2, codec.layout_dtype("float32_3"))
        rows["timestamp"] = [1, 2]
        rows["data"] = [[0.5, 1.0, -2.25], [3.0, 4.0, 5.0]]
        assert codec.CsvFormatter("float32_3").format(rows) == b"1,0.5,1.0,-2.25\n2,3.0,4.0,5.0\n"
        upstream = codec.CsvFormatter("float32_3", delimiter=" ", columns=[2, 0], decimals=6)
        assert upstream.format(rows[::-1]) == b"2 5.000000 3.000000\n1 -2.250000 0.500000\n"

    def test_write_reuses_its_buffer_for_batches_of_any_size(self) -> None:
        rows = np.zeros(1000, codec.layout_dtype("float64_2"))
        rows["timestamp"] = np.arange(1000) - 500
        rows["data"] = np.random.default_rng(1).normal(0, 1e10, (1000, 2))
        formatter = codec.CsvFormatter("float64_2")
        out = io.BytesIO()
        batches = [rows[:10], rows[10:700], rows[700:701], rows[701:], rows[:0]]
        written = [formatter.write(batch, out) for batch in batches]
        text = out.getvalue()
        assert text == formatter.format(rows) and written[-1] == 0 and sum(written) == len(text)
        lines = np.loadtxt(io.StringIO(text.decode()), delimiter=",")
        assert lines[:, 0].astype(np.int64).tolist() == rows["timestamp"].tolist()
        assert np.array_equal(lines[:, 1:], rows["data"])

    def test_refusals_are_data_errors(self) -> None:
        with pytest.raises(DataError, match="the delimiter must be one ASCII character"):
            codec.CsvFormatter("int8_2", delimiter="; ")
        with pytest.raises(DataError, match="element 2 does not exist"):
            codec.CsvFormatter("int8_2", columns=[2])
        with pytest.raises(DataError, match="unknown element type"):
            codec.CsvFormatter("int9_2")
        with pytest.raises(DataError, match="not a whole number of 10-byte rows"):
            codec.CsvFormatter("int8_2").format(np.zeros(1, codec.layout_dtype("int8_3")))
        with pytest.raises(DataError, match=r"'\.' cannot be a delimiter"):
            codec.CsvFormatter("float32_1", delimiter=".")
        with pytest.raises(DataError, match="31 decimals: at most 30"):
            codec.CsvFormatter("float64_1", decimals=31)
        with pytest.raises(DataError, match="'0' cannot be a delimiter"):
            codec.CsvParser("int8_1", delimiter="0")

    def test_write_gives_an_unbuffered_file_every_byte(self, tmp_path: Path) -> None:
        rows = np.zeros(50_000, codec.layout_dtype("int64_4"))
        rows["timestamp"] = np.arange(len(rows))
        formatter = codec.CsvFormatter("int64_4")
        with (tmp_path / "rows.csv").open("wb", buffering=0) as file:
            written = formatter.write(rows, file)
        assert (tmp_path / "rows.csv").read_bytes() == formatter.format(rows)
        assert written == len(formatter.format(rows))


@settings(max_examples=200, deadline=None)
@given(frame=frames(), data=st.data())
def test_formatted_rows_parse_back_from_pieces_cut_anywhere(
    frame: tuple[str, npt.NDArray[np.void], list[int]], data: st.DataObject
) -> None:
    layout, rows, _ = frame
    text = codec.CsvFormatter(layout).format(rows)
    parser = codec.CsvParser(layout)
    pieces = [parser.feed(piece) for piece in split_anywhere(data.draw, text)]
    back = np.concatenate([*pieces, parser.finish()])
    assert back.tobytes() == rows.tobytes()


FLOAT32_ROUNDS_TO_INFINITY = Fraction(2**128 - 2**103)
"""float32's largest value plus half its step: a decimal from here on rounds to infinity."""


def float32_of(text: str) -> float | None:
    """The float32 nearest the decimal (ties to even), exactly (``np.float32(float(text))``
    rounds twice); None where that is infinity."""
    exact = Fraction(text)
    if abs(exact) >= FLOAT32_ROUNDS_TO_INFINITY:
        return None
    largest = np.finfo(np.float32).max
    near = np.float32(np.clip(float(text), -largest, largest))
    candidates = [np.nextafter(near, np.float32(-np.inf)), near, np.nextafter(near, largest)]
    nearest = min(
        (c for c in candidates if np.isfinite(c)),
        key=lambda c: (abs(Fraction(float(c)) - exact), int(c.view(np.uint32)) & 1),
    )
    return float(nearest)


@st.composite
def spelled_numbers(draw: st.DrawFn, element: str) -> tuple[str, float | None]:
    """A number of a float column as other tools spell it, and the value it reads as (None:
    beyond the type, refused)."""
    if draw(st.booleans()) and draw(st.booleans()):
        words = {"inf": math.inf, "-inf": -math.inf, "Infinity": math.inf, "-0": -0.0}
        word = draw(st.sampled_from(sorted(words)))
        return word, words[word]
    digits = str(draw(st.integers(0, 10**19)))
    point = draw(st.integers(0, len(digits)))
    whole, fraction = digits[: len(digits) - point], digits[len(digits) - point :]
    decimal = f"{whole}.{fraction}" if whole or fraction else "0"  # ".5" and "5." too
    form = draw(st.sampled_from(["{}", "-{}", "+{}", "{}e{}", "{}E+{}", "-{}e-{}"]))
    text = form.format(decimal, draw(st.integers(0, 45)))
    if element == "float64":
        value = float(text)
        return text, value if math.isfinite(value) else None
    return text, float32_of(text)


@st.composite
def spelled_tables(draw: st.DrawFn) -> tuple[str, str, npt.NDArray[np.void] | None]:
    """A layout, CSV text of rows of it as other tools spell numbers (quotes, exponents, a
    plus sign, CRLF, empty lines), and the rows it holds (None: a number beyond the type)."""
    element = draw(st.sampled_from(["int16", "int64", "uint64", "float32", "float64"]))
    width = draw(st.integers(1, 4))
    dtype = codec.layout_dtype(f"{element}_{width}")
    info = np.iinfo(dtype["data"].base) if element.startswith(("int", "uint")) else None
    lines, rows, refused = [], [], False
    for _ in range(draw(st.integers(0, 8))):
        timestamp = draw(st.integers(-(2**63), 2**63 - 1))
        fields, values = [str(timestamp)], []
        for _ in range(width):
            if info is not None:
                number: float | None = draw(st.integers(int(info.min), int(info.max)))
                text = draw(st.sampled_from(["{}", "+{}"])).format(number).replace("+-", "-")
            else:
                text, number = draw(spelled_numbers(element))
            refused |= number is None
            fields.append(draw(st.sampled_from(["{}", '"{}"'])).format(text))
            values.append(number)
        lines.append(",".join(fields) + draw(st.sampled_from(["\n", "\r\n", "\n\n"])))
        rows.append((timestamp, values))
    return f"{element}_{width}", "".join(lines), None if refused else np.array(rows, dtype)


@settings(max_examples=300, deadline=None)
@given(table=spelled_tables(), data=st.data())
def test_numbers_spelled_as_other_tools_spell_them_read_as_exact_decimals(
    table: tuple[str, str, npt.NDArray[np.void] | None], data: st.DataObject
) -> None:
    layout, text, expected = table
    parser = codec.CsvParser(layout)
    pieces = split_anywhere(data.draw, text.encode())
    if expected is None:
        with pytest.raises(DataError, match=r"line \d+, field \d+: '.*' does not fit float"):
            [parser.feed(piece) for piece in pieces]
        return
    rows = np.concatenate([*(parser.feed(piece) for piece in pieces), parser.finish()])
    assert rows.tobytes() == expected.tobytes()  # bit for bit: the sign of a zero too


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

    def test_fractional_timestamps_are_rounded(self) -> None:
        frame = codec.encode((np.array([1.0, 2.5, 3.5]), np.array([1.0, 2.0, 3.0])), "float32_1")
        assert codec.decode(frame, "float32_1").data["timestamp"].tolist() == [1, 2, 4]

    def test_nan_is_a_value_for_float_layouts(self) -> None:
        decoded = codec.decode(
            codec.encode((np.array([1]), np.array([np.nan])), "float64_1"), "float64_1"
        )
        assert np.isnan(decoded.data["data"][0, 0])


TABLE_DTYPES = ["float64", "float32", "int64", "int32"]


def as_pair(table: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """The same rows as a (timestamps, values) pair."""
    return table[:, 0], table[:, 1:]


def encoded_or_error(data: Any, layout: str, **kwargs: Any) -> bytes | str:
    try:
        return codec.encode(data, layout, **kwargs)
    except DataError as error:
        return f"DataError: {error}"


def rows_or_error(data: Any, layout: str) -> bytes | str:
    try:
        return codec.to_rows(data, layout).tobytes()
    except DataError as error:
        return f"DataError: {error}"


PACK = {
    "int8": "b",
    "int16": "h",
    "int32": "i",
    "int64": "q",
    "uint8": "B",
    "uint16": "H",
    "uint32": "I",
    "uint64": "Q",
    "float32": "f",
    "float64": "d",
}
Number = int | float  # bools are ints


def nearest_float32(value: int) -> float:
    """The float32 nearest an integer, ties to even: ``float(value)`` first would round twice."""
    magnitude = abs(value)
    drop = max(magnitude.bit_length() - 24, 0)
    kept, rest = divmod(magnitude, 1 << drop)
    if 2 * rest > 1 << drop or (2 * rest == 1 << drop and kept & 1):
        kept += 1
    return math.copysign(float(kept << drop), value)


def stored_element(value: Number, element: str) -> Number | None:
    """``value`` as a layout of ``element`` holds it, or None when that would change it."""
    if element == "float64":
        return float(value)
    if element == "float32":
        if isinstance(value, int):
            return nearest_float32(value)
        try:  # rounds to nearest; a finite value beyond float32 is an OverflowError
            stored: float = struct.unpack("<f", struct.pack("<f", value))[0]
        except OverflowError:
            return None
        return stored
    if isinstance(value, float) and not value.is_integer():  # NaN and infinities too
        return None
    info = np.iinfo(element)
    return int(value) if info.min <= int(value) <= info.max else None


def stored_timestamp(value: Number) -> int | None:
    """A timestamp as int64, floats rounded half to even by Python's ``round``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    rounded = round(value)
    return rounded if -(2**63) <= rounded < 2**63 else None


def shown(value: Number) -> str:
    """As the codec names a value: Python's ``repr`` of numpy's ``.item()``."""
    return repr(int(value) if isinstance(value, bool) else value)


def expected_rows(
    timestamps: Sequence[Number],
    values: Sequence[Sequence[Number]],
    layout: str,
    *,
    compared: bool = True,
    previous: int | None = None,
    byteorder: str = "little",
) -> list[bytes] | str:
    """The packed rows, or the refusal naming the earliest row with any flaw, by the codec's
    rules in exact Python.  ``compared`` also refuses timestamps that do not increase (after
    ``previous``) and rows that read as interval breaks, as an encoder does."""
    element, width = layout.rsplit("_", 1)
    order = ">" if byteorder == "big" else "<"
    packed = []
    for row, (held, elements) in enumerate(zip(timestamps, values, strict=True)):
        timestamp = stored_timestamp(held)
        if timestamp is None:
            return f"DataError: row {row}: timestamp {shown(held)} cannot be stored as int64"
        stored = [stored_element(value, element) for value in elements]
        if None in stored:
            flawed = stored.index(None)
            return (
                f"DataError: row {row}, element {flawed}: {layout} value "
                f"{shown(elements[flawed])} cannot be stored as {element}"
            )
        raw = struct.pack(f"{order}q{width}{PACK[element]}", timestamp, *stored)
        if compared and previous is not None and timestamp <= previous:
            return (
                f"DataError: row {row}: timestamp {timestamp} is not after the previous "
                f"timestamp {previous} (timestamps must be monotonic: strictly increasing)"
            )
        if compared and not any(raw):
            return (
                f"DataError: row {row}: timestamp 0 with every element 0 would read back as "
                f"an interval break"
            )
        previous = timestamp
        packed.append(raw)
    return packed


def expected_frame(
    timestamps: Sequence[Number],
    values: Sequence[Sequence[Number]],
    layout: str,
    *,
    interval_ends: Sequence[int] = (),
    byteorder: str = "little",
    previous: int | None = None,
) -> bytes | str:
    """The frame an encoder sends for these numbers, or its refusal, in exact Python."""
    rows = expected_rows(timestamps, values, layout, byteorder=byteorder, previous=previous)
    if isinstance(rows, str):
        return rows
    token = bytes(codec.layout_dtype(layout).itemsize)
    parts, start = [], 0
    for end in interval_ends:
        parts += [*rows[start:end], token]
        start = end
    return b"".join(parts + rows[start:])


def numbers_of(table: npt.NDArray[Any]) -> tuple[list[Number], list[list[Number]]]:
    """A table's timestamps and rows of values as the Python numbers it holds."""
    return table[:, 0].tolist(), table[:, 1:].tolist()


def expected_to_rows(
    timestamps: Sequence[Number], values: Sequence[Sequence[Number]], layout: str
) -> bytes | str:
    """What ``to_rows`` gives: converted rows, in any order, or the first it cannot store."""
    rows = expected_rows(timestamps, values, layout, compared=False)
    return rows if isinstance(rows, str) else b"".join(rows)


class TestEncoderTables:
    """2-D numeric arrays are converted, checked and encoded in one pass in the extension,
    exactly as the rules in Python say, and as the same rows given as a pair."""

    @pytest.mark.parametrize("source", TABLE_DTYPES)
    @pytest.mark.parametrize("layout", [f"{t}_3" for t in TYPES])
    @pytest.mark.parametrize("byteorder", ORDERS)
    def test_every_source_type_into_every_layout_matches_exact_python(
        self, source: str, layout: str, byteorder: str
    ) -> None:
        table = np.zeros((200, 4), dtype=source)
        table[:, 0] = np.arange(200) * 1000 - 50_000
        table[:, 1:] = (np.arange(600) % 120).reshape(200, 3)
        ends = [0, 17, 17, 200]
        kwargs = {"byteorder": byteorder, "interval_ends": ends}
        frame = codec.encode(table, layout, **kwargs)  # type: ignore[arg-type]
        assert frame == codec.encode(as_pair(table), layout, **kwargs)  # type: ignore[arg-type]
        assert frame == expected_frame(
            *numbers_of(table), layout, interval_ends=ends, byteorder=byteorder
        )
        back = codec.decode(frame, layout, byteorder=byteorder)  # type: ignore[arg-type]
        assert back.data["timestamp"].tolist() == table[:, 0].astype(np.int64).tolist()
        assert back.interval_ends == ends

    @settings(max_examples=300, deadline=None)
    @given(
        layout=st.sampled_from([f"{t}_{n}" for t in TYPES for n in (1, 3)]),
        values=st.lists(
            st.one_of(
                st.floats(allow_nan=True, allow_infinity=True),
                st.integers(-(2**64), 2**64).map(float),
                st.integers(-300, 300).map(float),
                st.sampled_from([0.5, -0.0, 2.0**63, -(2.0**63), 2.0**64, 3.5e38, 1e39]),
            ),
            min_size=1,
            max_size=24,
        ),
        steps=st.lists(st.integers(1, 1000), min_size=24, max_size=24),
        source=st.sampled_from(["float64", "float32"]),
    )
    def test_any_float_table_encodes_or_fails_exactly_as_python_says(
        self, layout: str, values: list[float], steps: list[int], source: str
    ) -> None:
        width = int(layout.rsplit("_", 1)[1])
        rows = max(1, len(values) // width)
        cells = (values * width)[: rows * width]
        table = np.empty((rows, width + 1), dtype=source)
        with np.errstate(over="ignore"):
            table[:, 1:] = np.array(cells).reshape(rows, width)
        table[:, 0] = np.cumsum(steps[:rows]) + 1  # increasing, never a token
        expected = expected_frame(*numbers_of(table), layout)
        assert encoded_or_error(table, layout) == expected
        assert encoded_or_error(as_pair(table), layout) == expected

    @settings(max_examples=200, deadline=None)
    @given(
        layout=st.sampled_from([f"{t}_2" for t in TYPES]),
        values=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=2, max_size=20),
        source=st.sampled_from(["int64", "int32"]),
    )
    def test_any_integer_table_encodes_or_fails_exactly_as_python_says(
        self, layout: str, values: list[int], source: str
    ) -> None:
        info = np.iinfo(source)
        cells = np.array([min(max(v, info.min), info.max) for v in values], dtype=source)
        rows = len(cells) // 2
        table = np.empty((rows, 3), dtype=source)
        table[:, 1:] = cells[: rows * 2].reshape(rows, 2)
        table[:, 0] = np.arange(1, rows + 1)
        expected = expected_frame(*numbers_of(table), layout)
        assert encoded_or_error(table, layout) == expected
        assert encoded_or_error(as_pair(table), layout) == expected

    @pytest.mark.parametrize(
        ("table", "layout", "message"),
        [
            (
                [[1, 5, 6, 7], [2, 5, 6, 7], [3, 5, 6, 7], [4, 5, 1e9, 7]],
                "int16_3",
                "row 3, element 1: int16_3 value 1000000000.0 cannot be stored as int16",
            ),
            ([[1, 1], [2, np.nan]], "int32_1", "row 1, element 0: int32_1 value nan"),
            ([[1, 1], [2, np.inf]], "int8_1", "row 1, element 0: int8_1 value inf"),
            ([[1, 2.5]], "int64_1", "row 0, element 0: int64_1 value 2.5 cannot be stored"),
            ([[1, -1]], "uint16_1", "row 0, element 0: uint16_1 value -1.0 cannot be stored"),
            ([[1, 2.0**64]], "uint64_1", "row 0, element 0: uint64_1 value 1.8446744073709552e"),
            ([[1, 0, 1e300]], "float32_2", "row 0, element 1: float32_2 value 1e\\+300 cannot"),
            ([[np.nan, 1]], "int8_1", "row 0: timestamp nan cannot be stored as int64"),
            ([[0.5, 1], [np.inf, 1]], "int8_1", "row 1: timestamp inf cannot be stored as int64"),
            ([[-np.inf, 1]], "int8_1", "row 0: timestamp -inf cannot be stored as int64"),
            ([[2.0**63, 1]], "int8_1", "row 0: timestamp 9.223372036854776e\\+18 cannot"),
            ([[-(2.0**63) - 2048, 1]], "int8_1", "row 0: timestamp -9.223372036854778e\\+18"),
            ([[1000.2, 1], [1000.4, 1]], "int8_1", "row 1: timestamp 1000 is not after .* 1000"),
            ([[1, 1], [1, 2]], "int8_1", "row 1: timestamp 1 is not after the previous"),
            ([[2, 1], [1, 2]], "int8_1", "row 1: timestamp 1 is not after the previous"),
            ([[-1, 1, 1], [0, 0, 0]], "float32_2", "row 1: timestamp 0 with every element 0"),
            ([[1, 1, 1]], "int8_1", "data has 2 element\\(s\\) per row but layout int8_1 needs 1"),
        ],
    )
    def test_every_refusal_names_the_row(
        self, table: list[list[float]], layout: str, message: str
    ) -> None:
        with pytest.raises(DataError, match=message):
            codec.encode(np.array(table, dtype=np.float64), layout)

    def test_integer_tables_out_of_range(self) -> None:
        with pytest.raises(
            DataError, match="row 1, element 1: int16_2 value 40000 cannot be stored as int16"
        ):
            codec.encode(np.array([[1, 0, 0], [2, 0, 40_000]]), "int16_2")
        with pytest.raises(DataError, match="row 0, element 0: uint8_1 value -1 cannot be"):
            codec.encode(np.array([[1, -1]], dtype=np.int32), "uint8_1")

    def test_the_earliest_row_with_any_flaw_is_named(self) -> None:
        repeated_then_too_big = np.array([[1, 1], [1, 1], [2, 1e9]])
        with pytest.raises(DataError, match="row 1: timestamp 1 is not after"):
            codec.encode(repeated_then_too_big, "int16_1")
        too_big_then_repeated = np.array([[1, 1], [2, 1e9], [2, 1]])
        with pytest.raises(DataError, match=r"row 1, element 0: int16_1 value 1000000000\.0"):
            codec.encode(too_big_then_repeated, "int16_1")
        long = np.ones((300_000, 2))
        long[:, 0] = np.arange(1, 300_001)
        long[250_001, 1] = 0.5
        with pytest.raises(DataError, match=r"row 250001, element 0: int16_1 value 0\.5"):
            codec.encode(long, "int16_1", interval_ends=[100_000])

    def test_interval_ends_are_checked_first(self) -> None:
        with pytest.raises(DataError, match=r"interval end 3 is out of order or outside 0\.\.=2"):
            codec.encode(np.array([[1, 1e9], [2, 1]]), "int8_1", interval_ends=[3])

    def test_fortran_order_and_foreign_byte_order(self) -> None:
        table = np.array([[1, 0.5, 1.5], [2, 2.5, 3.5]])
        expected = expected_frame(*numbers_of(table), "float32_2")
        assert codec.encode(np.asfortranarray(table), "float32_2") == expected
        assert codec.encode(table.astype(">f8"), "float32_2") == expected
        assert codec.encode(table[:, [0, 1, 2]][::1], "float32_2") == expected
        assert codec.encode(np.hstack([table, table])[:, :3], "float32_2") == expected

    def test_across_calls_and_after_stored_data(self) -> None:
        encoder = codec.Encoder("int16_1", last_timestamp=100)
        with pytest.raises(DataError, match="row 0: timestamp 100 is not after"):
            encoder.encode(np.array([[100, 1], [101, 1]]))
        assert encoder.last_timestamp == 100  # a refused call changes nothing
        encoder.encode(np.array([[101.0, 1.0], [102.0, 2.0]]))
        assert encoder.last_timestamp == 102
        with pytest.raises(DataError, match="row 0: timestamp 102 is not after"):
            encoder.encode(np.array([[102, 1]]))
        assert encoder.last_timestamp == 102

    def test_empty_and_large_tables(self) -> None:
        assert codec.encode(np.zeros((0, 3)), "int16_2") == b""
        assert codec.encode(np.zeros((0, 3)), "int16_2", interval_ends=[0]) == bytes(12)
        table = np.ones((1_000_000, 4))  # large enough to run without the GIL
        table[:, 0] = np.arange(1, 1_000_001)
        rows = np.zeros(1_000_000, codec.layout_dtype("uint16_3"))
        rows["timestamp"], rows["data"] = table[:, 0], 1
        assert codec.encode(table, "uint16_3") == codec.encode(rows, "uint16_3")
        assert codec.encode(as_pair(table), "uint16_3") == codec.encode(rows, "uint16_3")


# every numeric dtype but longdouble: the extension takes five, numpy casts the rest first
VALUE_DTYPES = [*TYPES, "float16", "bool"]
TIMESTAMP_DTYPES = ["int64", "uint64", "float64", "float32", "float16", "int16", "uint32", "bool"]


@st.composite
def mixed_pairs(
    draw: st.DrawFn,
) -> tuple[str, npt.NDArray[Any], npt.NDArray[Any], list[int]]:
    """A layout, timestamps of one dtype (int64 and uint64 ones often near 2^63) and values of
    another, often fitting, in either byte order, and sorted interval ends."""
    layout = f"{draw(st.sampled_from(TYPES))}_{draw(st.integers(1, 3))}"
    width = int(layout.rsplit("_", 1)[1])
    n = draw(st.integers(0, 12))
    ts_dtype: np.dtype[Any] = np.dtype(draw(st.sampled_from(TIMESTAMP_DTYPES)))
    start = draw(
        st.one_of(
            st.integers(2**63 - 3000, 2**63 + 3000),
            st.integers(-(2**63), -(2**63) + 3000),
            st.integers(-3000, 3000),
        )
    )
    steps = draw(st.lists(st.integers(0, 400), min_size=n, max_size=n))  # 0: a repeat
    wanted = [start + sum(steps[: i + 1]) for i in range(n)]
    if ts_dtype.kind in "iu":
        info = np.iinfo(ts_dtype)
        wanted = [min(max(t, info.min), info.max) for t in wanted]
    with np.errstate(over="ignore"):  # float types hold what they can: inf beyond their range
        timestamps = np.array(wanted, dtype=object).astype(ts_dtype)
        if ts_dtype.kind == "f" and n:
            fractions = draw(hnp.arrays(np.float64, n, elements=st.floats(-1, 1)))
            timestamps = (timestamps + fractions).astype(ts_dtype)
            special = draw(st.sampled_from([None, np.nan, np.inf, -np.inf, 2.0**63]))
            if special is not None:
                timestamps[draw(st.integers(0, n - 1))] = special
    v_dtype = np.dtype(draw(st.sampled_from(VALUE_DTYPES)))
    fitting = st.integers(0, 100).map(v_dtype.type)
    values = draw(
        hnp.arrays(v_dtype, (n, width), elements=st.one_of(hnp.from_dtype(v_dtype), fitting))
    )
    if draw(st.booleans()):
        values = values.astype(v_dtype.newbyteorder(">"))
    ends = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
    return layout, timestamps, values, ends


class TestMixedTypes:
    """Timestamps and values of different types, and the dtypes the extension does not take:
    converted, checked and encoded in the extension, exactly as the rules in Python say."""

    @settings(max_examples=500, deadline=None)
    @given(case=mixed_pairs())
    def test_any_pair_encodes_and_converts_exactly_as_python_says(
        self, case: tuple[str, npt.NDArray[Any], npt.NDArray[Any], list[int]]
    ) -> None:
        layout, timestamps, values, ends = case
        held = timestamps.tolist(), values.tolist()
        structured = np.empty(
            len(values), [("timestamp", timestamps.dtype), ("data", values.dtype, values.shape[1:])]
        )
        structured["timestamp"], structured["data"] = timestamps, values
        expected = expected_frame(*held, layout, interval_ends=ends)
        for data in [(timestamps, values), structured]:
            assert encoded_or_error(data, layout, interval_ends=ends) == expected
            assert rows_or_error(data, layout) == expected_to_rows(*held, layout)

    def test_int64_timestamps_near_2_63_stay_exact_beside_float32_values(self) -> None:
        timestamps = np.array([2**63 - 3, 2**63 - 2, 2**63 - 1], dtype=np.int64)
        values = np.array([[0.1], [0.2], [np.nan]], dtype=np.float32)
        decoded = codec.decode(codec.encode((timestamps, values), "float32_1"), "float32_1")
        assert decoded.data["timestamp"].tolist() == [2**63 - 3, 2**63 - 2, 2**63 - 1]
        assert decoded.data["data"].tobytes() == values.tobytes()
        assert codec.to_rows((timestamps, values), "float32_1").tobytes() == decoded.data.tobytes()
        # as float64 they would all be 2^63, which int64 cannot hold
        assert float(timestamps[0]) == 2.0**63

    def test_uint64_values_above_int64_are_exact_or_refused_by_name(self) -> None:
        timestamps = np.array([1, 2], dtype=np.int64)
        values = np.array([2**63, 2**64 - 1], dtype=np.uint64)
        rows = codec.to_rows((timestamps, values), "uint64_1")
        assert rows["data"][:, 0].tolist() == [2**63, 2**64 - 1]
        with pytest.raises(
            DataError, match="row 0, element 0: int64_1 value 9223372036854775808 cannot be"
        ):
            codec.encode((timestamps, values), "int64_1")
        assert codec.to_rows((timestamps, values), "float64_1")["data"][:, 0].tolist() == [
            2.0**63,
            2.0**64,
        ]
        with pytest.raises(
            DataError, match="row 1: timestamp 9223372036854775808 cannot be stored as int64"
        ):
            codec.encode((np.array([1, 2**63], dtype=np.uint64), values), "uint64_1")

    @pytest.mark.parametrize(
        "source", ["float16", "bool", "int8", "int16", "uint8", "uint16", "uint32", "uint64"]
    )
    @pytest.mark.parametrize("layout", ["int8_2", "uint16_2", "float32_2", "float64_2"])
    def test_tables_of_other_dtypes_are_cast_without_loss(self, source: str, layout: str) -> None:
        table = np.array([[1, 0, 1], [2, 1, 1], [3, 1, 0], [4, 0, 0]]).astype(source)
        if source != "bool":
            table[:, 1:] *= np.array(100).astype(source)
        expected = expected_frame(*numbers_of(table), layout)
        assert encoded_or_error(table, layout) == expected
        assert (
            encoded_or_error(table.astype(np.dtype(source).newbyteorder(">")), layout) == expected
        )

    def test_misaligned_fields_of_a_packed_structured_array(self) -> None:
        # one row: the int32 field at offset 2 counts as contiguous, yet is misaligned
        for rows in (1, 3):
            packed = np.zeros(rows, [("timestamp", "<i2"), ("data", "<i4", (1,))])
            packed["timestamp"], packed["data"][:, 0] = np.arange(1, rows + 1), 7
            converted = codec.to_rows(packed, "int8_1")
            assert converted["timestamp"].tolist() == list(range(1, rows + 1))
            assert converted["data"].tolist() == [[7]] * rows
            assert codec.encode(packed, "int8_1") == converted.tobytes()

    def test_to_rows_converts_without_comparing_timestamps(self) -> None:
        rows = codec.to_rows((np.array([5, 0, 5]), np.array([1.5, 0.0, 2.5])), "float32_1")
        assert rows["timestamp"].tolist() == [5, 0, 5]
        assert rows["data"][:, 0].tolist() == [1.5, 0.0, 2.5]
        with pytest.raises(
            DataError, match="row 1: timestamp 0 is not after the previous timestamp 5"
        ):
            codec.encode(rows, "float32_1")

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (np.ones((2, 3), dtype=np.longdouble), "table values of dtype float128 would lose"),
            ((np.ones((2, 1)), np.ones((2, 2))), "timestamps must be one-dimensional"),
            ((np.ones(2), np.ones((2, 2, 2))), r"data has shape \(2, 2, 2\) element\(s\) per"),
            ((np.ones(2), np.ones((3, 2))), "2 timestamps for 3 rows of values"),
            ((np.ones(2), np.ones((2, 3))), "data has 3 element\\(s\\) per row but layout"),
            ((np.ones(2, dtype="m8[s]"), np.ones((2, 2))), "timestamp values must be numeric"),
            (np.ones((2, 3), dtype=complex), "table values must be numeric, got dtype complex"),
            (np.zeros(2, [("timestamp", "<i8")]), r"lacks field\(s\) \['data'\]"),
        ],
    )
    def test_what_cannot_be_converted_is_named(self, data: Any, message: str) -> None:
        with pytest.raises(DataError, match=message):
            codec.encode(data, "float32_2")
        with pytest.raises(DataError, match=message):
            codec.to_rows(data, "float32_2")


def notebook_table() -> npt.NDArray[np.float64]:
    """Upstream's demo notebook: float µs timestamps such as 9000.000000000002."""
    t = np.arange(0, 1, 0.001)
    data: npt.NDArray[np.float64] = np.vstack((t * 1e6, np.sin(t), np.cos(t))).T
    return data


def rounded_or_refused(timestamps: list[float]) -> list[int] | str:
    """Timestamps rounded half to even by Python's ``round`` (exact for any float), or the
    refusal naming the earliest row with any flaw."""
    refusal = expected_rows(timestamps, [[1]] * len(timestamps), "int8_1")
    return refusal if isinstance(refusal, str) else [round(t) for t in timestamps]


class TestFractionalTimestamps:
    """Float timestamps are rounded to the nearest µs, half to even (``np.rint``), in any
    form the rows come in; upstream truncates them."""

    @pytest.mark.parametrize("source", ["float64", "float32"])
    def test_upstreams_notebook_gives_whole_milliseconds(self, source: str) -> None:
        table = notebook_table().astype(source)
        expected = (np.arange(1000) * 1000).tolist()
        frame = codec.encode(table, "float32_2")
        assert frame == codec.encode(as_pair(table), "float32_2")
        decoded = codec.decode(frame, "float32_2").data
        assert decoded["timestamp"].tolist() == expected
        assert decoded["data"].tolist() == table[:, 1:].astype(np.float32).tolist()
        assert codec.to_rows(table, "float32_2").tobytes() == decoded.tobytes()
        assert (notebook_table()[:, 0] != expected).any()  # the fractions are there to round

    @pytest.mark.parametrize("source", ["table", "pair", "lists"])
    def test_to_the_nearest_microsecond_half_to_even(self, source: str) -> None:
        timestamps = [-2.5, -0.6, 0.5, 1.5, 2.6, 8999.999999999998, 9000.500000000002, 9001.5]
        data: Any = {
            "table": np.column_stack([timestamps, np.ones(8)]),
            "pair": (np.array(timestamps), np.ones(8)),
            "lists": (timestamps, [1.0] * 8),
        }[source]
        decoded = codec.decode(codec.encode(data, "int16_1"), "int16_1").data
        assert decoded["timestamp"].tolist() == [-2, -1, 0, 2, 3, 9000, 9001, 9002]

    @pytest.mark.parametrize("path", [np.asarray, as_pair])
    def test_timestamps_that_round_to_one_microsecond_are_not_increasing(self, path: Any) -> None:
        table = np.array([[999.0, 1.0], [1000.2, 1.0], [1000.4, 1.0]])
        with pytest.raises(
            DataError, match="row 2: timestamp 1000 is not after the previous timestamp 1000"
        ):
            codec.encode(path(table), "int16_1")
        encoder = codec.Encoder("int16_1", last_timestamp=1000)
        for tie_to_even in (1000.4, 1000.5):
            with pytest.raises(DataError, match="row 0: timestamp 1000 is not after"):
                encoder.encode(path(np.array([[tie_to_even, 1.0]])))
        encoder.encode(path(np.array([[1000.6, 1.0]])))
        assert encoder.last_timestamp == 1001

    @pytest.mark.parametrize("path", [np.asarray, as_pair])
    @pytest.mark.parametrize(
        ("timestamp", "shown"),
        [
            (np.nan, "nan"),
            (np.inf, "inf"),
            (-np.inf, "-inf"),
            (2.0**63, "9.223372036854776e\\+18"),
            (-(2.0**63) - 2048, "-9.223372036854778e\\+18"),
        ],
    )
    def test_nan_infinite_and_out_of_range_are_refused(
        self, path: Any, timestamp: float, shown: str
    ) -> None:
        table = np.array([[0.5, 1.0], [timestamp, 1.0]])
        with pytest.raises(DataError, match=f"row 1: timestamp {shown} cannot be stored as int64"):
            codec.encode(path(table), "int16_1")

    @pytest.mark.parametrize("path", [np.asarray, as_pair])
    def test_integer_layouts_still_refuse_fractional_values(self, path: Any) -> None:
        table = np.array([[0.5, 1.0], [1.5, 2.5]])
        with pytest.raises(
            DataError, match=r"row 1, element 0: int16_1 value 2\.5 cannot be stored as int16"
        ):
            codec.encode(path(table), "int16_1")

    @settings(max_examples=300, deadline=None)
    @given(
        layout=st.sampled_from(["int16_1", "uint8_3", "int64_2", "float32_2", "float64_1"]),
        start=st.one_of(
            st.integers(-(10**15), 10**15), st.sampled_from([0, 2**52, -(2**52), 2**62])
        ),
        steps=st.lists(st.integers(0, 3000), min_size=1, max_size=30),
        fractions=st.lists(
            st.one_of(
                st.floats(-1, 1),
                st.sampled_from([0.5, -0.5, 0.49999999999999994, -0.49999999999999994]),
            ),
            min_size=30,
            max_size=30,
        ),
        specials=st.dictionaries(
            st.integers(0, 29),
            st.sampled_from([np.nan, np.inf, -np.inf, 2.0**63, -(2.0**63) - 2048, 2.0**52 - 0.5]),
            max_size=1,
        ),
        source=st.sampled_from(["float64", "float32"]),
    )
    def test_any_float_timestamps_round_exactly_as_python_says(
        self,
        layout: str,
        start: int,
        steps: list[int],
        fractions: list[float],
        specials: dict[int, float],
        source: str,
    ) -> None:
        n, width = len(steps), int(layout.rsplit("_", 1)[1])
        timestamps = (start + np.cumsum(steps)).astype(np.float64) + fractions[:n]
        for row, special in specials.items():
            timestamps[row % n] = special
        table = np.empty((n, width + 1), dtype=source)
        table[:, 0] = timestamps
        table[:, 1:] = (1 + np.arange(n * width) % 7).reshape(n, width)  # never a token
        held = table[:, 0].tolist()  # as the source type holds them
        frame = encoded_or_error(table, layout)
        pair_frame = encoded_or_error(as_pair(table), layout)
        expected = rounded_or_refused(held)
        assert frame == expected_frame(*numbers_of(table), layout)
        if isinstance(expected, str):
            assert frame == expected
            assert pair_frame == expected
        else:
            assert isinstance(frame, bytes) and frame == pair_frame
            assert codec.decode(frame, layout).data["timestamp"].tolist() == expected
            assert codec.to_rows(table, layout)["timestamp"].tolist() == expected


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
