"""BufferedConnection: the server reads a request head into a short buffer and a body into
the whole one, over real sockets on both event loops the server may run (uvloop, as
served, and asyncio's own); what is read arrives whole and in order."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvicorn
import uvloop
from uvicorn.server import ServerState

from api.server import BODY_READ_BYTES, HEAD_READ_BYTES, BufferedConnection

BODY_BYTES = 300_000  # several whole-buffer reads, far more than a head read


async def _digest_app(scope: Any, receive: Any, send: Any) -> None:
    """Answers the SHA-256 of the request body."""
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    digest = hashlib.sha256(body).hexdigest().encode()
    headers = [(b"content-length", str(len(digest)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": digest})


class _Recorded(BufferedConnection):
    """Records the size of every buffer offered to the event loop."""

    offered: list[int]

    def get_buffer(self, sizehint: int) -> memoryview:
        buffer = super().get_buffer(sizehint)
        self.offered.append(len(buffer))
        return buffer


async def _serve_and_send(*requests: bytes) -> tuple[list[bytes], list[list[int]]]:
    """Serves one keep-alive connection that sends each of ``requests`` whole, after the
    answer to the one before; returns the answers' bodies and, per request, the sizes of
    the buffers offered for reads from its sending to its answer."""
    config = uvicorn.Config(app=_digest_app, lifespan="off", log_level="warning")
    config.load()
    loop = asyncio.get_running_loop()
    offered: list[int] = []

    def connection() -> _Recorded:
        protocol = _Recorded(config, ServerState(), {}, loop)
        protocol.offered = offered
        return protocol

    server = await loop.create_server(connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        bodies = []
        per_request = []
        for request in requests:
            already = len(offered)
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            bodies.append(await reader.readexactly(length))
            per_request.append(offered[already:])
        writer.close()
        await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
    return bodies, per_request


def _post(body: bytes) -> bytes:
    head = f"POST / HTTP/1.1\r\nHost: example\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


Runner = Callable[[Callable[[], Awaitable[Any]]], Any]


@pytest.fixture(params=["uvloop", "asyncio"])
def run_on(request: pytest.FixtureRequest) -> Runner:
    """Runs a coroutine function on a fresh loop of the kind under test."""

    def run(main: Callable[[], Awaitable[Any]]) -> Any:
        if request.param == "uvloop":
            return uvloop.run(main())
        return asyncio.run(main())

    return run


def test_a_head_is_read_into_the_short_buffer_and_a_body_into_the_whole(
    run_on: Runner,
) -> None:
    body = bytes(range(256)) * (BODY_BYTES // 256)

    bodies, (offered,) = run_on(lambda: _serve_and_send(_post(body)))

    assert bodies == [hashlib.sha256(body).hexdigest().encode()]
    assert offered[0] == HEAD_READ_BYTES  # a request starts with a head
    assert BODY_READ_BYTES in offered  # once the head was complete, its body
    assert HEAD_READ_BYTES < BODY_READ_BYTES


def test_the_next_request_on_the_connection_is_read_as_a_head_again(run_on: Runner) -> None:
    first = b"a" * BODY_BYTES
    second = b"b" * 10

    bodies, (_, offered) = run_on(lambda: _serve_and_send(_post(first), _post(second)))

    assert bodies == [
        hashlib.sha256(first).hexdigest().encode(),
        hashlib.sha256(second).hexdigest().encode(),
    ]
    assert offered[0] == HEAD_READ_BYTES  # after a whole body, a short buffer again
