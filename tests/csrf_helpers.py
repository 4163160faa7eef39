"""Send the CSRF token the way the frontend does: read the cookie, echo it in a header."""

from __future__ import annotations

from typing import Any

import httpx

from api.edge import CSRF_HEADER, csrf_cookie_name


async def with_csrf(client: httpx.AsyncClient, *, tls: bool = False) -> httpx.AsyncClient:
    """Fetch a token (``GET /csrf``) now; from then on every request echoes the CSRF
    cookie the client holds at that moment (it changes at login and logout)."""
    await client.get("/csrf")
    name = csrf_cookie_name(tls)

    async def echo_token(request: httpx.Request) -> None:
        token = client.cookies.get(name)
        if token and CSRF_HEADER not in request.headers:
            request.headers[CSRF_HEADER] = token

    hooks: dict[str, Any] = dict(client.event_hooks)
    hooks["request"] = [*hooks.get("request", []), echo_token]
    client.event_hooks = hooks
    return client
