"""Requests with large bodies are served a few at a time, so they cannot crowd out the rest.

A GraphQL request is a few hundred bytes; the body limit allows half a megabyte for the
rare mutation carrying long text. Judging that much (decoding it, measuring the document,
refusing it) costs as much as a whole normal request or more, so a flood of large hostile
bodies, each one refused correctly, would still take the core from everyone else. This
layer gives the large ones their own lane: at most ``concurrency`` of them are processed
at a time per worker, up to ``queue`` more wait (each at most ``max_wait_seconds``), and
beyond that the answer is an immediate ``503 SERVER_BUSY`` with ``Retry-After``. Small
requests never wait here.

While other requests are being served, a slot is also kept closed after each large
request, for ``1 / duty_cycle - 1`` times as long as that request took (at most
``max_rest_seconds``): a stream of large bodies then holds a slot at most ``duty_cycle``
of the time, whatever its rate. (Without this, one slot still cycles as fast as the loop
serves it, and the stream's share of the core grows with everything else's wait.) With
nobody else to protect, the slot is free again at once.

It sits inside the body limit, which has read the whole body by then (a slow sender
waits for its own bytes without holding a slot) and noted its size in the scope state.
The price, paid only while large bodies arrive faster than they are judged: a legitimate
large request waits its turn behind them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from api.edge._asgi import ASGIApp, Receive, Scope, Send, scope_state, send_json_error

__all__ = ("BODY_BYTES_STATE_KEY", "LargeBodyLane", "LargeBodyLaneConfig")

# Set by the body limit: how many body bytes the request carried.
BODY_BYTES_STATE_KEY = "opendesk.body_bytes"
BUSY_EVENT = "edge_large_body_busy"

_log = structlog.get_logger("opendesk.edge")


@dataclass(frozen=True, slots=True)
class LargeBodyLaneConfig:
    """``threshold_bytes``: a body over this is large. The rest: see the module docstring."""

    threshold_bytes: int = 65_536
    concurrency: int = 1
    queue: int = 32
    max_wait_seconds: float = 5.0
    duty_cycle: float = 0.1
    max_rest_seconds: float = 0.25

    def __post_init__(self) -> None:
        if self.threshold_bytes < 0 or self.concurrency < 1 or self.queue < 0:
            raise ValueError("large-body lane: threshold >= 0, concurrency >= 1, queue >= 0")
        if not self.max_wait_seconds > 0:
            raise ValueError("large-body lane: max_wait_seconds must be > 0")
        if not 0 < self.duty_cycle <= 1 or self.max_rest_seconds < 0:
            raise ValueError("large-body lane: 0 < duty_cycle <= 1, max_rest_seconds >= 0")

    def rest_after(self, busy_seconds: float) -> float:
        """How long a slot stays closed after a request that held it ``busy_seconds``."""
        return min(busy_seconds * (1 / self.duty_cycle - 1), self.max_rest_seconds)


class LargeBodyLane:
    """ASGI middleware; see the module docstring. Non-HTTP scopes and requests whose body
    is at most the threshold (or that carry none) pass straight through."""

    def __init__(self, app: ASGIApp, config: LargeBodyLaneConfig) -> None:
        self.app = app
        self.config = config
        self._slots = asyncio.Semaphore(config.concurrency)
        self._waiting = 0
        self._others = 0  # requests in flight that are not in the lane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan (server-long) and websocket: not counted
            await self.app(scope, receive, send)
            return
        if not self._is_large(scope):
            self._others += 1
            try:
                await self.app(scope, receive, send)
            finally:
                self._others -= 1
            return
        if not await self._admitted():
            _log.warning(
                BUSY_EVENT,
                path=str(scope.get("path", "")),
                body_bytes=scope_state(scope).get(BODY_BYTES_STATE_KEY),
                waiting=self._waiting,
            )
            await _busy(send)
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await self.app(scope, receive, send)
        finally:
            rest = self.config.rest_after(loop.time() - started) if self._others else 0.0
            if rest > 0:
                loop.call_later(rest, self._slots.release)
            else:
                self._slots.release()

    def _is_large(self, scope: Scope) -> bool:
        size = scope_state(scope).get(BODY_BYTES_STATE_KEY)
        return isinstance(size, int) and size > self.config.threshold_bytes

    async def _admitted(self) -> bool:
        """True with a slot held; False when the queue is full or the wait ran out."""
        if not self._slots.locked():
            await self._slots.acquire()  # free: returns without suspending
            return True
        if self._waiting >= self.config.queue:
            return False
        self._waiting += 1
        try:
            async with asyncio.timeout(self.config.max_wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1
        return True


async def _busy(send: Send) -> None:
    # The body has been read (by the body limit): the connection can be kept.
    await send_json_error(
        send,
        503,
        "The server is busy with large requests. Try again shortly.",
        "SERVER_BUSY",
        close_connection=False,
        extra_headers=[(b"retry-after", b"1")],
    )
