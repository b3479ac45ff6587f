"""Event streams and their events: the streams' models, and events written, read page by
page, counted and removed.  Events read are marked with the uuid of their node (asked once
per transport), so that writing them back to it updates them."""

from __future__ import annotations

import itertools
import logging
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

from ._arguments import (
    Params,
    check_event_fields,
    check_event_times,
    event_query,
    require_count,
    require_model,
    require_text,
    spec,
)
from ._errors import ApiError, InvalidArgument, StreamNotFound
from ._models import Event, EventStream, EventStreamInfo, Folder, NodeJSON, data_info
from ._transport import Transport

log = logging.getLogger("joule_sync")

BLOCK_SIZE = 1000
"""Events per request when reading (upstream's block size)."""
WRITE_BLOCK = 500
"""Events per POST when writing (upstream's block size)."""


def get(
    transport: Transport,
    stream: EventStream | str | int,
    create: bool = False,
    description: str = "",
    chunk_duration: str = "",
    chunk_duration_us: int | None = None,
    event_fields: dict[str, str] | None = None,
) -> EventStream:
    """One event stream; with ``create=True`` a missing one given by path is created."""
    named = spec(stream, EventStream, "event stream")
    try:
        return EventStream.from_json(transport.json("GET", "/event.json", params=named))
    except StreamNotFound:
        if not create or not isinstance(stream, str):
            raise
    folder, _, name = stream.rpartition("/")
    missing = EventStream(
        name,
        description,
        chunk_duration=chunk_duration,
        chunk_duration_us=chunk_duration_us,
        event_fields=event_fields,
    )
    return create_in(transport, missing, folder or "/")


def move(transport: Transport, stream: EventStream | str | int, folder: Folder | str | int) -> None:
    """Move an event stream into ``folder``, which is created if it does not exist."""
    body = {
        **spec(stream, EventStream, "event stream", prefix="src_"),
        **spec(folder, Folder, "destination folder", prefix="dest_"),
    }
    transport.ok("PUT", "/event/move.json", json=body)


def update(transport: Transport, stream: EventStream) -> None:
    """Save an event stream's name, description and fields."""
    require_model(stream, EventStream, "event stream")
    require_text(stream.name, "event stream name")
    check_event_fields(stream.event_fields)
    transport.ok("PUT", "/event.json", json={"id": stream.id, "stream": stream.to_json()})


def delete(transport: Transport, stream: EventStream | str | int) -> None:
    """Delete an event stream and its events."""
    transport.ok("DELETE", "/event.json", params=spec(stream, EventStream, "event stream"))


# not ``create``: ``get`` takes upstream's argument of that name, and calls this
def create_in(transport: Transport, stream: EventStream, folder: Folder | str | int) -> EventStream:
    """Create ``stream`` in ``folder`` (a folder given by path is created if missing)."""
    if not isinstance(stream, EventStream):
        raise InvalidArgument(
            f"event_stream_create needs an EventStream, not {type(stream).__name__}"
        )
    require_text(stream.name, "event stream name")
    check_event_fields(stream.event_fields)
    body = {"stream": stream.to_json(), **spec(folder, Folder, "folder", prefix="dest_")}
    return EventStream.from_json(transport.json("POST", "/event.json", json=body))


def info(transport: Transport, stream: EventStream | str | int) -> EventStreamInfo:
    """The extent of an event stream: first start, last end, number of events."""
    data = transport.json("GET", "/event.json", params=spec(stream, EventStream, "event stream"))
    return EventStreamInfo.from_json(data_info(data, "EventStream"))


def write(
    transport: Transport,
    stream: EventStream | str | int,
    events: Sequence[Event],
) -> list[Event]:
    """Store ``events``; returns them, now carrying the ids the node gave them.

    An event read from this node (or returned here) is updated in place when written
    again; any other event is added.
    """
    named = spec(stream, EventStream, "event stream")
    if not isinstance(events, Iterable):
        raise InvalidArgument(f"events must be a list of Event objects, not {events!r}")
    events = list(events)
    for event in events:
        if not isinstance(event, Event):
            raise InvalidArgument(f"events must be Event objects, not {event!r}")
        check_event_times(event)
    uuid = node_uuid(transport)
    for first in range(0, len(events), WRITE_BLOCK):
        block = events[first : first + WRITE_BLOCK]
        body = {**named, "events": [e.to_json(destination_node_uuid=uuid) for e in block]}
        answer = NodeJSON(transport.json("POST", "/event/data.json", json=body), "event write")
        stored = answer.list_of("events", Event.from_json)
        if len(stored) != len(block):
            raise ApiError(
                f"the node's event write JSON lists {len(stored)} events for the {len(block)} sent"
            )
        for event, saved in zip(block, stored, strict=True):
            event.id = saved.id
            event.event_stream_id = saved.event_stream_id
            event.node_uuid = uuid
    return events


@overload
def read(
    transport: Transport,
    stream: EventStream | str | int,
    start: int | None = None,
    end: int | None = None,
    json_filter: str | list[Any] | None = None,
    include_on_going_events: bool = True,
    block_size: None = None,
) -> Iterator[Event]: ...


@overload
def read(
    transport: Transport,
    stream: EventStream | str | int,
    start: int | None = None,
    end: int | None = None,
    json_filter: str | list[Any] | None = None,
    include_on_going_events: bool = True,
    *,
    block_size: int,
) -> Iterator[list[Event]]: ...


def read(
    transport: Transport,
    stream: EventStream | str | int,
    start: int | None = None,
    end: int | None = None,
    json_filter: str | list[Any] | None = None,
    include_on_going_events: bool = True,
    block_size: int | None = None,
) -> Iterator[Event] | Iterator[list[Event]]:
    """Iterate over the events in ``[start, end)``, one by one, or in lists of up to
    ``block_size`` events when it is given.

    ``json_filter`` selects on content: OR-groups of AND-clauses ``[key, op, value]``
    with op in is/not/like/unlike (strings) or gt/gte/lt/lte/eq/neq (numbers), as a
    JSON string or the list itself.  ``include_on_going_events`` also yields events that
    started before ``start`` but had not ended by then.  The arguments are checked
    here; the node is asked page by page as the iteration goes.
    """
    limit = BLOCK_SIZE if block_size is None else require_count(block_size, "block_size")
    params: Params = {
        **event_query(stream, start, end, json_filter),
        "limit": limit,
        "return-subset": 1,
        "include-ongoing-events": int(bool(include_on_going_events)),
    }
    pages = _pages(transport, stream, params)
    return itertools.chain.from_iterable(pages) if block_size is None else pages


def read_list(
    transport: Transport,
    stream: EventStream | str | int,
    start: int | None = None,
    end: int | None = None,
    json_filter: str | list[Any] | None = None,
    include_on_going_events: bool = True,
    limit: int = 10_000,
) -> list[Event]:
    """The first ``limit`` events of ``event_stream_read`` as a list (warns if cut)."""
    require_count(limit, "limit")
    block_size = min(limit, BLOCK_SIZE)
    pages = read(
        transport, stream, start, end, json_filter, include_on_going_events, block_size=block_size
    )
    events: list[Event] = []
    for page in pages:
        events += page
        if len(events) >= limit:
            log.warning("read limit of %d events reached before the end of the stream", limit)
            break
    return events[:limit]


def _pages(
    transport: Transport,
    stream: EventStream | str | int,
    params: Params,
) -> Iterator[list[Event]]:
    """Page through ``GET /event/data.json``, each page starting where the last ended.

    The next page starts *at* the last start time seen, not after it, and drops the
    events already yielded: events sharing a start time across a page boundary are
    all read (upstream's ``last + 1`` skips them).  A page that is full and cannot move
    forward means more than ``limit`` events share one start time; those beyond the
    page cannot be reached and a warning says so.
    """
    first_start = params.get("start")
    end = params.get("end")
    if first_start is None and end is not None:
        # with an end but no start the node returns the *last* events before end
        first_start = info(transport, stream).start
        if first_start is None:
            return
        params["start"] = first_start
    uuid = node_uuid(transport)
    limit = int(params["limit"])
    seen: set[int | None] = set()
    while True:
        answer = NodeJSON(transport.json("GET", "/event/data.json", params=params), "event read")
        page = answer.list_of("events", lambda e: Event.from_json(e, uuid))
        events = [e for e in page if e.id not in seen]
        if events:
            yield events
        if len(page) < limit:
            return
        current = params.get("start")
        next_start = page[-1].start_time
        if first_start is not None:  # ongoing events may start before the range
            next_start = max(next_start, int(first_start))
        if current is not None and next_start <= int(current):
            log.warning(
                "more than %d events start at %d: some of them are skipped; "
                "read with a larger block_size",
                limit,
                next_start,
            )
            next_start = int(current) + 1
            seen = set()
        else:
            seen = {e.id for e in page if e.start_time == next_start}
        if end is not None and next_start >= int(end):
            return
        params["start"] = next_start
        params["include-ongoing-events"] = 0  # the first page had them all


def node_uuid(transport: Transport) -> str:
    """The uuid of the node at the other end, which marks the events read from it (asked
    once per transport)."""
    if transport not in _NODE_UUIDS:
        version = NodeJSON(transport.json("GET", "/version.json"), "version")
        _NODE_UUIDS[transport] = version.required("uuid", str)
    return _NODE_UUIDS[transport]


_NODE_UUIDS: weakref.WeakKeyDictionary[Transport, str] = weakref.WeakKeyDictionary()


def count(
    transport: Transport,
    stream: EventStream | str | int,
    start: int | None = None,
    end: int | None = None,
    json_filter: str | list[Any] | None = None,
    include_on_going_events: bool = True,
) -> int:
    """How many events ``event_stream_read`` would yield with these arguments."""
    params = {
        **event_query(stream, start, end, json_filter),
        "include-ongoing-events": int(bool(include_on_going_events)),
    }
    answer = NodeJSON(transport.json("GET", "/event/data/count.json", params=params), "event count")
    return answer.required("count", int)


def remove(
    transport: Transport,
    stream: EventStream | str | int,
    start: int | None = None,
    end: int | None = None,
    json_filter: str | list[Any] | None = None,
) -> None:
    """Remove the events in ``[start, end)`` matching ``json_filter`` (all by default)."""
    params = event_query(stream, start, end, json_filter)
    transport.ok("DELETE", "/event/data.json", params=params)
