"""The server's held bodies (api.edge.document_refusal) on a real socket: an answer made
without the app keeps the connection for the next request, pipelined ones included."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from api.server import BufferedConnection
from tests.api_edge.test_document_refusal import FINE, TOO_DEEP, _edge, _headers

KEEP_ALIVE_SECONDS = 0.2


async def _slow_app(scope: Any, receive: Any, send: Any) -> None:
    """Answers after longer than the keep-alive timeout."""
    while (await receive()).get("more_body", False):
        pass
    await asyncio.sleep(3 * KEEP_ALIVE_SECONDS)
    headers = [(b"content-length", b"4")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"slow"})


def _request(body: bytes) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in _headers(body))
    return f"POST /graphql HTTP/1.1\r\n{head}\r\n".encode("latin-1") + body


async def _serve(app: Any, protocols: list[BufferedConnection]) -> tuple[asyncio.Server, int]:
    """A server of the edge (with its document refusal) around ``app``, on a free port;
    the protocol of each connection it makes is added to ``protocols``."""
    edge = _edge(app=app)

    class App:
        head_refusal = edge.head_refusal
        document_refusal = edge.document_refusal

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await edge.app(scope, receive, send)

    config = uvicorn.Config(
        app=App(),
        lifespan="off",
        log_level="warning",
        proxy_headers=False,  # as served (api.server): the protocol sees the app itself
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    config.load()
    loop = asyncio.get_running_loop()

    def connection() -> BufferedConnection:
        protocol = BufferedConnection(config, ServerState(), {}, loop)
        protocols.append(protocol)
        return protocol

    server = await loop.create_server(connection, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _answers_to(data: bytes, count: int) -> list[tuple[bytes, bytes]]:
    """The status lines and bodies of ``count`` answers to ``data``, sent in one write."""
    server, port = await _serve(_slow_app, [])
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(data)
        statuses = []
        for _ in range(count):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
            statuses.append((head.split(b"\r\n", 1)[0], body))
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    return statuses


async def test_a_request_pipelined_after_a_refusal_outlives_the_keep_alive_timeout() -> None:
    """The refusal is answered without the app, at once; the request after it, in the
    same read, takes longer than the keep-alive timeout and is still answered."""
    (refused, refusal), (served, answer) = await _answers_to(_request(TOO_DEEP) + _request(FINE), 2)

    assert refused == served == b"HTTP/1.1 200 OK"
    assert b"DEPTH_LIMIT_EXCEEDED" in refusal
    assert answer == b"slow"


async def test_a_held_request_is_answered_when_a_graceful_shutdown_begins_meanwhile() -> None:
    """As uvicorn lets a started request finish at shutdown: a request whose body is
    still arriving when the shutdown begins is answered, then its connection closed."""
    protocols: list[BufferedConnection] = []
    server, port = await _serve(_slow_app, protocols)
    request = _request(FINE)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request[:-10])
        await asyncio.sleep(0.1)
        (protocol,) = protocols
        protocol.http.shutdown()  # what uvicorn's server calls on every connection
        writer.write(request[-10:])
        answer = await asyncio.wait_for(reader.read(), timeout=5)  # to the close
        writer.close()
    finally:
        server.close()
        await server.wait_closed()

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), answer[:300]
    assert b"connection: close" in head.lower()
    assert body == b"slow"
