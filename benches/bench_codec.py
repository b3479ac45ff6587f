"""Codec throughput against memcpy, numpy and the upstream client's read loop.

    .venv/bin/python benches/bench_codec.py [--rows 10000000] [--repeat 3]

Every case decodes the same bytes: memcpy into a preallocated buffer (the ceiling),
``np.frombuffer(...).copy()``, the codec on the whole buffer (``codec.decode``: a new
array, in two threads from 4 MiB), the codec's streaming decoder
fed 64 KiB chunks (blocks kept, as read_all does, or dropped as a stream loop
does), and a pure-Python model of upstream's read loop (joule.models.pipes:
10,000-row buffer, ``bytes.find`` for the token then a row-by-row check, ``np.roll`` on
consume).  "alloc+memcpy" is the floor for any decoder that returns a new array: fresh
pages cost the kernel a zeroing pass on first touch, which a warm memcpy never pays.
The upstream loop is slow enough that it runs on the first tenth of the rows,
with the same break density, and is reported as bandwidth like the rest.  Times are the best
of ``--repeat`` runs, interleaved; ratios are to memcpy in the same run.
"""

from __future__ import annotations

import argparse
import ctypes
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from joule_sync import codec

CHUNK = 64 * 1024


def make_frame(layout: str, rows: int, breaks: int) -> tuple[npt.NDArray[np.void], bytes]:
    rng = np.random.default_rng(0)
    data = np.zeros(rows, dtype=codec.layout_dtype(layout))
    data["timestamp"] = 1_700_000_000_000_000 + np.arange(rows, dtype=np.int64) * 1000
    element = data.dtype["data"].base
    if element.kind == "f":
        data["data"] = rng.random(data["data"].shape, dtype=np.float32)
    else:
        data["data"] = rng.integers(-1000, 1000, data["data"].shape)
    ends = np.linspace(0, rows, breaks + 2, dtype=np.int64)[1:-1].tolist() if breaks else []
    return data, codec.encode(data, layout, interval_ends=ends)


def memcpy(buffer: bytes) -> Callable[[], object]:
    target = ctypes.create_string_buffer(len(buffer))
    return lambda: ctypes.memmove(target, buffer, len(buffer))


def alloc_memcpy(buffer: bytes) -> Callable[[], object]:
    """What any decoder returning a new array pays at least: fresh memory, then the copy."""

    def run() -> object:
        target = np.empty(len(buffer), dtype=np.uint8)
        ctypes.memmove(target.ctypes.data, buffer, len(buffer))
        return target

    return run


def chunked_decode(buffer: bytes, layout: str, keep: bool) -> object:
    """Feed 64 KiB slices; keep every block (like read_all) or drop each (like a stream loop)."""
    decoder = codec.Decoder(layout)
    view = memoryview(buffer)
    blocks, rows = [], 0
    for i in range(0, len(buffer), CHUNK):
        block = decoder.feed(view[i : i + CHUNK]).data
        rows += len(block)
        if keep:
            blocks.append(block)
    decoder.finish()
    return rows


class UpstreamReadLoop:
    """A model of upstream's InputPipe.read/consume over an in-memory byte stream."""

    BUFFER_SIZE = 10_000

    def __init__(self, raw: bytes, layout: str) -> None:
        self.raw, self.pos = raw, 0
        self.dtype = codec.layout_dtype(layout)
        self.token = np.zeros(1, dtype=self.dtype)[0]
        self.token_bytes = self.token.tobytes()
        self.byte_buffer = b""
        self.unprocessed = b""
        self.buffer = np.zeros(self.BUFFER_SIZE * 2, dtype=self.dtype)
        self.last_index = 0

    def at_eof(self) -> bool:
        return self.pos >= len(self.raw) and not self.unprocessed and self.last_index == 0

    def find_token(self, raw: bytes) -> tuple[int, int] | None:
        if raw.find(self.token_bytes) == -1:
            return None
        for i, row in enumerate(np.frombuffer(raw, dtype=self.dtype)):
            if row.tobytes() == self.token_bytes:
                return i * self.dtype.itemsize, (i + 1) * self.dtype.itemsize
        return None

    def read(self) -> npt.NDArray[np.void]:
        rowbytes = self.dtype.itemsize
        max_rows = self.BUFFER_SIZE - self.last_index
        raw = self.raw[self.pos : self.pos + max_rows * rowbytes]
        self.pos += len(raw)
        extra = (len(raw) + len(self.byte_buffer)) % rowbytes
        joined = self.byte_buffer + raw
        np_buffer, self.byte_buffer = joined[: len(joined) - extra], joined[len(joined) - extra :]
        np_buffer, self.unprocessed = self.unprocessed + np_buffer, b""
        loc = self.find_token(np_buffer)
        if loc is not None:
            np_buffer, self.unprocessed = np_buffer[: loc[0]], np_buffer[loc[1] :]
        data = np.frombuffer(np_buffer, dtype=self.dtype)
        self.buffer[self.last_index : self.last_index + len(data)] = data
        self.last_index += len(data)
        return self.buffer[: self.last_index]

    def consume(self, n: int) -> None:
        self.buffer = np.roll(self.buffer, -n)
        self.last_index -= n


def upstream_loop(buffer: bytes, layout: str) -> object:
    pipe = UpstreamReadLoop(buffer, layout)
    total = 0
    while not pipe.at_eof():
        data = pipe.read()
        total += len(data)
        pipe.consume(len(data))
    return total


def all_bytes(arrays: tuple[npt.NDArray[Any], ...]) -> list[bytes]:
    return [array.tobytes() for array in arrays]


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def decode_case(layout: str, rows: int, breaks: int, repeat: int) -> str:
    data, wire = make_frame(layout, rows, breaks)
    small = wire[: len(wire) // 10 // data.dtype.itemsize * data.dtype.itemsize]
    # sanity: every method sees every row
    assert codec.decode(wire, layout).data.tobytes() == data.tobytes()
    assert upstream_loop(small, layout) == len(codec.decode(small, layout).data)
    cases: dict[str, tuple[Callable[[], object], int]] = {
        "memcpy": (memcpy(wire), len(wire)),
        "alloc+memcpy": (alloc_memcpy(wire), len(wire)),
        "frombuffer": (lambda: np.frombuffer(wire, dtype=data.dtype).copy(), len(wire)),
        "decode": (lambda: codec.decode(wire, layout), len(wire)),
        "kept": (lambda: chunked_decode(wire, layout, keep=True), len(wire)),
        "streamed": (lambda: chunked_decode(wire, layout, keep=False), len(wire)),
        "upstream": (lambda: upstream_loop(small, layout), len(small)),
    }
    rates = {name: size / best(fn, repeat) / 1e9 for name, (fn, size) in cases.items()}
    ceiling = rates["memcpy"]
    cells = [f"{rate:.2f} ({rate / ceiling:.2f})" for rate in rates.values()]
    return f"| {layout} | {breaks} | {len(wire) / 1e6:.0f} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(f"decode, {args.rows:,} rows, best of {args.repeat}; GB/s and fraction of memcpy\n")
    print(
        "| layout | breaks | MB | memcpy | alloc+memcpy | frombuffer.copy | decode "
        "| Decoder 64 KiB, kept | Decoder 64 KiB, streamed | upstream loop |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for layout in ("float32_8", "int16_3"):
        for breaks in (0, 1000):
            print(decode_case(layout, args.rows, breaks, args.repeat))
    print("\nencode (validation included) against ndarray.tobytes(); GB/s and ratio of times\n")
    print("| layout | input | MB | tobytes | encode | encode / tobytes time |")
    print("|---|---|---|---|---|---|")
    for layout in ("float32_8", "int16_3"):
        data, _ = make_frame(layout, args.rows, 0)
        flat = np.column_stack([data["timestamp"], data["data"]]).astype(np.float64)
        inputs: dict[str, npt.NDArray[Any] | tuple[npt.NDArray[Any], ...]] = {
            "structured": data,
            "2-D float64": flat,
            "2-D int64": flat.astype(np.int64),
            "int64, float64 pair": (data["timestamp"].copy(), flat[:, 1:].copy()),
        }
        for name, source in inputs.items():
            parts = source if isinstance(source, tuple) else (source,)
            t_bytes = best(partial(all_bytes, parts), args.repeat)
            t_enc = best(partial(codec.encode, source, layout), args.repeat)
            size = data.nbytes
            print(
                f"| {layout} | {name} | {size / 1e6:.0f} | {size / t_bytes / 1e9:.2f} "
                f"| {size / t_enc / 1e9:.2f} | {t_enc / t_bytes:.2f}x |"
            )


if __name__ == "__main__":
    main()
