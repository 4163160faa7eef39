"""CoalescingTransport: the writes of one event-loop pass leave in one call, in order, and
nothing kept is lost, reordered or written after the transport closed; and the server's
protocol answers a request with one write."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from api.server import BoundedReadProtocol
from api.write_coalescing import FLUSH_AT_BYTES, CoalescingTransport


class RecordingTransport(asyncio.Transport):
    """Records what reaches the socket; closing is immediate, as for a real transport
    whose buffer is empty."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.calls: list[str] = []
        self.closing = False
        self.buffered = 0

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.calls.append("write")

    def close(self) -> None:
        self.closing = True
        self.calls.append("close")

    def abort(self) -> None:
        self.closing = True
        self.calls.append("abort")

    def write_eof(self) -> None:
        self.calls.append("write_eof")

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("203.0.113.9", 40000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def can_write_eof(self) -> bool:
        return True

    def pause_reading(self) -> None:
        self.calls.append("pause_reading")

    def resume_reading(self) -> None:
        self.calls.append("resume_reading")


async def _next_pass() -> None:
    await asyncio.sleep(0)


async def test_the_writes_of_one_pass_leave_together_at_its_end() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())

    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(bytearray(b"{"))
    transport.write(memoryview(b'"ok":1}'))
    transport.write(b"")
    assert inner.writes == []
    assert transport.get_write_buffer_size() == 27
    await _next_pass()

    assert inner.writes == [b'HTTP/1.1 200 OK\r\n\r\n{"ok":1}']
    assert transport.get_write_buffer_size() == 0
    transport.write(b"next")
    await _next_pass()
    assert inner.writes[1:] == [b"next"]


async def test_a_large_write_leaves_at_once_with_what_was_kept_before_it() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())

    transport.write(b"head")
    transport.write(b"x" * FLUSH_AT_BYTES)
    assert inner.writes == [b"head" + b"x" * FLUSH_AT_BYTES]
    transport.write(b"tail")
    await _next_pass()
    assert inner.writes[1:] == [b"tail"]


async def test_close_and_write_eof_write_what_is_kept_first_and_abort_drops_it() -> None:
    loop = asyncio.get_running_loop()
    closed, ended, aborted = RecordingTransport(), RecordingTransport(), RecordingTransport()

    for inner in (closed, ended, aborted):
        transport = CoalescingTransport(inner, loop)
        transport.write(b"kept")
        if inner is closed:
            transport.close()
        elif inner is ended:
            transport.write_eof()
        else:
            transport.abort()
    await _next_pass()  # the pass ends: nothing more is written

    assert closed.calls == ["write", "close"]
    assert ended.calls == ["write", "write_eof"]
    assert closed.writes == ended.writes == [b"kept"]
    assert aborted.calls == ["abort"]


async def test_nothing_is_written_once_the_transport_closed_meanwhile() -> None:
    inner = RecordingTransport()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())

    transport.write(b"answer")
    inner.closing = True  # the peer went away before the pass ended
    await _next_pass()

    assert inner.writes == []
    assert transport.is_closing()


async def test_the_rest_of_the_transport_is_the_wrapped_ones() -> None:
    inner = RecordingTransport()
    inner.buffered = 100
    transport = CoalescingTransport(inner, asyncio.get_running_loop())

    transport.pause_reading()
    transport.resume_reading()
    transport.write(b"12345")

    assert inner.calls == ["pause_reading", "resume_reading"]
    assert transport.get_write_buffer_size() == 105
    assert transport.get_extra_info("peername") == ("203.0.113.9", 40000)
    assert transport.get_extra_info("missing", "default") == "default"
    assert transport.can_write_eof() is True  # not among the wrapper's own: passed on


async def test_the_server_protocol_answers_a_request_in_one_write() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        headers = [(b"content-length", b"5")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"hello"})

    config = uvicorn.Config(app=app, lifespan="off", log_level="warning", access_log=False)
    config.load()
    loop = asyncio.get_running_loop()
    protocol = BoundedReadProtocol(config, ServerState(), {}, loop)
    inner = RecordingTransport()
    protocol.connection_made(inner)  # type: ignore[arg-type]

    protocol.data_received(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
    for _ in range(10):
        await _next_pass()
    protocol.connection_lost(None)

    assert len(inner.writes) == 1, inner.writes
    head, _, body = inner.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert body == b"hello"
