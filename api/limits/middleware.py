"""The edge hook: IP blocks and the per-IP limit, before any other work.

Installed through ``wrap_edge(..., after_client_ip=[...])`` so it runs after the client
IP is resolved and before the body is read. Order per request:

1. allowlisted clients pass untouched (never blocked, never limited);
2. blocked clients get 403 ``FORBIDDEN`` — the body is not read, nothing else runs;
3. the per-IP limit: a client this process knows to be over it gets 429
   ``RATE_LIMITED`` with ``Retry-After`` at once, no I/O; any other owes one request
   (:mod:`api.limits.request_charges`), settled together with the request's other
   charges in one store round trip — at the latest when the answer starts, which is
   then replaced by the 429 if the request was over a per-request limit;
4. every other answer gets ``RateLimit-Policy`` / ``RateLimit`` headers for the
   per-request limits decided for it (address, principal; :func:`record_decision`); the
   cost budget reports itself in ``extensions.cost``.

Clients without an IP address (Unix-socket peers, test clients: all
``UNKNOWN_CLIENT_IP``) are not limited per IP: they cannot be told apart, and one
shared bucket would let any one of them starve all the others. Per-principal limits
still apply to them.
"""

from __future__ import annotations

import json
from typing import Any

from api.edge import UNKNOWN_CLIENT_IP, IPAddress, client_ip_from_scope
from api.edge._asgi import ASGIApp, Message, Receive, Scope, Send, scope_state
from api.limits.config import LimitClass
from api.limits.headers import rate_limit_headers
from api.limits.ip_blocks import IpBlockList
from api.limits.limiter import LimitDecision, Limiter
from api.limits.request_charges import DECISIONS_STATE_KEY, request_charges

__all__ = ("DECISIONS_STATE_KEY", "RateLimitMiddleware", "record_decision", "send_rate_limited")


def record_decision(scope: Any, decision: LimitDecision) -> None:
    """Report a limit that applied to this request, so its headers go out with the answer."""
    decisions: list[LimitDecision] = scope_state(scope).setdefault(DECISIONS_STATE_KEY, [])
    decisions.append(decision)


class RateLimitMiddleware:
    """ASGI middleware; see the module docstring for what it guarantees."""

    def __init__(self, app: ASGIApp, *, limiter: Limiter, ip_blocks: IpBlockList) -> None:
        self.app = app
        self.limiter = limiter
        self.ip_blocks = ip_blocks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        address = client_ip_from_scope(scope)
        config = self.limiter.config
        if config.is_allowlisted(address):
            await self.app(scope, receive, send)
            return
        known = address != UNKNOWN_CLIENT_IP
        if known and await self.ip_blocks.is_blocked(address):
            await _send_json(send, 403, "Forbidden.", {"code": "FORBIDDEN"}, [])
            return
        charges = request_charges(scope, self.limiter)
        decisions = charges.decisions
        if known and config.enabled:
            refused = charges.add(LimitClass.IP, config.client_key(address))
            if refused is not None:
                await send_rate_limited(send, decisions)
                return
        replaced = False

        async def send_with_headers(message: Message) -> None:
            nonlocal replaced
            if replaced:  # the route's own answer, after the 429 that replaced it
                return
            if message["type"] == "http.response.start":
                if charges.owed:
                    await charges.settle()
                if charges.refusal is not None:
                    replaced = True
                    await send_rate_limited(send, decisions)
                    return
                if decisions:
                    message["headers"] = [
                        *message.get("headers", ()),
                        *rate_limit_headers(decisions),
                    ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            # No answer started (the app failed, or the client went away first): what the
            # request owes is still charged, so hanging up early saves a client nothing.
            if charges.owed:
                await charges.settle()

    def answers_from_head(self, address: IPAddress) -> bool:
        """True when this layer would answer a request from ``address`` itself, before
        its body: blocked (403), or already known to be over its per-address limit (429).
        No I/O: the block list's copy in memory (api.edge.head_refusal)."""
        config = self.limiter.config
        if address == UNKNOWN_CLIENT_IP or config.is_allowlisted(address):
            return False
        if self.ip_blocks.blocks_now(address):
            return True
        return (
            config.enabled
            and self.limiter.known_refusal(LimitClass.IP, config.client_key(address)) is not None
        )


async def send_rate_limited(send: Send, decisions: list[LimitDecision]) -> None:
    """A complete 429 answer, GraphQL-shaped, with Retry-After and RateLimit headers."""
    retry_after = max((d.retry_after for d in decisions if not d.allowed), default=1)
    await _send_json(
        send,
        429,
        "Too many requests.",
        {"code": "RATE_LIMITED", "retryAfter": retry_after},
        rate_limit_headers(decisions),
    )


async def _send_json(
    send: Send,
    status: int,
    message: str,
    extensions: dict[str, Any],
    headers: list[tuple[bytes, bytes]],
) -> None:
    body = json.dumps(
        {"errors": [{"message": message, "extensions": extensions}]}, separators=(",", ":")
    ).encode()
    # The request body was not read: close the connection rather than reuse it.
    all_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
