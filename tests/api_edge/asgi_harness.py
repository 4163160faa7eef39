"""Direct ASGI calls and a tiny Litestar app for the edge middleware tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, get, post

from api.edge._asgi import ASGIApp


@dataclass
class Recorder:
    """An ASGI app that drains the request body, keeps it, and answers 200."""

    calls: int = 0
    bodies: list[bytes] = field(default_factory=list)
    scopes: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        self.scopes.append(scope)
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        self.bodies.append(b"".join(chunks))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@dataclass
class Result:
    status: int | None
    headers: list[tuple[bytes, bytes]]
    body: bytes
    receive_calls: int

    def header(self, name: str) -> str | None:
        values = [v.decode() for k, v in self.headers if k.decode().lower() == name]
        assert len(values) <= 1, f"duplicate {name} header"
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    app: ASGIApp,
    *,
    method: str = "GET",
    path: str = "/",
    headers: Sequence[tuple[str, str]] = (),
    chunks: Sequence[bytes] = (b"",),
    client: tuple[str, int] | None = ("203.0.113.7", 5000),
    scope_type: str = "http",
) -> Result:
    """Call ``app`` once; the body arrives as ``chunks`` (the last ends the body)."""
    scope: dict[str, Any] = {
        "type": scope_type,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode("latin-1"), v.encode()) for k, v in headers],
        "client": client,
        "server": ("testserver", 80),
    }
    pending = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    result = Result(status=None, headers=[], body=b"", receive_calls=0)

    async def receive() -> dict[str, Any]:
        result.receive_calls += 1
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert result.status is None, "response started twice"
            result.status = message["status"]
            result.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            result.body += message.get("body", b"")

    await app(scope, receive, send)
    return result


class WithPeer:
    """Sets the TCP peer address, which Litestar's test client fixes to ``testclient``."""

    def __init__(self, app: ASGIApp, peer: str) -> None:
        self.app = app
        self.peer = peer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["client"] = (self.peer, 40000)
        await self.app(scope, receive, send)


def build_litestar_app() -> tuple[Litestar, list[bytes]]:
    """A small app with the responses the edge must handle; returns the bodies it read."""
    bodies_seen: list[bytes] = []

    @get("/ok")
    async def ok() -> dict[str, str]:
        return {"ok": "yes"}

    @get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    @get("/page")
    async def page() -> Response[str]:
        return Response(
            "<html></html>",
            media_type="text/html",
            headers={
                "Content-Security-Policy": "default-src 'self'",
                "Cache-Control": "max-age=60",
            },
        )

    @get("/weak")
    async def weak() -> Response[str]:
        return Response("x", headers={"X-Frame-Options": "SAMEORIGIN", "Server": "leaky/1.0"})

    @get("/state")
    async def state(request: Request[Any, Any, Any]) -> dict[str, str | None]:
        client_ip = request.state.get("client_ip")
        return {
            "client_ip": None if client_ip is None else str(client_ip),
            "request_client": request.client.host if request.client else None,
            "request_id": request.state.get("request_id"),
        }

    @post("/graphql", status_code=200)
    async def graphql(request: Request[Any, Any, Any]) -> dict[str, str]:
        bodies_seen.append(await request.body())
        return {"data": "ok"}

    app = Litestar(route_handlers=[ok, boom, page, weak, state, graphql], debug=False)
    return app, bodies_seen
