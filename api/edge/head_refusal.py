"""The refusal the server makes from a request's head, before the app runs (the other
it makes before the app, from a request's document: api.edge.document_refusal, which
shares this one's checks of the layers before the body limit).

A body whose declared ``Content-Length`` is over its path's limit, on a path where the
edge closes the connection with the body unread (api/edge/body_limit.py: every path but
the upload route's honest mistakes), is refused 413 from the head alone.
Made by the edge, that answer cost the serving core twice what it costs made here
(PostgreSQL bench server, a 1 MB body on a fresh connection: ≈ 300 µs against ≈ 150 µs;
a bare uvicorn's 413 ≈ 85 µs): the request's task, every edge layer, and more of the
body taken in by the kernel while they run. So the server protocol (api/server.py)
asks :meth:`HeadRefusal.answer` when a head is complete, and writes what it returns
instead of starting the app.

The answer is the edge's own, made by the edge's own layers' code: the same status,
body and headers (security headers, ``X-Request-ID``, CORS for an allowlisted origin,
``Connection: close``) and the same access-log line. It is made only when every layer
that comes before the body limit would let the request through: a head over the header
limits (431), a Host not allowed (400), a CORS preflight, and an address that is
blocked (403) or already known to be over its per-address limit (429) all go to the
edge as before, which answers them. What differs: the request is not charged to its
address's per-request limit (the charge is settled with the shared store, which is
I/O; an oversized body refused here costs less than the 429 a charge could earn it),
and the block list is read from the copy in memory as the last request through the edge
left it (each refreshes it when ``OPENDESK_IP_BLOCKS_REFRESH_SECONDS`` have passed), so
an address blocked a moment ago may get this 413 rather than the 403 for a while.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from litestar.middleware.allowed_hosts import AllowedHostsMiddleware

from api.edge._asgi import RawHeaders, header_values, json_error
from api.edge.body_limit import (
    MAX_CONTENT_LENGTH_DIGITS,
    TOO_LARGE_CODE,
    TOO_LARGE_MESSAGE,
    BodyLimitMiddleware,
)
from api.edge.client_ip import IPAddress, TrustedProxyConfig, resolve_client_ip
from api.edge.cors import CORSMiddleware
from api.edge.header_limit import HeaderLimitMiddleware
from api.edge.request_id import REQUEST_ID_HEADER, RequestIDMiddleware
from api.edge.security_headers import SecurityHeadersMiddleware

__all__ = ("HeadAnswer", "HeadRefusal", "HeadScreening")

Headers = list[tuple[bytes, bytes]]
HeadAnswer = tuple[int, Headers, bytes]
"""Status, headers and body of an answer made from the head."""

_REQUEST_ID_HEADER = REQUEST_ID_HEADER.encode()


@runtime_checkable
class HeadScreening(Protocol):
    """An edge layer between the client IP and the body limit (``wrap_edge``'s
    ``after_client_ip``) that tells, with no I/O, whether it would answer a request
    from this address itself. A layer that cannot tell turns head refusals off."""

    def answers_from_head(self, address: IPAddress) -> bool: ...


class HeadRefusal:
    """Built by :func:`api.edge.stack.wrap_edge` from the layers it wraps the app in."""

    def __init__(
        self,
        *,
        security_headers: SecurityHeadersMiddleware,
        request_id: RequestIDMiddleware,
        header_limit: HeaderLimitMiddleware,
        allowed_hosts: AllowedHostsMiddleware | None,
        cors: CORSMiddleware | None,
        proxies: TrustedProxyConfig,
        screening: Sequence[HeadScreening],
        body_limit: BodyLimitMiddleware,
    ) -> None:
        self._security_headers = security_headers
        self._request_id = request_id
        self._header_limit = header_limit
        self._hosts = allowed_hosts.allowed_hosts_regex if allowed_hosts else None
        self._cors = cors
        self._proxies = proxies
        self._screening = tuple(screening)
        self._body_limit = body_limit
        # The body limit's 413 (as its layer sends it), made once.
        self._too_large = json_error(TOO_LARGE_MESSAGE, TOO_LARGE_CODE, close_connection=True)
        # Smallest declared length any path refuses: below it, no work at all.
        self._smallest_limit = min([body_limit.max_body_bytes, *body_limit.per_path.values()])

    def answer(
        self, method: str, path: str, headers: RawHeaders, peer_ip: str | None
    ) -> HeadAnswer | None:
        """The edge's answer to this request if it is the 413 made from its head alone
        (access-logged here), else ``None``: the app then runs as usual.

        ``path`` as the ASGI scope has it (percent-decoded); ``headers`` raw, lower-case
        names; ``peer_ip`` the TCP peer's address."""
        if not self.may_refuse(headers):
            return None
        started = time.perf_counter()
        headers = list(headers)
        if not self._body_limit.refuses_unread(path, headers):
            return None
        address = self.admitted_address(method, headers, peer_ip)
        if address is None:
            return None
        request_id = self.request_id_for(headers)
        answer_headers = self.dressed(self._too_large[0], headers, request_id)
        self.log_answer(method, path, 413, started, request_id, address)
        return 413, answer_headers, self._too_large[1]

    def admitted_address(
        self, method: str, headers: Sequence[tuple[bytes, bytes]], peer_ip: str | None
    ) -> IPAddress | None:
        """The client's address when every layer before the body limit would let this
        request through (header limits, allowed hosts, CORS preflight, the screening
        layers after the client IP), else ``None``: that layer answers it, as the edge."""
        if (
            self._header_limit.refuses(headers)
            or not self._host_allowed(headers)
            or (self._cors is not None and self._cors.is_preflight(method, headers))
        ):
            return None
        address = resolve_client_ip(peer_ip, headers, self._proxies)
        if any(layer.answers_from_head(address) for layer in self._screening):
            return None
        return address

    def request_id_for(self, headers: RawHeaders) -> str:
        """The request's id, as the edge's request-id layer gives it."""
        return self._request_id.request_id_for(headers)

    def dressed(self, answer_headers: RawHeaders, headers: RawHeaders, request_id: str) -> Headers:
        """An answer's ``answer_headers`` with what the outer layers add as it leaves
        (CORS for an allowed ``Origin`` of the request's ``headers``, the request id, the
        security headers)."""
        dressed = list(answer_headers)
        if self._cors is not None:
            dressed = self._cors.answer_headers(dressed, header_values(headers, b"origin"))
        dressed.append((_REQUEST_ID_HEADER, request_id.encode()))
        return self._security_headers.apply(dressed)

    def log_answer(
        self,
        method: str,
        path: str,
        status: int,
        started: float,
        request_id: str,
        address: IPAddress,
    ) -> None:
        """The access-log line the edge writes for the answer."""
        self._request_id.log_request(method, path, status, started, request_id, address)

    def may_refuse(self, headers: RawHeaders) -> bool:
        """False for every request :meth:`answer` lets through for its length alone
        (none declared, or no more than the smallest limit): the cheap check each
        request head gets."""
        for name, value in headers:
            if name == b"content-length":
                length = value.strip()
                return (
                    not length.isdigit()
                    or len(length) > MAX_CONTENT_LENGTH_DIGITS
                    or int(length) > self._smallest_limit
                )
        return False

    def _host_allowed(self, headers: RawHeaders) -> bool:
        if self._hosts is None:
            return True
        hosts = header_values(headers, b"host")
        if len(hosts) != 1:
            return False  # none or several: the edge's own check decides
        # As Litestar's check reads it: a host part before any port, the whole allowed.
        (host,) = hosts
        return bool(host.split(":")[0]) and bool(self._hosts.fullmatch(host))
