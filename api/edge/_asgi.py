"""Minimal ASGI types and helpers shared by the edge middleware.

The aliases are deliberately loose: Litestar's TypedDict scopes and messages, asgiref's
and plain dicts do not unify under mypy, and the middleware must wrap (and be wrapped by)
any of them: a ``Litestar`` instance, Litestar's own middleware, a test shim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, TypeAlias

Scope: TypeAlias = Any
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Any]]
Send: TypeAlias = Callable[[Any], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Any, Any, Any], Awaitable[None]]
RawHeaders: TypeAlias = Iterable[tuple[bytes, bytes]]


def scope_state(scope: Scope) -> dict[str, Any]:
    """Return ``scope["state"]``, creating it so that every layer shares one dict object."""
    state: dict[str, Any] = scope.setdefault("state", {})
    return state


def route_path(path: str) -> str:
    """``path`` as the router matches it: repeated slashes collapsed, no trailing slash
    (so ``/graphql/`` and ``//graphql`` are the GraphQL route too)."""
    if path and "//" not in path and not path.endswith("/"):
        return path  # already in that form: the usual case, without a regex
    return _REPEATED_SLASHES.sub("/", path).rstrip("/") or "/"


_REPEATED_SLASHES = re.compile(r"/{2,}")


def header_values(headers: RawHeaders, name: bytes) -> list[str]:
    """All values of header ``name`` (lower-case bytes), in order, decoded as latin-1."""
    return [value.decode("latin-1") for key, value in headers if key.lower() == name]


async def send_json_error(
    send: Send,
    status: int,
    message: str,
    code: str,
    *,
    close_connection: bool = True,
    extra_headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Send a complete GraphQL-shaped JSON error response (``{"errors": [...]}``).

    ``close_connection`` adds ``Connection: close``: the server closes the connection
    after the answer. Whatever of the body is still unread then earns the client a reset,
    which can lose it the answer; an answer that leaves a large body unread should keep
    the connection instead (the server reads and discards the rest): the 413 of
    api/edge/body_limit.py.
    """
    headers, body = json_error(message, code, close_connection=close_connection)
    headers.extend(extra_headers)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def json_error(
    message: str, code: str, *, close_connection: bool
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The headers and body of :func:`send_json_error`'s answer."""
    body = json.dumps(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        separators=(",", ":"),
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close_connection:
        headers.append((b"connection", b"close"))
    return headers, body
