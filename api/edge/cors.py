"""CORS at the edge: an explicit origin allowlist, credentials only for those origins.

Our own small middleware instead of Litestar's ``CORSConfig``: Litestar applies CORS only
to matched routes, so answers made at the edge (403 CSRF, 413, 415, 429, ``GET /csrf``)
would reach an allowlisted frontend without CORS headers and be unreadable to it. Here
every answer to an allowlisted ``Origin`` carries them, and nothing else ever does:
there is no ``*``, and a foreign origin's preflight is refused before any route runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from api.edge._asgi import (
    ASGIApp,
    Message,
    RawHeaders,
    Receive,
    Scope,
    Send,
    header_values,
    send_json_error,
)

__all__ = ("CORSMiddleware", "CORSPolicy")

_VARY: Final = (b"vary", b"Origin")


@dataclass(frozen=True, slots=True)
class CORSPolicy:
    """Who may call cross-origin, with which methods and request headers.

    ``allowed_origins`` are exact origins (``https://app.example``, no path); ``*`` and
    ``null`` are refused (ValueError), so credentials can never go to any origin.
    Preflight answers are cached by browsers for ``max_age`` seconds.
    """

    allowed_origins: frozenset[str] = frozenset()
    allow_methods: tuple[str, ...] = ("GET", "POST")
    allow_headers: tuple[str, ...] = (
        "content-type",
        "x-csrf-token",
        "authorization",
        "x-request-id",
    )
    expose_headers: tuple[str, ...] = ("x-request-id", "retry-after")
    max_age: int = 600

    def __post_init__(self) -> None:
        for origin in self.allowed_origins:
            if origin in ("*", "null") or "://" not in origin or origin.count("/") != 2:
                raise ValueError(f"CORS origin must be scheme://host[:port], not {origin!r}")
        if self.max_age < 0:
            raise ValueError("max_age must be >= 0")


class CORSMiddleware:
    """Answers preflights itself (204 for an allowlisted origin asking for allowed
    methods and headers, else 403 without CORS headers; the app is not called) and adds
    ``Access-Control-Allow-Origin: <origin>`` + ``-Credentials: true`` to every other
    answer for an allowlisted origin. ``Vary: Origin`` whenever an Origin was sent."""

    def __init__(self, app: ASGIApp, policy: CORSPolicy) -> None:
        self.app = app
        self.policy = policy
        self._methods = frozenset(method.upper() for method in policy.allow_methods)
        self._headers = frozenset(header.lower() for header in policy.allow_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origins = (
            header_values(scope.get("headers", ()), b"origin") if scope["type"] == "http" else []
        )
        if not origins:
            await self.app(scope, receive, send)
            return
        origin = origins[0] if len(origins) == 1 else ""
        allowed = origin in self.policy.allowed_origins
        requested = header_values(scope.get("headers", ()), b"access-control-request-method")
        if scope.get("method") == "OPTIONS" and requested:
            await self._preflight(scope, send, origin if allowed else None, requested[0])
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self.answer_headers(message.get("headers", ()), origins)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def answer_headers(self, headers: RawHeaders, origins: list[str]) -> list[tuple[bytes, bytes]]:
        """``headers`` of an answer (not a preflight's) to a request that sent the
        ``Origin`` values ``origins``, as this layer sends them on: no CORS headers but
        its own, ``Vary: Origin`` when an Origin was sent, and the allow headers for an
        allowlisted one (also for answers made before the app runs:
        api.edge.head_refusal)."""
        if not origins:
            return list(headers)
        origin = origins[0] if len(origins) == 1 else ""
        kept = [
            (name, value)
            for name, value in headers
            if not name.lower().startswith(b"access-control-")
        ]
        kept.append(_VARY)
        if origin in self.policy.allowed_origins:
            kept.extend(self._actual_headers(origin))
        return kept

    def is_preflight(self, method: str, headers: RawHeaders) -> bool:
        """True for a request this layer answers itself (a CORS preflight)."""
        return (
            method == "OPTIONS"
            and bool(header_values(headers, b"origin"))
            and bool(header_values(headers, b"access-control-request-method"))
        )

    async def _preflight(self, scope: Scope, send: Send, origin: str | None, method: str) -> None:
        asked = header_values(scope.get("headers", ()), b"access-control-request-headers")
        asked_headers = {
            h.strip().lower() for value in asked for h in value.split(",") if h.strip()
        }
        if origin is None or method.upper() not in self._methods or asked_headers - self._headers:

            async def send_with_vary(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", ()), _VARY]
                await send(message)

            await send_json_error(send_with_vary, 403, "CORS preflight refused.", "CORS_REFUSED")
            return
        headers = [
            *self._actual_headers(origin),
            (b"access-control-allow-methods", ", ".join(sorted(self._methods)).encode()),
            (b"access-control-allow-headers", ", ".join(sorted(self._headers)).encode()),
            (b"access-control-max-age", str(self.policy.max_age).encode()),
            _VARY,
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _actual_headers(self, origin: str) -> list[tuple[bytes, bytes]]:
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", ", ".join(self.policy.expose_headers).encode()),
        ]
