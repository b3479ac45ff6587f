"""The transport: the one owner of the ``httpx.Client`` that talks to a node.

It holds what every request shares: the API key header, TLS (the system's CAs, or the node's
``ca_file``), timeouts that bound each wait rather than a whole response, TCP keepalive,
retries of what is safe to repeat, and the mapping of failures to joule_sync's errors.  The
resource modules (``_folders``, ``_data_streams``, ``_data``...) are plain functions on it.

``close()`` closes the connections; the next request opens new ones, as upstream's
``close()`` closes its session and a later call opens another.  An ``httpx`` transport can be
passed in (``httpx.MockTransport`` in tests).
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from ._errors import ApiError, ConfigurationError, ConnectionFailed, StreamNotFound

log = logging.getLogger("joule_sync")

Params = dict[str, str | int]

try:
    __version__ = version("joule-sync")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

TCP_KEEPALIVE = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)] + [
    (socket.IPPROTO_TCP, option, seconds_or_count)
    for name, seconds_or_count in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 15), ("TCP_KEEPCNT", 4))
    if (option := getattr(socket, name, None)) is not None
]
"""Socket options of every TCP connection to a node.  A subscription waits on a quiet
connection without a read timeout: keepalive probes find a node that vanished (a reboot, a
dropped NAT entry) within about two minutes, where the wait would otherwise last forever."""

NOT_FOUND_REASONS = frozenset({"stream does not exist", "folder does not exist"})
"""404 reasons that mean "no such stream or folder": ``StreamNotFound`` rather than ``ApiError``."""


class EndsWithConnection(Protocol):
    """What must end when the connections close (an open read pipe)."""

    def close_with_node(self) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Settings:
    """How to reach a node: what ``Node(...)`` was given (its docstring says what each
    means), checked there.  The key is left out of the repr."""

    url: str
    key: str | None = field(repr=False)
    name: str
    ca_file: str | os.PathLike[str] | None
    verify: bool
    timeout: float | None
    connect_timeout: float | None
    retries: int
    uds: str | None


class Transport:
    """Requests to one node, on one connection pool (see the module docstring)."""

    backoff_base = 0.5
    """Seconds before the first retry; each further retry waits twice as long."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.url = settings.url
        self.name = settings.name
        self.uds = settings.uds
        self.retries = settings.retries
        headers = {"User-Agent": f"joule-sync/{__version__}"}
        if settings.key:
            headers["X-API-KEY"] = settings.key
        tls = _tls_setting(settings.url, settings.ca_file, settings.verify)
        timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)
        socket_options = None if settings.uds else TCP_KEEPALIVE

        def connect() -> httpx.Client:
            return httpx.Client(
                base_url=settings.url,
                headers=headers,
                timeout=timeout,
                transport=transport
                or httpx.HTTPTransport(verify=tls, uds=settings.uds, socket_options=socket_options),
            )

        self._connect = connect
        self._client: httpx.Client | None = connect()
        self._lock = threading.Lock()
        self._open_streams: weakref.WeakSet[EndsWithConnection] = weakref.WeakSet()

    @property
    def client(self) -> httpx.Client:
        """The connection pool, opened again after ``close()``."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def close(self) -> None:
        """Close the connections; streams still open (read pipes) end first."""
        for stream in list(self._open_streams):
            stream.close_with_node()
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def ends_with_connection(self, stream: EndsWithConnection) -> None:
        """``stream.close_with_node()`` is called when the connections close."""
        self._open_streams.add(stream)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        retry: bool | None = None,
        stream: bool = False,
        no_read_timeout: bool = False,
    ) -> httpx.Response:
        """Send one request and return the response, raising the mapped error on failure.

        ``retry`` (default: only for GET) repeats the request after connection errors and
        statuses above 500 (a proxy's 502, a restarting node's 503), waiting
        ``backoff_base * 2**n`` seconds.  A 500 is a bug on the node and is raised at once,
        as upstream does.  ``stream=True`` returns before the body is read (the caller
        closes the response); ``no_read_timeout`` lets the node stay silent for as long as
        it likes, as a live subscription may.
        """
        if retry is None:
            retry = method == "GET"
        client = self.client
        timeout = client.timeout
        if no_read_timeout:
            timeout = httpx.Timeout(
                connect=timeout.connect, read=None, write=timeout.write, pool=timeout.pool
            )
        request = client.build_request(method, path, params=params, json=json, timeout=timeout)
        attempt = 0
        while True:
            can_retry = retry and attempt < self.retries
            try:
                response = client.send(request, stream=stream)
            except httpx.TransportError as exc:
                if not can_retry:
                    raise ConnectionFailed(
                        f"{method} {path}: no answer from the node at {self.url} "
                        f"({type(exc).__name__}: {exc})"
                    ) from exc
                self._wait_to_retry(attempt, method, path, type(exc).__name__)
            else:
                if response.is_success:
                    return response
                if not (response.status_code > 500 and can_retry):
                    self._read_error(response, f"{method} {path}")
                    try:
                        raise_for_status(response)
                    except StreamNotFound as exc:
                        raise _named(exc, params, json) from None
                response.close()
                self._wait_to_retry(attempt, method, path, str(response.status_code))
            attempt += 1

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a successful request: an object or a list, as every JSON answer
        of a node is (what is inside is checked by the models that read it)."""
        response = self.request(method, path, **kwargs)
        if not response.headers.get("content-type", "").startswith("application/json"):
            raise ApiError(
                f"{method} {path}: expected JSON from the node, got {response.text[:200]!r}",
                response.status_code,
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise ApiError(
                f"{method} {path}: the node sent invalid JSON: {response.text[:200]!r}",
                response.status_code,
            ) from exc
        if not isinstance(body, dict | list):
            raise ApiError(
                f"{method} {path}: expected a JSON object or list from the node, "
                f"got {response.text[:200]!r}",
                response.status_code,
            )
        return body

    def ok(self, method: str, path: str, **kwargs: Any) -> None:
        """Send a request whose answer is only success (``ok``, empty or any JSON)."""
        response = self.request(method, path, **kwargs)
        if response.headers.get("content-type", "").startswith("application/json"):
            return
        if response.text.strip().lower() not in ("ok", ""):
            raise ApiError(
                f"{method} {path}: unexpected answer from the node: {response.text[:200]!r}",
                response.status_code,
            )

    def upload(self, path: str, params: Params, body: Iterator[bytes]) -> None:
        """One streamed POST of ``body`` (sent once, never retried); raises the node's
        refusal, or ``ConnectionFailed`` when the connection breaks."""
        client = self.client
        request = client.build_request(
            "POST",
            path,
            params=params,
            content=body,
            headers={"Content-Type": "application/octet-stream"},
        )
        try:
            response = client.send(request)
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"{type(exc).__name__}: {exc}") from exc
        raise_for_status(response)

    def _read_error(self, response: httpx.Response, what: str) -> None:
        """Read an error answer (it is short) for its message, and close it."""
        try:
            response.read()
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"{what}: the connection broke while the node answered "
                f"{response.status_code} ({type(exc).__name__}: {exc})"
            ) from exc
        finally:
            response.close()

    def _wait_to_retry(self, attempt: int, method: str, path: str, why: str) -> None:
        delay = self.backoff_base * 2**attempt
        log.warning(
            "%s %s failed (%s), retry %d/%d in %.1f s",
            method,
            path,
            why,
            attempt + 1,
            self.retries,
            delay,
        )
        time.sleep(delay)


class Connected(Protocol):
    """What has a node's transport: a ``Node`` (the other end of a copy)."""

    @property
    def transport(self) -> Transport: ...


def raise_for_status(response: httpx.Response) -> None:
    """Raise ``ApiError`` (``StreamNotFound`` for a missing stream or folder) on errors.

    The node words errors three ways: the reason in the status line and ``"<code>: reason"``
    as the body, the bare reason as the body, or JSON ``{"error": reason}``; a 500 carries a
    Python traceback.  All give ``message`` = the reason.  Works on a streamed response once
    it has been read.
    """
    if response.is_success:
        return
    status = response.status_code
    text = response.text.strip()
    message = text
    if text.startswith("{"):
        try:
            body = jsonlib.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            message = body["error"]
    message = message.removeprefix(f"{status}: ")
    if "Traceback (most recent call last)" in message:
        last_line = message.splitlines()[-1].strip()
        message = f"{response.reason_phrase} ({last_line})"
    if status == 403:
        message = f"{message or 'Forbidden'}: the node did not accept the API key"
    message = message or response.reason_phrase or "error"
    if status == 404 and message in NOT_FOUND_REASONS:
        raise StreamNotFound(message, status)
    raise ApiError(message, status)


def _named(error: StreamNotFound, params: Params | None, body: Any) -> StreamNotFound:
    """The node's "stream does not exist", naming the stream or folder the request asked for:
    "stream '/a/b' does not exist"."""
    for source in (params or {}, body if isinstance(body, dict) else {}):
        for prefix in ("", "src_", "stream_"):
            if prefix + "path" in source:
                name = repr(str(source[prefix + "path"]))
            elif prefix + "id" in source:
                name = f"id {source[prefix + 'id']}"
            else:
                continue
            noun, _, rest = error.message.partition(" ")
            return StreamNotFound(f"{noun} {name} {rest}", error.status)
    return error


def _tls_setting(
    url: str, ca_file: str | os.PathLike[str] | None, verify: bool
) -> ssl.SSLContext | bool:
    if ca_file is not None:
        if not verify:
            raise ConfigurationError("ca_file is given but verify=False turns checks off")
        try:
            return ssl.create_default_context(cafile=os.fspath(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"cannot load the CA file {ca_file}: {exc}") from exc
    if verify:
        # the system's CAs, as upstream's aiohttp uses (httpx alone would use certifi's)
        return ssl.create_default_context()
    if url.startswith("https://"):
        log.warning(
            "TLS certificate checks are OFF for %s: anyone on the path can read the "
            "API key and the data; pass ca_file instead of verify=False",
            url,
        )
    return False


def host_of(url: str) -> str:
    """The host part of a node's URL (for a database on the node's loopback)."""
    return urlsplit(url).hostname or ""
