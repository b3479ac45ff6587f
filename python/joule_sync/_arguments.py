"""Arguments of the Node's calls, checked before anything is sent.

Every refusal here is one the node (or upstream's client) makes too, so it is raised as
``InvalidArgument``: a ``ConfigurationError`` and the ``ApiError`` (status 400) a ported
script catches.  Objects are named the ways upstream allows: the model itself, a path (or a
name, for modules and proxies) or a numeric id.
"""

from __future__ import annotations

import json
import numbers
from typing import Any, TypeVar

from ._errors import ConfigurationError, InvalidArgument
from ._models import (
    DATATYPES,
    Annotation,
    DataStream,
    Event,
    EventStream,
    Folder,
    Module,
    Proxy,
    validate_event_fields,
)

Spec = dict[str, str | int]
Params = dict[str, str | int]
_Model = TypeVar("_Model", DataStream, EventStream, Folder, Module, Proxy, Annotation)

FILTER_OPS = frozenset({"is", "not", "like", "unlike", "gt", "gte", "lt", "lte", "eq", "neq"})
# master types as upstream and Master spell them -> as the wire does, and back
MASTER_TYPES = {
    "user": "user",
    "joule": "joule",
    "joule_node": "joule",
    "lumen": "lumen",
    "lumen_node": "lumen",
}
MASTER_MODEL_TYPES = {"user": "user", "joule": "joule_node", "lumen": "lumen_node"}
# (lowest, highest, in words) of the µs times the node takes: any int64 in a data read, and
# 0001-01-01 to 9999-12-31 (UTC) where it makes a datetime of them
INT64_RANGE = (-(2**63), 2**63 - 1, "the int64 range")
DATED_RANGE = (-62_135_596_800_000_000, 253_402_214_400_000_000, "0001-01-01..9999-12-31 UTC")


def stream_spec(stream: DataStream | str | int) -> Spec:
    """``{"id": n}`` or ``{"path": p}`` for a data stream given any way upstream allows."""
    return spec(stream, DataStream, "data stream")


def wire_master_type(master_type: str) -> str:
    """The wire name (user/joule/lumen) of a master type, as upstream or Master spell it."""
    wire = MASTER_TYPES.get(str(master_type).lower())
    if wire is None:
        raise InvalidArgument(
            f"master_type must be user, joule or lumen (or joule_node, lumen_node), "
            f"not {master_type!r}"
        )
    return wire


def spec(
    obj: object,
    model: type[_Model],
    what: str,
    *,
    prefix: str = "",
    name_key: str | None = "path",
) -> Spec:
    """Request parameters naming an object: ``{prefix+"id": n}`` or ``{prefix+name_key: s}``.

    ``obj`` is the model itself, a numeric id, or (unless ``name_key`` is None) a string:
    a path for streams and folders, a name for modules and proxies.
    """
    if isinstance(obj, model):
        if obj.id is None:
            raise InvalidArgument(
                f"this {what} has no id (it was made locally): create it on the node first, "
                "or name it by path"
            )
        return {prefix + "id": obj.id}
    if isinstance(obj, int) and not isinstance(obj, bool):
        if obj < 0:
            raise InvalidArgument(f"{what} ids are >= 0, not {obj}")
        return {prefix + "id": obj}
    if isinstance(obj, str) and name_key is not None:
        if name_key == "path" and not obj.startswith("/"):
            raise InvalidArgument(f"{what} paths start with '/', unlike {obj!r}")
        require_text(obj, f"{what} {name_key}")
        return {prefix + name_key: obj}
    kinds = f"a {model.__name__}, a {name_key} or an id" if name_key else f"an {what} or an id"
    raise InvalidArgument(f"{what} must be given as {kinds}, not {type(obj).__name__}")


def require_model(obj: object, model: type[_Model], what: str) -> None:
    """``obj`` must be a ``model`` that exists on the node (has an id)."""
    if not isinstance(obj, model):
        raise InvalidArgument(f"expected a {model.__name__}, not {type(obj).__name__}")
    if obj.id is None:
        raise InvalidArgument(f"this {what} has no id: get it from the node first")


def require_count(
    value: object,
    what: str,
    *,
    minimum: int = 1,
    error: type[ConfigurationError] = InvalidArgument,
) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise error(f"{what} must be an integer >= {minimum}, not {value!r}")
    return value


def require_text(value: object, label: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"the {label} must be a non-empty string, not {value!r}")


def check_data_stream(stream: DataStream) -> None:
    """What the node would refuse anyway, said before sending, in the node's words."""
    if not isinstance(stream.name, str) or not stream.name.strip():
        raise InvalidArgument(
            f"invalid stream specification: missing name (the data stream name must be a "
            f"non-empty string, not {stream.name!r})"
        )
    if str(stream.datatype).lower() not in DATATYPES:
        raise InvalidArgument(f"datatype {stream.datatype!r} is not one of {', '.join(DATATYPES)}")
    if not stream.elements:
        raise InvalidArgument(
            f"invalid stream specification: stream must have at least one element "
            f"({stream.name!r} has none)"
        )
    for element in stream.elements:
        require_text(element.name, "element name")


def timestamp(value: object, what: str, *, dated: bool = True) -> int:
    """An integer µs timestamp from any real number, truncated as upstream's ``int(x)`` is
    (so ``time_now() - 1e6`` works); strings, booleans, NaN and infinities are refused.

    It must fit the node's int64; ``dated`` times also within years 1 to 9999, as every call
    but a data read turns them into datetimes on the node, which fails (500) beyond them.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgument(f"{what} must be a timestamp in µs (an int), not {value!r}")
    if isinstance(value, numbers.Integral):  # exact, also for numpy's int64
        timestamp = int(value)
    else:
        try:
            timestamp = int(float(value))
        except (ValueError, OverflowError) as exc:
            raise InvalidArgument(f"{what} must be a finite timestamp, not {value!r}") from exc
    low, high, span = DATED_RANGE if dated else INT64_RANGE
    if not low <= timestamp <= high:
        raise InvalidArgument(f"{what} {timestamp} µs is out of range: the node takes {span} here")
    return timestamp


def time_range(start: object, end: object, *, dated: bool = True) -> dict[str, int]:
    """``start``/``end`` query parameters; ``start`` must come before ``end``."""
    params: dict[str, int] = {}
    if start is not None:
        params["start"] = timestamp(start, "start", dated=dated)
    if end is not None:
        params["end"] = timestamp(end, "end", dated=dated)
    if "start" in params and "end" in params and params["start"] >= params["end"]:
        raise InvalidArgument(f"start ({params['start']}) must be before end ({params['end']})")
    return params


def read_params(
    stream: DataStream | str | int, start: object, end: object, max_rows: object
) -> Params:
    """The query of a read of ``[start, end)``, checked (any int64 time is fine here)."""
    params: Params = {**stream_spec(stream), **time_range(start, end, dated=False)}
    if max_rows is not None:
        params["max-rows"] = require_count(max_rows, "max_rows")
    return params


def check_event_fields(fields: dict[str, str]) -> None:
    """Event fields the node would refuse, refused as it would: ``ApiError`` too."""
    try:
        validate_event_fields(fields)
    except ConfigurationError as exc:
        raise InvalidArgument(str(exc)) from None


def check_event_times(event: Event) -> None:
    """The node fails (500) on an event without an end or that does not end after it starts."""
    start = timestamp(event.start_time, "event start_time")
    if event.end_time is None:
        raise InvalidArgument(f"{event!r} needs an end_time: the node stores none without")
    if timestamp(event.end_time, "event end_time") <= start:
        raise InvalidArgument(f"{event!r} must end after it starts")


def event_query(
    stream: EventStream | str | int,
    start: object,
    end: object,
    json_filter: str | list[Any] | None,
) -> Params:
    """The parameters selecting events: the stream, ``[start, end)`` and the filter."""
    params: Params = {**spec(stream, EventStream, "event stream"), **time_range(start, end)}
    clauses = event_filter(json_filter)
    if clauses is not None:
        params["filter"] = clauses
    return params


def event_filter(json_filter: str | list[Any] | None) -> str | None:
    """The ``filter`` parameter: ``json_filter`` as JSON, its structure checked first."""
    if json_filter is None:
        return None
    if isinstance(json_filter, str):
        try:
            groups = json.loads(json_filter)
        except ValueError as exc:
            raise InvalidArgument(f"json_filter is not valid JSON: {json_filter!r}") from exc
    else:
        groups = json_filter
    shape = 'a list of OR-groups, each a list of [key, op, value], e.g. [[["name", "is", "x"]]]'
    if not isinstance(groups, list | tuple):
        raise InvalidArgument(f"json_filter must be {shape}")
    for group in groups:
        if not isinstance(group, list | tuple) or not group:
            raise InvalidArgument(f"json_filter must be {shape}; got group {group!r}")
        for clause in group:
            if not (
                isinstance(clause, list | tuple)
                and len(clause) == 3
                and isinstance(clause[0], str)
                and clause[1] in FILTER_OPS
            ):
                raise InvalidArgument(
                    f"json_filter clause {clause!r} must be [key, op, value] with op one of "
                    f"{', '.join(sorted(FILTER_OPS))}"
                )
    return json.dumps(groups)
