"""A fault-injecting HTTP proxy on loopback, for putting in front of the real node.

Each client connection gets its own connection to the node, and both directions are relayed
by threads that follow HTTP/1.1 message framing (``Content-Length`` or chunked bodies), so a
fault hits one chosen request at an exact byte of its body, while every other request passes
through untouched, keep-alive included::

    with FaultProxy(node_port) as proxy:
        proxy.inject(Fault(cut_response_after=20 * 1000 + 7), path="/data")
        joule_sync.Node(proxy.url, key).data_read_array(...)   # breaks inside row 1000

With ``tls`` (a server ``SSLContext``) it terminates TLS: ``https://`` in front of the node.
Chunked bodies are re-chunked as they pass (one chunk per piece read), which is what lets a
response end cleanly at any byte.  ``stop_listening``/``start_listening`` make connections
be refused, on the same port.  ``injected`` counts the faults applied.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

PIECE = 64 * 1024
"""Bytes read from a socket at a time (and so the largest re-chunked chunk)."""


@dataclass(frozen=True)
class Fault:
    """What to do to one request; every field left at its default relays it untouched.

    Byte counts are of the body's payload (chunk framing not counted), so a cut can be
    placed inside or between rows.
    """

    status: int | None = None
    """Answer this status (with an empty body) instead of relaying the request."""
    reset: bool = False
    """Reset the connection (RST) instead of answering."""
    cut_request_after: int | None = None
    """Relay this many bytes of the request body to the node, then cut both connections."""
    cut_response_after: int | None = None
    """Relay this many bytes of the response body, then cut the connection."""
    end_response_after: int | None = None
    """Relay this many bytes of a chunked response body, then end it cleanly."""
    stall_response_after: int | None = None
    """Relay this many bytes of the response body, then send nothing until the proxy closes."""


@dataclass
class _Rule:
    fault: Fault
    method: str | None
    path: str | None
    times: int


class _Cut(Exception):
    """A fault ended the connection on purpose."""


class _Reader:
    """Buffered reads from a socket; ``ConnectionError`` at an end inside a message."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def _fill(self) -> bool:
        data = self._sock.recv(PIECE)
        self._buffer += data
        return bool(data)

    def head(self) -> bytes | None:
        """A message head up to and including the blank line; None at a clean end."""
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            if not self._fill():
                if self._buffer:
                    raise ConnectionError("connection ended inside a message head")
                return None
        head, self._buffer = self._buffer[: end + 4], self._buffer[end + 4 :]
        return head

    def line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if not self._fill():
                raise ConnectionError("connection ended inside a line")
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        return line

    def some(self, limit: int) -> bytes:
        """Up to ``limit`` bytes (at least one); b"" at the end of the connection."""
        if not self._buffer and not self._fill():
            return b""
        piece, self._buffer = self._buffer[:limit], self._buffer[limit:]
        return piece


class _Body:
    """Relays one message body, re-chunking chunked ones, stopping after ``limit`` bytes.

    Bodies without ``Content-Length`` or chunking are taken as empty: aiohttp frames all.
    """

    def __init__(
        self, reader: _Reader, send: Callable[[bytes], None], head: bytes, limit: int | None
    ) -> None:
        self._reader = reader
        self._send = send
        self._limit = limit
        self.relayed = 0
        headers = _headers(head)
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        # bytes of the current chunk (or of the whole body) not read yet
        self._left = 0 if self.chunked else int(headers.get("content-length", 0))
        self._chunk_open = False

    def relay(self) -> bool:
        """Relay the rest of the body; False if it stopped at the limit instead."""
        if not self.chunked:
            return self._relay_left()
        while True:
            if not self._relay_left():
                return False
            if self._chunk_open:
                self._reader.line()  # the CRLF after a chunk's data
            self._left = int(self._reader.line().split(b";")[0], 16)
            self._chunk_open = True
            if self._left == 0:
                while self._reader.line():  # trailers, up to the blank line
                    pass
                self._send(b"0\r\n\r\n")
                return True

    def discard_rest(self) -> None:
        """Read the rest of the body without relaying it (the connection stays in step)."""
        self._send, self._limit = (lambda _: None), None
        self.relay()

    def _relay_left(self) -> bool:
        while self._left:
            room = (
                self._left if self._limit is None else min(self._left, self._limit - self.relayed)
            )
            if room == 0:
                return False
            piece = self._reader.some(min(room, PIECE))
            if not piece:
                raise ConnectionError("connection ended inside a body")
            self._send(b"%x\r\n%s\r\n" % (len(piece), piece) if self.chunked else piece)
            self.relayed += len(piece)
            self._left -= len(piece)
        return True


class _Sender:
    """Sends to one socket from several threads, one message part at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def __call__(self, data: bytes) -> None:
        with self._lock:
            self._sock.sendall(data)


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return {name.strip().lower(): value.strip() for name, value in pairs}


class FaultProxy:
    """An HTTP/1.1 proxy on 127.0.0.1 in front of ``127.0.0.1:target_port``."""

    def __init__(self, target_port: int, *, tls: ssl.SSLContext | None = None) -> None:
        self._target = ("127.0.0.1", target_port)
        self._tls = tls
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self.injected = 0
        self.requests: list[str] = []
        self._listener: socket.socket | None = None
        self.port = 0
        self.start_listening()

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def inject(
        self, fault: Fault, *, method: str | None = None, path: str | None = None, times: int = 1
    ) -> None:
        """Apply ``fault`` to the next ``times`` requests matching ``method`` and ``path``."""
        with self._lock:
            self._rules.append(_Rule(fault, method, path, times))

    def start_listening(self) -> None:
        """Accept connections (again, on the same port once it had one)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._spawn(self._accept, listener)

    def stop_listening(self) -> None:
        """Refuse new connections (open ones carry on)."""
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None

    def close(self) -> None:
        """Stop listening, end stalls and every connection, and wait for the relay threads."""
        self.stop_listening()
        self._release.set()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- relaying ----------------------------------------------------------------------

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # stop_listening closed it
                return
            self._spawn(self._serve, client)

    def _fault_for(self, head: bytes) -> Fault:
        method, target = head.split(b" ", 2)[:2]
        path = target.decode().split("?", 1)[0]
        with self._lock:
            self.requests.append(f"{method.decode()} {path}")
            for rule in self._rules:
                if (
                    rule.times > 0
                    and rule.method in (None, method.decode())
                    and rule.path in (None, path)
                ):
                    rule.times -= 1
                    self.injected += 1
                    return rule.fault
        return Fault()

    def _track(self, sock: socket.socket) -> None:
        # each relayed piece goes out at once: Nagle's wait for an ACK would stall the relay
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._sockets.add(sock)

    def _serve(self, client: socket.socket) -> None:
        """Relay requests to the node, and the node's responses back, on one connection."""
        if self._tls is not None:
            client.settimeout(10)  # for the handshake only
            try:
                client = self._tls.wrap_socket(client, server_side=True)
            except OSError:  # the client refused the certificate, or went away
                client.close()
                return
            client.settimeout(None)
        self._track(client)
        upstream: socket.socket | None = None
        # the fault of each request relayed, for its response
        response_faults: deque[Fault] = deque()
        to_client = _Sender(client)
        requests = _Reader(client)
        try:
            while (head := requests.head()) is not None:
                fault = self._fault_for(head)
                if fault.reset:
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if fault.status is not None:
                    _Body(requests, lambda _: None, head, None).relay()  # read and dropped
                    to_client(b"HTTP/1.1 %d Injected\r\nContent-Length: 0\r\n\r\n" % fault.status)
                    continue
                if upstream is None:
                    upstream = socket.create_connection(self._target)
                    self._track(upstream)
                    self._spawn(self._respond, upstream, to_client, response_faults, client)
                response_faults.append(fault)
                to_node = _Sender(upstream)
                to_node(head)
                body = _Body(requests, to_node, head, fault.cut_request_after)
                if not body.relay():
                    raise _Cut
        except (OSError, _Cut):
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()

    def _respond(
        self,
        upstream: socket.socket,
        to_client: _Sender,
        faults: deque[Fault],
        client: socket.socket,
    ) -> None:
        responses = _Reader(upstream)
        try:
            while (head := responses.head()) is not None:
                fault = faults.popleft() if faults else Fault()
                to_client(head)
                limit = next(
                    (
                        n
                        for n in (
                            fault.cut_response_after,
                            fault.end_response_after,
                            fault.stall_response_after,
                        )
                        if n is not None
                    ),
                    None,
                )
                body = _Body(responses, to_client, head, limit)
                if body.relay():
                    continue
                if fault.end_response_after is not None and body.chunked:
                    to_client(b"0\r\n\r\n")
                    body.discard_rest()
                    continue
                if fault.stall_response_after is not None:
                    self._release.wait()
                raise _Cut
        except (OSError, _Cut):
            pass
        finally:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
