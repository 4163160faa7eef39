"""Request ids and the access log.

Every HTTP and WebSocket connection gets an id: the caller's ``X-Request-ID`` when it is
a short, plain token, otherwise a fresh random one. The id is in ``scope["state"]``, in
structlog's context variables while the request runs (so every log line the app emits
carries it) and in the response's ``X-Request-ID``. One access-log event per HTTP
request records method, path, status, duration, client IP and id, and nothing else:
no headers, cookies, query strings or bodies, which may hold secrets or personal data.
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any, Final, Protocol

import structlog

from api.edge._asgi import (
    ASGIApp,
    Message,
    RawHeaders,
    Receive,
    Scope,
    Send,
    header_values,
    scope_state,
    send_json_error,
)
from api.edge.client_ip import CLIENT_IP_STATE_KEY

__all__ = (
    "REQUEST_ID_HEADER",
    "REQUEST_ID_STATE_KEY",
    "AccessLogger",
    "RequestIDMiddleware",
    "accept_request_id",
    "new_request_id",
)

REQUEST_ID_STATE_KEY: Final = "request_id"
"""``scope["state"]`` key holding the request id (a ``str``)."""

REQUEST_ID_HEADER: Final = "x-request-id"

ACCESS_LOG_EVENT: Final = "http_request"

_REQUEST_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9._-]{8,64}")
_MAX_LOGGED_PATH: Final = 512


class AccessLogger(Protocol):
    """The part of a structlog logger the middleware uses."""

    def info(self, event: str, **fields: Any) -> Any: ...

    def exception(self, event: str, **fields: Any) -> Any: ...


def new_request_id() -> str:
    """A fresh random request id: 32 lower-case hex characters (128 bits) from the
    operating system's CSPRNG (see :class:`_BatchedRandom`)."""
    return _RANDOM.take(16).hex()


class _BatchedRandom:
    """``os.urandom`` read ``batch`` bytes at a time: one system call per 256 request ids
    instead of one per request (≈ 5 µs each on the bench's VM). Each caller gets bytes
    of its own, never handed out twice, so an id is as unpredictable as one read alone
    would make it. Thread-safe; a forked child starts a batch of its own, or it would
    repeat its parent's ids."""

    def __init__(self, batch: int) -> None:
        self._batch = batch
        self._lock = threading.Lock()
        self._bytes = b""
        self._offset = 0
        os.register_at_fork(after_in_child=self._forget)

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._offset + count > len(self._bytes):
                self._bytes, self._offset = os.urandom(max(count, self._batch)), 0
            start = self._offset
            self._offset += count
            return self._bytes[start : start + count]

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._bytes, self._offset = b"", 0


_RANDOM: Final = _BatchedRandom(4096)


def accept_request_id(incoming: str | None) -> str:
    """``incoming`` if it is 8-64 characters of ``A-Z a-z 0-9 . _ -``, else a new id.

    The result is always safe to put in a header or a log line.
    """
    if incoming is not None and _REQUEST_ID_PATTERN.fullmatch(incoming):
        return incoming
    return new_request_id()


class RequestIDMiddleware:
    """ASGI middleware assigning request ids and writing the access log.

    ``trust_incoming=False`` ignores the caller's ``X-Request-ID`` (always generate).
    ``logger`` defaults to ``structlog.get_logger("opendesk.access")``; the JSON
    rendering comes from the application's structlog configuration.

    Install it outside the other edge middleware so it times and logs their answers
    too, and inside :class:`SecurityHeadersMiddleware` so its own 500 carries the
    security headers. If the app raises before responding, the error is logged with
    the id and a masked 500 JSON error is sent; if it raises after responding, the
    error is logged and re-raised so the server drops the connection.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        trust_incoming: bool = True,
        logger: AccessLogger | None = None,
    ) -> None:
        self.app = app
        self.trust_incoming = trust_incoming
        self.logger: AccessLogger = logger or structlog.get_logger("opendesk.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = self.request_id_for(scope.get("headers", ()))
        state = scope_state(scope)
        state[REQUEST_ID_STATE_KEY] = request_id

        # Bound for the request, then the previous value restored (as bound_contextvars
        # does, without reading every context variable first).
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
                return
            await self._handle_http(scope, receive, send, request_id, state)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)

    async def _handle_http(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, state: dict[str, Any]
    ) -> None:
        status: int | None = None
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [
                    *(h for h in message.get("headers", ()) if h[0].lower() != b"x-request-id"),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            self.logger.exception("unhandled_error", request_id=request_id)
            if status is not None:
                raise
            await send_json_error(
                send_with_id, 500, "Internal server error", "INTERNAL_SERVER_ERROR"
            )
        finally:
            self.log_request(
                str(scope.get("method", "")),
                str(scope.get("path", "")),
                status,
                started,
                request_id,
                state.get(CLIENT_IP_STATE_KEY),
            )

    def request_id_for(self, headers: RawHeaders) -> str:
        """The request's id: the caller's ``X-Request-ID`` when trusted and well-formed
        (one header, see :func:`accept_request_id`), else a new one."""
        incoming = header_values(headers, REQUEST_ID_HEADER.encode())
        trusted = incoming[0] if self.trust_incoming and len(incoming) == 1 else None
        return accept_request_id(trusted)

    def log_request(
        self,
        method: str,
        path: str,
        status: int | None,
        started: float,
        request_id: str,
        client_ip: object | None,
    ) -> None:
        """The access-log line of one answered request (``started``: its
        ``time.perf_counter()`` when it arrived)."""
        fields: dict[str, Any] = {
            "method": method,
            "path": _loggable_path(path),
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "request_id": request_id,
        }
        if client_ip is not None:
            fields["client_ip"] = str(client_ip)
        self.logger.info(ACCESS_LOG_EVENT, **fields)


# Paths that carry a bearer secret (single-use download tokens): logged without it.
_SECRET_PATH_PREFIXES = ("/privacy/downloads/",)


def _loggable_path(path: str) -> str:
    for prefix in _SECRET_PATH_PREFIXES:
        if path.startswith(prefix):
            return prefix + "[redacted]"
    return path[:_MAX_LOGGED_PATH]
