"""Request body size limit, enforced before the app reads a byte.

A declared ``Content-Length`` over the limit is refused without reading the body. A
body without one (chunked transfer) is read here, chunk by chunk, and refused as soon
as it passes the limit; only a body that fits is handed on. So the app never sees, and
this layer never holds, more than ``max_body_bytes`` of one request.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Collection, Mapping
from typing import Final

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
from api.edge.large_body_lane import BODY_BYTES_STATE_KEY

__all__ = (
    "MAX_CONTENT_LENGTH_DIGITS",
    "TOO_LARGE_CODE",
    "TOO_LARGE_MESSAGE",
    "BodyLimitMiddleware",
)

TOO_LARGE_MESSAGE: Final = "Request body too large"
TOO_LARGE_CODE: Final = "PAYLOAD_TOO_LARGE"
MAX_CONTENT_LENGTH_DIGITS: Final = 18  # more digits than any limit: refuse without int()


class BodyLimitMiddleware:
    """ASGI middleware refusing HTTP request bodies larger than ``max_body_bytes``.

    Answers, without calling the app:

    - 400 ``BAD_REQUEST`` for a ``Content-Length`` that is not one run of ASCII digits
      (signs, spaces inside, several headers or comma lists are all refused);
    - 413 ``PAYLOAD_TOO_LARGE`` when the declared length, or the bytes actually received,
      exceed the limit (the connection is kept only on ``drained_paths``: see
      :func:`_too_large`).

    Otherwise the app receives the same body in the same chunks (its size noted in the
    scope state under ``BODY_BYTES_STATE_KEY``), then the server's
    later messages (e.g. ``http.disconnect``). If the client disconnects before the body
    is complete (or the server sends anything but body chunks), the app is not called.
    Non-HTTP scopes pass through.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        per_path: Mapping[str, int] | None = None,
        *,
        drained_paths: Collection[str] = (),
    ) -> None:
        limits = {max_body_bytes, *(per_path or {}).values()}
        if min(limits) < 0:
            raise ValueError("max_body_bytes must be >= 0")
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Exact paths with a limit of their own (the upload route); all others the default.
        self.per_path = dict(per_path or {})
        # Paths where a body up to twice the limit is an honest mistake (a file picked a
        # little too big): its 413 keeps the connection (see _too_large).
        self.drained_paths = frozenset(drained_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        max_body_bytes = self.limit_for(path)
        headers = scope.get("headers", ())
        verdict = self._declared_verdict(path, headers)
        if verdict is _Declared.INVALID:
            await send_json_error(send, 400, "Invalid Content-Length header", "BAD_REQUEST")
            return
        if verdict is not _Declared.WITHIN_LIMIT:
            await _too_large(send, keep_connection=verdict is _Declared.OVER_LIMIT_DRAINED)
            return

        chunks: deque[Message] = deque()
        received = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect: nobody to answer
                return
            received += len(message.get("body", b""))
            if received > max_body_bytes:
                chunks.clear()
                await _too_large(send, keep_connection=False)  # how much more: unknown
                return
            chunks.append(message)
            more_body = bool(message.get("more_body", False))
        scope_state(scope)[BODY_BYTES_STATE_KEY] = received  # for the large-body lane

        async def replay() -> Message:
            return chunks.popleft() if chunks else await receive()

        await self.app(scope, replay, send)

    def refuses_unread(self, path: str, headers: RawHeaders) -> bool:
        """True when this layer answers the request 413 from its declared
        ``Content-Length`` alone and closes the connection with the body unread: the
        refusal the server may make from the request head (api.edge.head_refusal).
        ``path`` as the ASGI scope has it."""
        return self._declared_verdict(path, headers) is _Declared.OVER_LIMIT_CLOSED

    def admits(self, path: str, headers: RawHeaders, received: int) -> bool:
        """True when this layer hands on a request with these ``headers`` whose whole body,
        ``received`` bytes, has arrived (its ``Content-Length`` valid and within the limit,
        the body too). ``path`` as the ASGI scope has it."""
        return self._declared_verdict(
            path, headers
        ) is _Declared.WITHIN_LIMIT and received <= self.limit_for(path)

    def limit_for(self, path: str) -> int:
        """The most body bytes this layer hands on for ``path`` (as the scope has it)."""
        return self.per_path.get(path, self.max_body_bytes)

    def _declared_verdict(self, path: str, headers: RawHeaders) -> _Declared:
        declared = header_values(headers, b"content-length")
        if not declared:
            return _Declared.WITHIN_LIMIT  # read and counted as it arrives
        if len(declared) > 1 or not _is_digits(declared[0].strip()):
            return _Declared.INVALID
        length = declared[0].strip()
        max_body_bytes = self.limit_for(path)
        if len(length) <= MAX_CONTENT_LENGTH_DIGITS and int(length) <= max_body_bytes:
            return _Declared.WITHIN_LIMIT
        drain = (
            path in self.drained_paths
            and len(length) <= MAX_CONTENT_LENGTH_DIGITS
            and int(length) <= 2 * max_body_bytes
            and not _expects_continue(headers)
        )
        return _Declared.OVER_LIMIT_DRAINED if drain else _Declared.OVER_LIMIT_CLOSED


class _Declared(enum.Enum):
    """What a request's ``Content-Length`` decides before its body is read."""

    WITHIN_LIMIT = enum.auto()  # or none declared: the body is read, counted as it comes
    INVALID = enum.auto()  # 400
    OVER_LIMIT_DRAINED = enum.auto()  # 413, the rest read and discarded
    OVER_LIMIT_CLOSED = enum.auto()  # 413, the connection closed with the body unread


def _is_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _expects_continue(headers: RawHeaders) -> bool:
    return any(
        value.strip().lower() == "100-continue" for value in header_values(headers, b"expect")
    )


async def _too_large(send: Send, *, keep_connection: bool) -> None:
    """The 413. Closing the connection with the body unread makes the kernel answer the
    client's remaining bytes with a reset, and a client that sends its whole body before
    reading (http.client, browsers' uploads) then loses the answer; keeping it makes the
    server read and discard the rest (as nginx lingers to). That costs as much as the
    body, so it is kept only where an oversized body is an honest mistake and at most
    twice the limit (the upload route): no client of /graphql sends more than its limit
    (the largest operation fits with margin), so there the connection is closed at once,
    as it is after ``Expect: 100-continue`` (no body follows a final answer)."""
    await send_json_error(
        send, 413, TOO_LARGE_MESSAGE, TOO_LARGE_CODE, close_connection=not keep_connection
    )
