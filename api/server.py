"""Running the ASGI server (uvicorn) with limits a hostile client cannot outwait.

Uvicorn bounds idle keep-alive connections (``timeout_keep_alive``) and concurrency
(``limit_concurrency``, 503 beyond), but not the time a client may take to *send* a
request: a client sending a byte a second keeps a connection (and a slot) forever, and
with its httptools parser not the size of a request head either.
:class:`BoundedReadProtocol` adds both: from a request's first byte to its last, at most
``request_read_timeout`` seconds, else ``408``; a head still incomplete past
``max_header_bytes``, ``431``; either way the connection is closed. It also writes each
answer's head and body in one system call (api.write_coalescing), and makes the edge's
413 for a declared body over its limit as soon as the head is complete, without
starting the app (api.edge.head_refusal); for that, a connection's reads are sized
by what it awaits (:class:`BufferedConnection`): a head is read a few KiB at a time, so
a refused body is left unread in the kernel. A POST to ``/graphql`` (a body within
the limit) is held until its body is complete, so that a document the precheck refuses
from its text is answered the same way, by the edge's code without the app
(api.edge.document_refusal); any other starts the app with its whole body.

Why httptools (C, llhttp) rather than uvicorn's pure-Python h11 parser, which bounds the
head itself: the bench measured h11 at ≈ 8% of the time spent refusing a 1 MB hostile
body, and it costs every request; the comparator in ``bench/`` runs uvicorn's default,
httptools, too.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from api.edge.document_refusal import DocumentRefusal
from api.edge.head_refusal import HeadRefusal
from api.write_coalescing import CoalescingTransport

__all__ = ("BoundedReadProtocol", "BufferedConnection", "ServerLimits", "run_server")

# How much one read may take from the socket: little while a request head is awaited (a
# head seldom passes a few hundred bytes; a larger one takes more reads), as much as the
# event loop's own reads once the app reads a body. A 1 MB body the edge refuses from its
# head (413) then costs the server one small read, not the 128 KiB a plain read copied
# out of the kernel into a new bytes object (and through the caches) before the refusal.
HEAD_READ_BYTES = 8 * 1024
BODY_READ_BYTES = 256 * 1024


class _ReadBuffer(threading.local):
    """One read buffer per thread (so per event loop), shared by its connections: the
    loop reads into it and at once hands it over (``buffer_updated``), which copies out
    what was read before returning; no two reads on one loop overlap."""

    def __init__(self) -> None:
        self.whole = memoryview(bytearray(BODY_READ_BYTES))
        self.head = self.whole[:HEAD_READ_BYTES]


_read_buffer = _ReadBuffer()


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Server-side limits; each over-limit answer is a 4xx/503 or a closed idle socket."""

    request_read_timeout: float = 10.0  # first byte → whole request read, else 408
    keep_alive_timeout: int = 5  # idle between requests
    max_header_bytes: int = 16 * 1024  # request head, counted as it arrives; beyond: 431
    max_concurrency: int = 1000  # connections + tasks per worker; beyond: 503
    graceful_shutdown_timeout: int = 10


class BoundedReadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus a whole-request read deadline and a bound on the
    request head (see module docstring).

    The limits come from ``config.opendesk_request_read_timeout`` and
    ``config.opendesk_max_header_bytes`` (set by :func:`run_server`; the config object
    travels to worker processes with it).
    """

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._read_timeout = float(getattr(config, "opendesk_request_read_timeout", 10.0))
        self._max_head_bytes = int(getattr(config, "opendesk_max_header_bytes", 16 * 1024))
        self._read_deadline: asyncio.TimerHandle | None = None
        self._reading = False  # between a request's first byte and its last
        self._in_head = True  # its head not yet complete
        self._head_bytes = 0
        # Where the next read goes (BufferedConnection): a short buffer while a head is
        # awaited, the whole one while the app reads a body.
        self._buffers = _read_buffer
        self.read_into = self._buffers.head
        # The one refusal made from a request's head, by the edge's own code
        # (api.edge.head_refusal); after it, the rest of what arrived is ignored.
        refusal = getattr(self.app, "head_refusal", None)
        self._head_refusal = refusal if isinstance(refusal, HeadRefusal) else None
        self._refused_from_head = False
        # The refusal made from a request's document once its body is complete
        # (api.edge.document_refusal): until then the body is held here, the app not started.
        documents = getattr(self.app, "document_refusal", None)
        self._document_refusal = documents if isinstance(documents, DocumentRefusal) else None
        self._held_body: list[bytes] | None = None
        self._held_bytes = 0
        self._held_bytes_limit = 0
        self._close_after_held = False  # a graceful shutdown began while a body was held

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # An answer's head and body in one write (api.write_coalescing).
        coalescing = CoalescingTransport(transport, self.loop)
        super().connection_made(coalescing)  # type: ignore[arg-type]
        self._start_reading()

    def data_received(self, data: bytes) -> None:
        if not self._reading:
            self._start_reading()  # the first byte of the next request on this connection
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self._max_head_bytes and self._reading:
            self._refuse(_head_too_large_response())

    def on_message_begin(self) -> None:
        if not self._reading:
            # A request that arrived in the same read as the end of the one before it:
            # its own deadline and head count start here, not at the next read.
            self._start_reading()
        # Nor may the keep-alive timer armed after an answer made without the app, in
        # this same read (api.edge.document_refusal), run on into this request.
        self._unset_keepalive_if_required()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self.read_into = self._buffers.whole
        if self._refused_from_head:
            return
        if self._head_refusal is not None and self._head_refusal.may_refuse(self.headers):
            answer = self._answer_from_head(self._head_refusal)
            if answer is not None:
                self._refused_from_head = True
                self._stop_reading()
                self.transport.write(answer)
                self.transport.close()
                return
        if self._document_refusal is not None and self._holds_for_document(self._document_refusal):
            self._held_body = []
            self._held_bytes = 0
            self._held_bytes_limit = self._document_refusal.held_bytes_limit(self.scope)
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._held_body is not None:
            self._held_body.append(body)
            self._held_bytes += len(body)
            if self._held_bytes > self._held_bytes_limit:
                # A chunked body past the limit: the app starts on what came, the edge's
                # body limit answers it (413), and the rest goes to the app as it comes.
                self._start_app_on(self._take_held())
        elif not self._refused_from_head:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused_from_head:
            return
        self._stop_reading()
        if self._held_body is not None and self._document_refusal is not None:
            self._answer_held(self._document_refusal, self._take_held())
            return
        super().on_message_complete()

    def shutdown(self) -> None:
        if self._held_body is not None:
            # A request whose body is still arriving, held before the app starts: it is
            # answered, then the connection closed (as uvicorn lets a started one finish).
            self._close_after_held = True
            return
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_deadline()
        super().connection_lost(exc)

    def _answer_from_head(self, refusal: HeadRefusal) -> bytes | None:
        """The head refusal's answer as bytes, or ``None`` (the app runs). Not while an
        earlier request on this connection is still being answered (its answer comes
        first), nor for a protocol upgrade."""
        if self._answering_earlier_request() or self.parser.should_upgrade():
            return None
        path = httptools.parse_url(self.url).path.decode("ascii")  # as uvicorn decodes it
        if "%" in path:
            path = urllib.parse.unquote(path)
        peer = self.client[0] if self.client else None
        method = self.parser.get_method().decode("ascii")
        answer = refusal.answer(method, self.root_path + path, self.headers, peer)
        return None if answer is None else self._response(*answer)

    def _holds_for_document(self, refusal: DocumentRefusal) -> bool:
        """True when the app waits for this request's whole body (the document refusal
        may answer it); its scope then has the method and path uvicorn gives it."""
        if self._answering_earlier_request() or self.parser.should_upgrade():
            return False
        # As uvicorn's on_headers_complete fills them in (it does again when the app starts).
        parsed_url = httptools.parse_url(self.url)
        path = parsed_url.path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        self.scope["method"] = self.parser.get_method().decode("ascii")
        self.scope["path"] = self.root_path + path
        self.scope["raw_path"] = self.root_path.encode("ascii") + parsed_url.path
        self.scope["query_string"] = parsed_url.query or b""
        return refusal.may_refuse(self.scope)

    def _answer_held(self, refusal: DocumentRefusal, body: bytes) -> None:
        """Write the document refusal's answer to the held request, or start the app
        with its whole body as uvicorn would have."""
        answer = refusal.answer(self.scope, body)
        if answer is None:
            self._start_app_on(body)
            super().on_message_complete()
            return
        status, headers, content = answer
        keep_alive = self.parser.should_keep_alive() and not self._close_after_held
        if not keep_alive:
            headers = [*headers, (b"connection", b"close")]
        self.transport.write(self._response(status, headers, content))
        if keep_alive:
            self.on_response_complete()  # as after any answer: the keep-alive timer
        else:
            self.transport.close()

    def _take_held(self) -> bytes:
        """The held body, whole; the request is no longer held."""
        body = b"".join(self._held_body or ())
        self._held_body = None
        return body

    def _start_app_on(self, body: bytes) -> None:
        """Start the app on a request held so far, with what its body has brought."""
        super().on_headers_complete()
        if self._close_after_held and self.cycle is not None:
            self.cycle.keep_alive = False
        if body:
            super().on_body(body)

    def _answering_earlier_request(self) -> bool:
        """True while an earlier request on this connection is still being answered."""
        return self.cycle is not None and not self.cycle.response_complete

    def _response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
        """An answer made without the app, as uvicorn writes one (its default headers
        first)."""
        head = [STATUS_LINE[status]]
        for name, value in [*self.server_state.default_headers, *headers]:
            head.extend([name, b": ", value, b"\r\n"])
        head.append(b"\r\n")
        return b"".join(head) + body

    def _start_reading(self) -> None:
        self._reading = True
        self._in_head = True
        self.read_into = self._buffers.head
        self._head_bytes = 0
        self._disarm_read_deadline()
        self._read_deadline = self.loop.call_later(self._read_timeout, self._read_timed_out)

    def _stop_reading(self) -> None:
        self._reading = False
        self.read_into = self._buffers.head  # the next bytes start a head
        self._disarm_read_deadline()

    def _disarm_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        self._refuse(_timeout_response())

    def _refuse(self, response: bytes) -> None:
        self._stop_reading()
        if self.transport.is_closing():
            return
        # A held request (its body awaited before the app starts) has no cycle yet: the
        # one there, if any, is an earlier request's, already answered.
        if self._held_body is not None or self.cycle is None or not self.cycle.response_started:
            self.transport.write(response)
        self.transport.close()  # connection_lost tells a waiting app: http.disconnect


class BufferedConnection(asyncio.BufferedProtocol):
    """What the event loop serves a connection with: a :class:`BoundedReadProtocol`,
    read into the buffer it names (``read_into``: at most :data:`HEAD_READ_BYTES` while
    a head is awaited). A wrapper, not a subclass: uvloop reads any protocol that is an
    ``asyncio.Protocol``, as uvicorn's are, into a buffer of its own (128 KiB and more
    at a time), whatever else it is.

    Constructed as uvicorn constructs its protocol classes (``http=`` of its config).
    """

    __slots__ = ("_whole", "http")

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        self.http = BoundedReadProtocol(config, *args, **kwargs)
        self._whole = _read_buffer.whole

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.http.connection_made(transport)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        self.http.connection_lost(exc)

    def eof_received(self) -> bool | None:
        return self.http.eof_received()  # type: ignore[func-returns-value]

    def pause_writing(self) -> None:
        self.http.pause_writing()

    def resume_writing(self) -> None:
        self.http.resume_writing()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.http.read_into

    def buffer_updated(self, nbytes: int) -> None:
        self.http.data_received(self._whole[:nbytes].tobytes())


def _head_too_large_response() -> bytes:
    return _error_response(
        "431 Request Header Fields Too Large",
        "Request header fields too large.",
        "REQUEST_HEADER_FIELDS_TOO_LARGE",
    )


def _timeout_response() -> bytes:
    return _error_response(
        "408 Request Timeout", "Request not received in time.", "REQUEST_TIMEOUT"
    )


def _error_response(status: str, message: str, code: str) -> bytes:
    body = json.dumps(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        separators=(",", ":"),
    ).encode()
    head = (
        f"HTTP/1.1 {status}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "x-content-type-options: nosniff\r\n"
        "cache-control: no-store\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def run_server(
    *,
    host: str,
    port: int,
    workers: int,
    limits: ServerLimits,
    certfile: Path | None = None,
    keyfile: Path | None = None,
) -> None:
    """Serve ``api.asgi:create_app_from_environment`` until stopped (blocks).

    HTTPS when ``certfile`` and ``keyfile`` are given (TLS 1.2+, Python's defaults).
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "api.asgi:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # Typed as an asyncio.Protocol class; uvicorn only calls it, with the arguments
        # it gives its own protocol classes.
        http=BufferedConnection,  # type: ignore[arg-type]
        server_header=False,
        date_header=True,
        proxy_headers=False,  # the app resolves client IPs itself, from trusted proxies only
        timeout_keep_alive=limits.keep_alive_timeout,
        timeout_graceful_shutdown=limits.graceful_shutdown_timeout,
        limit_concurrency=limits.max_concurrency,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        log_level="warning",
        access_log=False,
    )
    config.opendesk_request_read_timeout = limits.request_read_timeout  # type: ignore[attr-defined]
    config.opendesk_max_header_bytes = limits.max_header_bytes  # type: ignore[attr-defined]
    server = uvicorn.Server(config)
    if config.workers > 1:
        socket = config.bind_socket()
        Multiprocess(config, sockets=[socket]).run()
    else:
        server.run()
