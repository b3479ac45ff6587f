"""The steps of tests/test_upstream_parity.py, written once for both clients.

Each step is a plain function ``step(node, api, folder) -> dict`` that makes its own streams
under ``folder`` and returns what it saw as JSON-able values (rows as lists, models as dicts
without ids, errors as class names).  ``api`` holds the client's models and error classes.

- joule-sync: the test module imports this file and runs each step on a ``joule_sync.Node``.
- upstream: jouled's virtualenv runs this file as a script (config as JSON on stdin: url, key,
  root), which runs every step on upstream's asyncio ``TcpNode`` made blocking by
  ``Blocking`` (each coroutine runs to completion, as ``await`` would) and prints one JSON
  document ``{step name: result}``.  One process for all steps, as starting one costs seconds.

Neither client is imported at module level, so both interpreters can import this file.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

Step = Callable[[Any, Any, str], dict[str, Any]]
STEPS: dict[str, Step] = {}

T0 = 1_700_000_000_000_000
"""First timestamp of the rows steps write; rows are 1 ms apart."""
LAYOUT = "float32_2"
LIVE_STREAM = "/live/base"
LIVE_SECONDS = 2.5
DEMO_OFFSET = 1.7e15
"""Upstream's demo notebook writes t*1e6 with t from 0: an offset keeps timestamps off 0."""


def step(function: Step) -> Step:
    STEPS[function.__name__] = function
    return function


# -- the two clients -------------------------------------------------------------------------


def joule_sync_api() -> SimpleNamespace:
    import joule_sync

    return _api(joule_sync, joule_sync)


def upstream_api() -> SimpleNamespace:
    from joule import api, errors

    return _api(api, errors)


def _api(models: Any, errors: Any) -> SimpleNamespace:
    names = ("DataStream", "Element", "EventStream", "Event", "Annotation", "Folder")
    error_names = ("ApiError", "PipeError", "EmptyPipeError")
    return SimpleNamespace(
        **{name: getattr(models, name) for name in names},
        **{name: getattr(errors, name) for name in error_names},
    )


class Blocking:
    """An upstream node or pipe whose coroutine methods block until done, so that a step
    written for joule-sync (upstream without ``await``) runs on upstream unchanged.  Upstream's
    background tasks (readers, the writer) run whenever a call runs the loop, as they would
    while an asyncio script awaits."""

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if inspect.isawaitable(result):
                result = self._loop.run_until_complete(result)
            from joule.models.pipes import Pipe

            if not isinstance(result, Pipe):
                return result
            if name == "data_write":
                # upstream's data_read pipes poll every 0.01 s, its data_write pipes every
                # 0.5 s (a wait at each interval break): poll as data_read does, which sends
                # the same rows, sooner
                result.TIMEOUT_INTERVAL = 0.01
            return Blocking(result, self._loop)

        return call


# -- recording what a step sees ----------------------------------------------------------------


def error_name(api: Any, exc: BaseException) -> str:
    """The upstream class a failure counts as (the most specific of the three), else its own."""
    for cls in (api.EmptyPipeError, api.PipeError, api.ApiError):
        if isinstance(exc, cls):
            return str(cls.__name__)
    return f"other {type(exc).__name__}: {exc}"


def attempt(api: Any, call: Callable[[], Any]) -> tuple[Any, str]:
    """``(result, "ok")``, or ``(None, error class)`` when the call raises."""
    try:
        return call(), "ok"
    except Exception as exc:
        return None, error_name(api, exc)


def outcome(api: Any, call: Callable[[], Any]) -> str:
    return attempt(api, call)[1]


def rows(data: np.ndarray) -> dict[str, Any]:
    """A structured block as lists, or a flattened one with its dtype."""
    if data.dtype.names is None:
        return {"flat": data.tolist(), "dtype": str(data.dtype)}
    return {"timestamps": data["timestamp"].tolist(), "values": data["data"].tolist()}


def read_result(api: Any, pipe: Any, **kwargs: Any) -> dict[str, Any]:
    """One ``read()``: its rows and ``end_of_interval``, or the error class."""
    data, error = attempt(api, lambda: pipe.read(**kwargs))
    if data is None:
        return {"error": error}
    return {**rows(data), "end_of_interval": bool(pipe.end_of_interval), "count": len(data)}


def without_ids(value: Any) -> Any:
    """A model's JSON without the ids the node assigns (they differ between the two runs)."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if not k.endswith("id")}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def model(obj: Any) -> Any:
    return without_ids(obj.to_json())


def attribute(pipe: Any, name: str) -> Any:
    """A pipe attribute as JSON, or what stopped it, so that one cannot hide the others."""
    try:
        value = getattr(pipe, name)
    except Exception as exc:
        return f"<{type(exc).__name__}: {exc}>"
    if isinstance(value, np.dtype):
        return str(value)
    if name == "stream":
        return model(value)
    return value


PIPE_ATTRIBUTES = (
    "name",
    "layout",
    "width",
    "dtype",
    "decimation_level",
    "decimated",
    "closed",
    "stream",
)


def attributes(pipe: Any) -> dict[str, Any]:
    return {name: attribute(pipe, name) for name in PIPE_ATTRIBUTES}


# -- making streams ----------------------------------------------------------------------------


def row_dtype(layout: str) -> np.dtype:
    datatype, width = layout.rsplit("_", 1)
    return np.dtype([("timestamp", "<i8"), ("data", np.dtype(datatype).str, (int(width),))])


def make_rows(layout: str, first: int, count: int) -> np.ndarray:
    """Rows ``first`` to ``first + count - 1``: row k, at T0 + k ms, holds 10k, 10k+1..."""
    data = np.zeros(count, row_dtype(layout))
    k = np.arange(first, first + count)
    data["timestamp"] = T0 + k * 1000
    width = data["data"].shape[1]
    data["data"] = (k[:, None] * 10 + np.arange(width)).astype(data["data"].dtype)
    return data


def create(node: Any, api: Any, folder: str, layout: str = LAYOUT, name: str = "s") -> Any:
    datatype, width = layout.rsplit("_", 1)
    elements = [api.Element(name=f"e{i}", units="W") for i in range(int(width))]
    stream = api.DataStream(name=name, datatype=datatype, elements=elements)
    return node.data_stream_create(stream, folder)


def fill(node: Any, path: str, *intervals: np.ndarray) -> None:
    """Write ``intervals`` with an interval break between each."""
    pipe = node.data_write(path)
    for i, interval in enumerate(intervals):
        if i:
            pipe.close_interval()
        pipe.write(interval)
    pipe.close()


def stream_holding(
    node: Any, api: Any, folder: str, *intervals: Any, layout: str = LAYOUT, name: str = "s"
) -> str:
    """A new stream holding ``intervals`` (none: empty), a break between each: its path."""
    create(node, api, folder, layout, name)
    path = f"{folder}/{name}"
    if intervals:
        fill(node, path, *intervals)
    return path


def stream_with_break(node: Any, api: Any, folder: str) -> str:
    """Rows 0-2, an interval break, rows 3-4."""
    return stream_holding(node, api, folder, make_rows(LAYOUT, 0, 3), make_rows(LAYOUT, 3, 2))


def stored(node: Any, path: str) -> dict[str, Any]:
    """Everything a stream holds, read through the pipe loop, with its intervals."""
    pipe = node.data_read(path)
    reads = drain(pipe)
    return {"reads": reads, "intervals": node.data_intervals(path)}


def drain(pipe: Any) -> list[dict[str, Any]]:
    """Upstream's documented loop: every row exactly once, reads ending at interval breaks."""
    reads: list[dict[str, Any]] = []
    while pipe.not_empty():
        data = pipe.read()
        reads.append({**rows(data), "end_of_interval": bool(pipe.end_of_interval)})
        pipe.consume(len(data))
    return reads


# -- the steps, in the order upstream runs them (node_after_close last: it closes the node) ---


@step
def live_every_third_read(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """Subscribe to the counting stream and consume only on every third read."""
    pipe = node.data_subscribe(LIVE_STREAM)
    opened = attributes(pipe)
    reads: list[dict[str, Any]] = []
    deadline = time.monotonic() + LIVE_SECONDS
    try:
        while time.monotonic() < deadline:
            data = pipe.read()
            consumed = len(reads) % 3 == 2
            reads.append({**rows(data), "consumed": consumed})
            if consumed:
                pipe.consume(len(data))
    finally:
        pipe.close()
    return {"attributes": opened, "reads": reads, "closed_after_close": pipe.closed}


@step
def read_loop(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """``while not_empty(): read(); consume(len)`` over three intervals, then past the end."""
    parts = [make_rows(LAYOUT, 0, 4), make_rows(LAYOUT, 4, 3), make_rows(LAYOUT, 7, 5)]
    path = stream_holding(node, api, folder, *parts)
    pipe = node.data_read(path)
    opened = attributes(pipe)
    reads = drain(pipe)
    return {
        "attributes": opened,
        "reads": reads,
        "written": [rows(part) for part in parts],
        "intervals": node.data_intervals(path),
        "read_after_end": read_result(api, pipe),
        "is_empty_after_end": pipe.is_empty(),
        "closed_after_end": pipe.closed,
    }


@step
def unconsumed_after_end(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """Once the data has ended, read() gives the unconsumed rows again until none are left."""
    path = stream_holding(node, api, folder, make_rows(LAYOUT, 0, 5))
    pipe = node.data_read(path)
    first = read_result(api, pipe)
    pipe.consume(2)
    second = read_result(api, pipe)
    again = read_result(api, pipe)
    too_many = outcome(api, lambda: pipe.consume(4))
    negative = outcome(api, lambda: pipe.consume(-1))
    pipe.consume(3)
    return {
        "first": first,
        "after_consume_2": second,
        "again_unconsumed": again,
        "consume_more_than_read": too_many,
        "consume_negative": negative,
        "after_all_consumed": read_result(api, pipe),
    }


@step
def unconsumed_before_break(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """Rows left unconsumed before an interval break: upstream joins them with the next
    interval, joule-sync keeps the break (compared only for the rows seen)."""
    pipe = node.data_read(stream_with_break(node, api, folder))
    first = read_result(api, pipe)
    pipe.consume(1)
    reads = [first, read_result(api, pipe)]
    while "error" not in reads[-1]:
        pipe.consume(reads[-1]["count"])
        reads.append(read_result(api, pipe))
    return {"reads": reads}


@step
def reread_last(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """reread_last(): the next read gives the unconsumed rows again, end_of_interval kept."""
    pipe = node.data_read(stream_with_break(node, api, folder))
    first = read_result(api, pipe)
    pipe.consume(1)
    pipe.reread_last()
    reread = read_result(api, pipe)
    pipe.consume_all()
    after_break = read_result(api, pipe)
    pipe.consume_all()
    return {
        "first": first,
        "reread": reread,
        "after_break": after_break,
        "after_all_consumed": read_result(api, pipe),
    }


@step
def is_empty_not_empty(node: Any, api: Any, folder: str) -> dict[str, Any]:
    path = stream_holding(node, api, folder, make_rows(LAYOUT, 0, 5))
    pipe = node.data_read(path)
    before = {"is_empty": pipe.is_empty(), "not_empty": pipe.not_empty()}
    data = read_result(api, pipe)  # is_empty() must not have eaten any rows
    pipe.consume_all()
    after = {"is_empty": pipe.is_empty(), "not_empty": pipe.not_empty()}
    empty_range = node.data_read(path, start=T0 - 10_000_000, end=T0 - 1_000_000)
    return {
        "before": before,
        "read": data,
        "after": after,
        "empty_range_is_empty": empty_range.is_empty(),
        "empty_range_read": read_result(api, empty_range),
    }


@step
def read_flatten(node: Any, api: Any, folder: str) -> dict[str, Any]:
    path = stream_with_break(node, api, folder)
    pipe = node.data_read(path)
    flat = read_result(api, pipe, flatten=True)
    pipe.close()
    read_all = node.data_read(path).read_all(flatten=True)
    return {"read": flat, "read_all": rows(read_all)}


@step
def read_all(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """read_all across an interval break, with maxrows, error_on_overflow and no data."""
    path = stream_with_break(node, api, folder)

    def read_all_of(**kwargs: Any) -> dict[str, Any]:
        pipe = node.data_read(path)
        with warnings.catch_warnings():  # joule-sync warns where upstream truncates silently
            warnings.simplefilter("ignore")
            data, error = attempt(api, lambda: pipe.read_all(**kwargs))
        return {"error": error} if data is None else rows(data)

    empty = node.data_read(path, start=T0 - 10_000_000, end=T0 - 1_000_000)
    empty_data, empty_error = attempt(api, empty.read_all)
    return {
        "all": read_all_of(),
        "maxrows_4": read_all_of(maxrows=4),
        "maxrows_4_error_on_overflow": read_all_of(maxrows=4, error_on_overflow=True),
        "maxrows_5_error_on_overflow": read_all_of(maxrows=5, error_on_overflow=True),
        "empty_range": {"error": empty_error} if empty_data is None else rows(empty_data),
    }


@step
def read_nowait(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """read_nowait() gives the buffered rows without waiting; EmptyPipeError once drained."""
    path = stream_holding(node, api, folder, make_rows(LAYOUT, 0, 5))
    pipe = node.data_read(path)
    read = read_result(api, pipe)
    nowait = pipe.read_nowait()
    pipe.consume(2)
    ended = read_result(api, pipe)  # waits until the data has ended
    nowait_after_end = rows(pipe.read_nowait())
    pipe.consume_all()
    drained = read_result(api, pipe)
    drained_nowait = outcome(api, pipe.read_nowait)
    return {
        "read": read,
        "nowait": rows(nowait),
        "ended": ended,
        "nowait_after_end": nowait_after_end,
        "drained": drained,
        "drained_nowait": drained_nowait,
    }


@step
def decimated_read(node: Any, api: Any, folder: str) -> dict[str, Any]:
    path = stream_holding(node, api, folder, make_rows("int32_1", 0, 1024), layout="int32_1")
    pipe = node.data_read(path, max_rows=100)
    data = pipe.read_all()
    return {
        # upstream learns the decimation from the response, so only once it has read
        "attributes": attributes(pipe),
        "decimation_factor": attribute(pipe, "decimation_factor"),
        "rows": rows(data),
    }


@step
def write_pipe(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """Every write-pipe method, then what the stream holds."""
    path = stream_holding(node, api, folder)
    chunk = iter(range(0, 100, 2))

    def next_rows() -> np.ndarray:
        return make_rows(LAYOUT, next(chunk), 2)

    pipe = node.data_write(path)
    opened = attributes(pipe)
    pipe.write(next_rows())
    pipe.write_nowait(next_rows())
    pipe.close_interval()
    pipe.write(next_rows())
    pipe.close_interval_nowait()
    pipe.enable_cache(3)
    pipe.write(next_rows())  # 2 rows wait in the cache
    pipe.write(next_rows())  # the cache fills and is sent; 1 row waits
    pipe.flush_cache()
    pipe.write(next_rows())  # left in the cache for close() to send
    pipe.close()
    return {
        "attributes": opened,
        "closed_after_close": pipe.closed,
        "write_after_close": outcome(api, lambda: pipe.write(next_rows())),
        "close_interval_after_close": outcome(api, pipe.close_interval),
        "close_again": outcome(api, pipe.close),
        "stored": stored(node, path),
    }


@step
def write_refused(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """Rows the node refuses: write + close raises ApiError; what the stream holds after."""
    results = {}
    good = make_rows(LAYOUT, 0, 5)
    backwards = good[::-1].copy()
    with_nan = good.copy()
    with_nan["data"][2, 1] = np.nan
    cases = {"already_stored": good, "not_monotonic": backwards, "nan": with_nan}
    for name, data in cases.items():
        stored_first = [good] if name == "already_stored" else []
        path = stream_holding(node, api, folder, *stored_first, name=name)
        pipe = node.data_write(path)
        try:
            pipe.write(data)
            pipe.close()
            error, message = "ok", ""
        except Exception as exc:
            error, message = error_name(api, exc), str(exc)
            with contextlib.suppress(Exception):
                pipe.close()  # joule-sync refused at write(): end the upload it began
        results[name] = {
            "error": error,
            "already_exists": "already exists" in message,
            "stored": stored(node, path),
        }
    return results


@step
def float_timestamps(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """2-D float64 rows, as upstream's demo notebook writes them."""
    t = np.arange(0, 1, 0.001)
    demo = np.vstack((t * 1e6 + DEMO_OFFSET, np.sin(t), np.cos(t))).T
    cases = {
        "demo": demo,
        # t*1e6 lands just above whole µs (9000.000000000002): truncating and rounding agree
        "just_above": np.vstack((t[1:] * 1e6, np.sin(t[1:]), np.cos(t[1:]))).T,
        # just below: upstream truncates to 8999, joule-sync rounds to 9000
        "just_below": np.array([[8999.999999999998, 1.0, 2.0]]),
    }
    results = {}
    for name, data in cases.items():
        results[name] = stored(node, stream_holding(node, api, folder, data, name=name))
    return results


@step
def argument_errors(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """Calls upstream answers with ApiError (from its client or from the node)."""
    idle = create(node, api, folder, name="idle")  # also makes the folder
    missing = f"{folder}/no_such_stream"
    calls: dict[str, Callable[[], Any]] = {
        "folder_get(1.5)": lambda: node.folder_get(1.5),
        "data_stream_get(None)": lambda: node.data_stream_get(None),
        "data_intervals(1.5)": lambda: node.data_intervals(1.5),
        "data_stream_create(stream, 1.5)": lambda: node.data_stream_create(
            api.DataStream(name="x", elements=[api.Element(name="a")]), 1.5
        ),
        "data_stream_move(DataStream(), folder)": lambda: node.data_stream_move(
            api.DataStream(), folder
        ),
        "folder_move(Folder(), folder)": lambda: node.folder_move(api.Folder(), folder),
        "data_stream_create(empty name)": lambda: node.data_stream_create(
            api.DataStream(name="", elements=[api.Element(name="a")]), folder
        ),
        "data_stream_create(no elements)": lambda: node.data_stream_create(
            api.DataStream(name="bare"), folder
        ),
        "data_stream_get(missing)": lambda: node.data_stream_get(missing),
        "data_read(missing)": lambda: node.data_read(missing),
        "data_write(missing)": lambda: node.data_write(missing),
        "data_subscribe(not produced)": lambda: node.data_subscribe(idle),
    }
    return {label: outcome(api, call) for label, call in calls.items()}


@step
def models(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """Models, counts and intervals as the node returns them, ids aside."""
    elements = [
        api.Element(name="voltage", units="V", plottable=True, display_type="continuous"),
        api.Element(name="state", units="", plottable=False, display_type="discrete"),
    ]
    stream = api.DataStream(
        name="power", description="two elements", datatype="int16", keep_us=-1, elements=elements
    )
    created = node.data_stream_create(stream, folder)
    events = api.EventStream(name="events", description="notes", event_fields={"label": "string"})
    event_stream = node.event_stream_create(events, folder)
    written = [
        api.Event(start_time=T0 + i, end_time=T0 + i + 500, content={"label": f"e{i}"})
        for i in range(0, 3000, 1000)
    ]
    node.event_stream_write(f"{folder}/events", written)
    path = f"{folder}/power"
    fill(node, path, make_rows("int16_2", 0, 3), make_rows("int16_2", 10, 2))
    note = api.Annotation(title="peak", start=T0, end=T0 + 2000, content="a note")
    annotation = node.annotation_create(note, path)
    info = node.data_stream_info(path)
    return {
        "data_stream_create": model(created),
        "data_stream_get": model(node.data_stream_get(path)),
        "event_stream_create": model(event_stream),
        "event_stream_get": model(node.event_stream_get(f"{folder}/events")),
        "event_stream_count": node.event_stream_count(f"{folder}/events"),
        "events": [
            [e.start_time, e.end_time, e.content]
            for e in node.event_stream_read_list(f"{folder}/events")
        ],
        "annotation_create": model(annotation),
        "annotation_get": [model(a) for a in node.annotation_get(path)],
        "folder_get": model(node.folder_get(folder)),
        "data_intervals": node.data_intervals(path),
        "data_stream_info": [info.start, info.end, info.rows],
    }


@step
def close_nowait(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """close() and close_nowait() of read pipes."""
    path = stream_with_break(node, api, folder)
    closed = node.data_read(path)
    closed.read()
    closed.close()
    nowait = node.data_read(path)
    nowait.read()
    error = outcome(api, nowait.close_nowait)
    closed_by_nowait = nowait.closed
    if not closed_by_nowait:
        nowait.close()  # upstream refuses close_nowait: its close callback is a coroutine
    return {
        "closed_after_close": closed.closed,
        "close_nowait": error,
        "closed_after_close_nowait": closed_by_nowait,
    }


@step
def node_after_close(node: Any, api: Any, folder: str) -> dict[str, Any]:
    """After close(), the next call opens a new session (runs last: it closes the node)."""
    path = stream_holding(node, api, folder)
    node.close()
    root, root_error = attempt(api, node.folder_root)
    stream, stream_error = attempt(api, lambda: node.data_stream_get(path))
    return {
        "folder_root": root_error if root is None else root.name,
        "data_stream_get": stream_error if stream is None else stream.name,
    }


# -- upstream's run ----------------------------------------------------------------------------


def main() -> None:
    config = json.load(sys.stdin)
    from joule.api.node.tcp_node import TcpNode

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    api = upstream_api()
    node = Blocking(TcpNode("parity", config["url"], config["key"]), loop)
    results: dict[str, Any] = {}
    document = sys.stdout
    # upstream prints its refusals (e.g. non-monotonic timestamps) to stdout: keep it clean
    with contextlib.redirect_stdout(sys.stderr):
        for name, function in STEPS.items():
            try:
                results[name] = function(node, api, f"{config['root']}/{name}")
            except Exception:
                results[name] = {"crashed": traceback.format_exc()}
        node.close()
    json.dump(results, document)


if __name__ == "__main__":
    main()
