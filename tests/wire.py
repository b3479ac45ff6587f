"""What the respx tests of the wire share: the mocked node's URL and key, its answers as the
real node words them, and helpers to read what a call sent.

The ``mock`` and ``mocked_node`` fixtures that use them are in conftest.py.
"""

from __future__ import annotations

import json
from typing import Any

import respx

URL = "http://joule.test:8088"
KEY = "key-7f3c9a1b5d2e4f6a8b0c"
UUID = "d3316b70-ced2-4f28-99ea-ff870a36afbc"

ELEMENT_JSON = {
    "id": 6,
    "index": 0,
    "name": "x",
    "units": "u",
    "plottable": True,
    "display_type": "CONTINUOUS",
    "offset": 0.0,
    "scale_factor": 1.0,
    "default_max": None,
    "default_min": None,
}
STREAM_JSON = {
    "id": 3,
    "name": "f32",
    "description": "float32_1 stream",
    "datatype": "float32",
    "layout": "float32_1",
    "keep_us": -1,
    "is_configured": False,
    "is_source": False,
    "is_destination": False,
    "updated_at": "2026-11-24T02:38:21.796486+00:00",
    "locked": False,
    "active": False,
    "decimate": True,
    "elements": [ELEMENT_JSON],
}
DATA_INFO_JSON = {
    "start": 1700000000000000,
    "end": 1700000999999000,
    "rows": 999424,
    "bytes": 33357824,
    "total_time": 999999000,
}
EVENT_STREAM_JSON = {
    "id": 2,
    "name": "events",
    "description": "ev",
    "event_fields": {"label": "string", "value": "numeric"},
    "chunk_duration_us": 0,
    "keep_us": -1,
    "updated_at": "2026-11-24T02:38:30.502594+00:00",
}
FOLDER_JSON = {
    "id": 5,
    "name": "bulk",
    "description": None,
    "locked": False,
    "updated_at": "2026-11-24T02:38:21.802253+00:00",
    "children": [],
    "streams": [STREAM_JSON],
    "event_streams": [EVENT_STREAM_JSON],
}
ANNOTATION_JSON = {
    "id": 1,
    "title": "range",
    "content": "c1",
    "start": 1700000000000010,
    "stream_id": 3,
    "end": 1700000000002000,
}
MODULE_JSON = {
    "id": 0,
    "name": "random",
    "description": "builtin random reader",
    "is_app": False,
    "inputs": {},
    "outputs": {"output": "/live/random"},
}
STATISTICS_JSON = {
    "pid": 4455,
    "create_time": 1795487358.9,
    "cpu_percent": 0.0,
    "memory_percent": 0.4,
}
PROXY_JSON = {"id": 0, "name": "refnode_self", "url": "http://127.0.0.1:18088/version/"}
VERSION_JSON = {"version": "1.0.1", "name": "refnode", "uuid": UUID}
DBINFO_JSON = {"path": "/pg", "other": 10, "reserved": 20, "free": 30, "size": 40}

CONNECTION_JSON = {
    "username": "joule_module",
    "password": "0aef988113324d1c",
    "port": 55432,
    "database": "joule",
    "host": "127.0.0.1",
}


def event_json(n: int, start: int | None = None, stream_id: int = 2) -> dict[str, Any]:
    """Event ``n`` as the node lists it: id n + 1, a second after event n - 1 unless ``start``."""
    start = 1700000000000000 + n * 1_000_000 if start is None else start
    return {
        "id": n + 1,
        "event_stream_id": stream_id,
        "start_time": start,
        "end_time": start + 500_000,
        "content": {"value": n},
    }


def params_of(route: respx.Route, call: int = -1) -> dict[str, str]:
    """The query parameters of a call, each sent once."""
    items = route.calls[call].request.url.params.multi_items()
    assert len(items) == len(dict(items)), f"repeated parameter in {items}"
    return dict(items)


def body_of(route: respx.Route, call: int = -1) -> Any:
    request = route.calls[call].request
    assert request.headers["content-type"] == "application/json"
    return json.loads(request.content)


def ok(route: respx.Route) -> respx.Route:
    """The node's plain-text success answer."""
    return route.respond(200, text="ok", headers={"content-type": "text/plain; charset=utf-8"})


def not_found(route: respx.Route, reason: str) -> respx.Route:
    """Error shape 1: the reason in the status line and ``<code>: reason`` as the body."""
    return route.respond(
        404,
        text=f"404: {reason}",
        headers={"content-type": "text/plain; charset=utf-8"},
        extensions={"reason_phrase": reason.encode()},
    )
