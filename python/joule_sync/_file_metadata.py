"""What an export file says about the rows it holds: one JSON document, kept by each format.

The document (``joule`` in a Parquet schema's metadata, the ``# joule: `` line at the top of
a CSV written with ``csv_header=True``)::

    {"version": 1,
     "path": "/plugs/power",                   # the stream's path on the node it came from
     "layout": "float32_3",                    # the rows' type and width, as in the file
     "elements": [{...}, ...],                 # each column's element JSON, as the node gives
                                               # it (name, units, display settings), in order
     "node": {"name": "...", "url": "..."},    # where it came from (never the key)
     "intervals": [[start, end], ...]}         # the runs of rows without a break, in µs:
                                               # [first timestamp, last timestamp + 1]

HDF5 keeps upstream's attributes (``path``, ``element_json``, ``node_name``, ``node_url``;
the layout is the ``data`` dataset's type and width) and the intervals as an extra ``(n, 2)``
int64 dataset, ``intervals``, which upstream's ``joule data ingest`` does not look at.
``.npy`` files hold bare rows and none of this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from . import codec
from ._errors import DataError, JouleError
from ._models import Element

KEY = "joule"
"""The Parquet schema metadata key holding the document."""
CSV_PREFIX = "# joule: "
"""How the document's line in a CSV starts (pandas reads the file with ``comment="#"``)."""
HDF5_INTERVALS = "intervals"
"""The HDF5 dataset of the intervals."""
VERSION = 1

Intervals = list[list[int]]


@dataclass(frozen=True)
class FileMetadata:
    """The stream a file's rows came from: what is known of it (None where a file says nothing)."""

    layout: str | None
    path: str | None = None
    elements: list[Element] | None = None
    node_name: str | None = None
    node_url: str | None = None
    intervals: Intervals | None = None

    def to_json(self) -> str:
        """The document, on one line (a CSV header line stays one line)."""
        return json.dumps(
            {
                "version": VERSION,
                "path": self.path,
                "layout": self.layout,
                "elements": [e.to_json() for e in self.elements or []],
                "node": {"name": self.node_name, "url": self.node_url},
                "intervals": self.intervals,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes, source: str) -> FileMetadata:
        """The document read back; DataError naming ``source`` where it makes no sense."""
        try:
            document = json.loads(text)
            if not isinstance(document, dict) or document.get("version") != VERSION:
                raise ValueError(f"not a version {VERSION} document")
            layout = document["layout"]
            width = codec.layout_parts(layout)[1]
            node, intervals = document["node"], document["intervals"]
            metadata = cls(
                layout,
                _optional_str(document["path"], "path"),
                elements_from_json(document["elements"], source),
                _optional_str(node["name"], "node name"),
                _optional_str(node["url"], "node url"),
                None if intervals is None else checked_intervals(intervals, source),
            )
        except (ValueError, KeyError, TypeError, JouleError) as exc:
            raise DataError(f"{source}: its {KEY!r} metadata cannot be read ({exc})") from None
        if metadata.elements is not None and len(metadata.elements) != width:
            raise DataError(
                f"{source}: its {KEY!r} metadata lists {len(metadata.elements)} elements for "
                f"layout {layout}"
            )
        return metadata


def checked_intervals(data: object, source: str) -> Intervals:
    """``[[start, end], ...]``: ordered, non-overlapping int pairs with ``start < end``."""
    if not isinstance(data, list):
        raise DataError(f"{source}: the intervals must be a list of [start, end] pairs")
    previous_end: int | None = None
    for interval in data:
        if not (
            isinstance(interval, list)
            and len(interval) == 2
            and all(isinstance(t, int) and not isinstance(t, bool) for t in interval)
            and interval[0] < interval[1]
            and (previous_end is None or interval[0] >= previous_end)
        ):
            raise DataError(
                f"{source}: interval {interval!r} is not a [start, end] pair of µs after the "
                "one before it"
            )
        previous_end = interval[1]
    return data


def _optional_str(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"the {what} must be a string")
    return value


def elements_from_json(data: object, source: str) -> list[Element]:
    """Elements as a new stream takes them: upstream's defaults where the JSON says nothing,
    and no ids or indices (the node that made the file chose those)."""
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise DataError(f"{source}: the elements must be a list of JSON objects")
    elements = []
    for item in data:
        try:
            element = Element.from_json({**Element().to_json(), **item, "id": 0, "index": 0})
        except JouleError as exc:
            raise DataError(f"{source}: element {item!r}: {exc}") from None
        element.id = element.index = None
        elements.append(element)
    return elements
