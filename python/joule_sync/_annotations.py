"""Annotations: titled marks on a data stream, at an instant or over a range."""

from __future__ import annotations

from ._arguments import require_model, require_text, spec, time_range, timestamp
from ._errors import InvalidArgument
from ._models import Annotation, AnnotationInfo, DataStream
from ._transport import Transport


def create(
    transport: Transport, annotation: Annotation, stream: DataStream | str | int
) -> Annotation:
    """Attach ``annotation`` to a data stream; returns it as stored (with its id)."""
    if not isinstance(annotation, Annotation):
        raise InvalidArgument(
            f"annotation_create needs an Annotation, not {type(annotation).__name__}"
        )
    require_text(annotation.title, "annotation title")
    times = time_range(timestamp(annotation.start, "annotation start"), annotation.end)
    body = {
        "title": annotation.title,
        "content": annotation.content,
        "start": times["start"],
        "end": times.get("end"),
        **spec(stream, DataStream, "data stream", prefix="stream_"),
    }
    return Annotation.from_json(transport.json("POST", "/annotation.json", json=body))


def get(
    transport: Transport,
    stream: DataStream | str | int,
    start: int | None = None,
    end: int | None = None,
) -> list[Annotation]:
    """A stream's annotations, or those overlapping ``[start, end)``."""
    params = {
        **spec(stream, DataStream, "data stream", prefix="stream_"),
        **time_range(start, end),
    }
    return [
        Annotation.from_json(a) for a in transport.json("GET", "/annotations.json", params=params)
    ]


def update(transport: Transport, annotation: Annotation) -> Annotation:
    """Save an annotation's title and content (its times cannot change)."""
    require_model(annotation, Annotation, "annotation")
    require_text(annotation.title, "annotation title")
    body = {"id": annotation.id, "title": annotation.title, "content": annotation.content}
    return Annotation.from_json(transport.json("PUT", "/annotation.json", json=body))


def delete(transport: Transport, annotation: Annotation | int) -> None:
    """Delete one annotation, by object or id."""
    params = spec(annotation, Annotation, "annotation", name_key=None)
    transport.ok("DELETE", "/annotation.json", params=params)


def info(transport: Transport, stream: DataStream | str | int) -> AnnotationInfo:
    """How many annotations a stream has and the span they cover."""
    params = spec(stream, DataStream, "data stream", prefix="stream_")
    return AnnotationInfo.from_json(transport.json("GET", "/annotations/info.json", params=params))


def delete_for_stream(
    transport: Transport,
    stream: DataStream | str | int,
    start: int | None = None,
    end: int | None = None,
) -> None:
    """Delete a stream's annotations, or only those within ``[start, end)``."""
    params = {
        **spec(stream, DataStream, "data stream", prefix="stream_"),
        **time_range(start, end),
    }
    transport.ok("DELETE", "/stream/annotations.json", params=params)
