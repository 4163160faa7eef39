"""Request head limits the server does not enforce on its own.

h11's ``max_incomplete_event_size`` bounds a head only while it is still arriving; a
complete head delivered in one read passes whatever its size, and no server option caps
the header count. Checked here, before any layer parses a header: 431, app not called.
"""

from __future__ import annotations

from collections.abc import Sequence

from api.edge._asgi import ASGIApp, Receive, Scope, Send, send_json_error

__all__ = ("HeaderLimitMiddleware",)


class HeaderLimitMiddleware:
    """Answers 431 when a request has more than ``max_count`` header fields or their
    names and values total more than ``max_bytes``. Non-HTTP scopes pass through."""

    def __init__(self, app: ASGIApp, *, max_count: int = 100, max_bytes: int = 16 * 1024) -> None:
        self.app = app
        self.max_count = max_count
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.refuses(scope.get("headers", ())):
            await send_json_error(
                send, 431, "Request header fields too large.", "HEADERS_TOO_LARGE"
            )
            return
        await self.app(scope, receive, send)

    def refuses(self, headers: Sequence[tuple[bytes, bytes]]) -> bool:
        """True when ``headers`` are over either limit (the 431)."""
        size = sum(len(name) + len(value) for name, value in headers)
        return len(headers) > self.max_count or size > self.max_bytes
