"""Running the ASGI server (uvicorn) with limits a hostile client cannot outwait.

Uvicorn bounds the header block (``h11_max_incomplete_event_size``), idle keep-alive
connections (``timeout_keep_alive``) and concurrency (``limit_concurrency``, 503 beyond),
but not the time a client may take to *send* a request: a client sending a byte a second
keeps a connection (and a slot) forever. :class:`BoundedReadH11Protocol` adds that
deadline: from a request's first byte to its last, at most ``request_read_timeout``
seconds, else ``408`` and the connection is closed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ("BoundedReadH11Protocol", "ServerLimits", "run_server")

_DONE_READING: Final = (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR)


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Server-side limits; each over-limit answer is a 4xx/503 or a closed idle socket."""

    request_read_timeout: float = 10.0  # first byte → whole request read, else 408
    keep_alive_timeout: int = 5  # idle between requests
    max_header_bytes: int = 16 * 1024  # whole request head; beyond: 400 from h11
    max_concurrency: int = 1000  # connections + tasks per worker; beyond: 503
    graceful_shutdown_timeout: int = 10


class BoundedReadH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a whole-request read deadline (see module docstring).

    The deadline comes from ``config.opendesk_request_read_timeout`` (set by
    :func:`run_server`; the config object travels to worker processes with it).
    """

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._read_timeout = float(getattr(config, "opendesk_request_read_timeout", 10.0))
        self._read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_read_deadline()

    def data_received(self, data: bytes) -> None:
        if self._read_deadline is None and self.conn.their_state is h11.IDLE:
            self._arm_read_deadline()  # the first byte of the next request on this connection
        super().data_received(data)
        if self.conn.their_state in _DONE_READING:
            self._disarm_read_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_deadline()
        super().connection_lost(exc)

    def _arm_read_deadline(self) -> None:
        self._disarm_read_deadline()
        self._read_deadline = self.loop.call_later(self._read_timeout, self._read_timed_out)

    def _disarm_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE) and not (
            self.cycle is not None and self.cycle.response_started
        ):
            # Written raw: h11 refuses a response before it has parsed a request head.
            self.transport.write(_timeout_response())
        self.transport.close()  # connection_lost tells a waiting app: http.disconnect


def _timeout_response() -> bytes:
    body = json.dumps(
        {
            "errors": [
                {
                    "message": "Request not received in time.",
                    "extensions": {"code": "REQUEST_TIMEOUT"},
                }
            ]
        },
        separators=(",", ":"),
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "x-content-type-options: nosniff\r\n"
        "cache-control: no-store\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def run_server(
    *,
    host: str,
    port: int,
    workers: int,
    limits: ServerLimits,
    certfile: Path | None = None,
    keyfile: Path | None = None,
) -> None:
    """Serve ``api.asgi:create_app_from_environment`` until stopped (blocks).

    HTTPS when ``certfile`` and ``keyfile`` are given (TLS 1.2+, Python's defaults).
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "api.asgi:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=BoundedReadH11Protocol,
        server_header=False,
        date_header=True,
        proxy_headers=False,  # the app resolves client IPs itself, from trusted proxies only
        timeout_keep_alive=limits.keep_alive_timeout,
        timeout_graceful_shutdown=limits.graceful_shutdown_timeout,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        limit_concurrency=limits.max_concurrency,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        log_level="warning",
        access_log=False,
    )
    config.opendesk_request_read_timeout = limits.request_read_timeout  # type: ignore[attr-defined]
    server = uvicorn.Server(config)
    if config.workers > 1:
        socket = config.bind_socket()
        Multiprocess(config, sockets=[socket]).run()
    else:
        server.run()
