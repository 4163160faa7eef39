"""The one place that decides a request's client IP.

Proxy headers are believed only when the TCP peer is a configured trusted proxy, and
then only up to the right-most hop that is not itself trusted: everything to the left
of that hop was written by the client and can be forged. Every other module (rate
limits, IP blocks, audit events, access logs) reads the result through
:func:`client_ip_from_scope` and never parses a forwarding header itself.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Final, Literal, TypeAlias

from api.edge._asgi import ASGIApp, RawHeaders, Receive, Scope, Send, header_values, scope_state

__all__ = (
    "CLIENT_IP_STATE_KEY",
    "UNKNOWN_CLIENT_IP",
    "ClientIPMiddleware",
    "IPAddress",
    "TrustedProxyConfig",
    "client_ip_from_scope",
    "parse_node",
    "resolve_client_ip",
)

IPAddress: TypeAlias = IPv4Address | IPv6Address
IPNetwork: TypeAlias = IPv4Network | IPv6Network

CLIENT_IP_STATE_KEY: Final = "client_ip"
"""``scope["state"]`` key holding the resolved client address (an ``IPAddress``)."""

UNKNOWN_CLIENT_IP: Final = IPv4Address("0.0.0.0")  # noqa: S104 - a value, never bound
"""Returned when the peer is not an IP address (a Unix socket, a test client).

All such requests share this one address, so per-IP limits treat them as one client.
"""

_MAX_NODE_LENGTH: Final = 128  # longest sane "[v6%zone]:port" is far shorter
_PARSED_NODES_MAX: Final = 4096


@dataclass(frozen=True, slots=True)
class TrustedProxyConfig:
    """Which peers may tell us the client's address, and in which header.

    ``trusted_proxies``: CIDRs (or single addresses) of the reverse proxies / load
    balancers in front of the API. Empty (the default) means forwarding headers are
    never believed. ``header`` names the ONE header those proxies append to; the other
    is ignored, because a proxy passes through the header it does not write, so a
    client could otherwise pick its own address. Raises ``ValueError`` for a malformed
    CIDR, one with host bits set, or a ``/0`` network (trusting everyone).
    """

    trusted_proxies: tuple[str, ...] = ()
    header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.header not in ("x-forwarded-for", "forwarded"):
            raise ValueError(f"unsupported forwarding header: {self.header!r}")
        networks = tuple(ipaddress.ip_network(cidr.strip()) for cidr in self.trusted_proxies)
        for network in networks:
            if network.prefixlen == 0:
                raise ValueError(f"refusing to trust every address ({network})")
        object.__setattr__(self, "networks", networks)

    def is_trusted(self, address: IPAddress) -> bool:
        """True when ``address`` lies in one of the trusted networks."""
        return any(address in network for network in self.networks)


def parse_node(text: str) -> IPAddress | None:
    """Parse one hop as written by proxies; ``None`` when it is not an IP address.

    Accepts ``1.2.3.4``, ``1.2.3.4:80``, ``2001:db8::1``, ``[2001:db8::1]`` and
    ``[2001:db8::1]:443``. The port is ignored. IPv4-mapped IPv6 addresses come back as
    IPv4 and IPv6 zone ids are dropped, so one client has one spelling. ``unknown``,
    obfuscated identifiers (``_hidden``) and anything else give ``None``; never raises.

    Answers for recent spellings are remembered (the same few peers and proxies write
    nearly every hop; ``ipaddress`` takes a few µs a parse): at most
    ``_PARSED_NODES_MAX`` of them, texts of a sane length only, so a flood of distinct
    or padded hops cannot grow it.
    """
    if len(text) > _MAX_NODE_LENGTH:
        return _parse_node(text)
    return _parse_recent_node(text)


def _parse_node(text: str) -> IPAddress | None:
    text = text.strip()
    if not text or len(text) > _MAX_NODE_LENGTH:
        return None
    expected: type[IPAddress] | None = None  # the family the spelling implies
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        expected = IPv6Address
    elif text.count(":") == 1:
        host, expected = text.partition(":")[0], IPv4Address
    else:
        host = text
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if expected is not None and not isinstance(address, expected):
        return None
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id is not None:
            return IPv6Address(address.packed)
    return address


_parse_recent_node = functools.lru_cache(maxsize=_PARSED_NODES_MAX)(_parse_node)


def resolve_client_ip(
    peer_ip: str | None, headers: RawHeaders, config: TrustedProxyConfig
) -> IPAddress:
    """Return the client's address for a connection from ``peer_ip``.

    ``headers`` are raw ASGI header pairs. When the peer is untrusted the result is the
    peer, whatever the headers say. When it is trusted, the configured header's hops are
    walked right to left, skipping trusted ones; the first untrusted hop is the client.
    A hop that is not an address (``unknown``, obfuscated, garbage) stops the walk and
    the nearest address to its right (a trusted proxy, or the peer) is returned, since
    nothing left of it can be verified. If every hop is trusted, the left-most is
    returned. A peer that is not an IP gives :data:`UNKNOWN_CLIENT_IP`. Never raises.
    """
    peer = parse_node(peer_ip) if peer_ip else None
    if peer is None:
        return UNKNOWN_CLIENT_IP
    if not config.is_trusted(peer):
        return peer
    nearest = peer
    for raw_hop in reversed(_hops(headers, config.header)):
        hop = parse_node(raw_hop) if raw_hop is not None else None
        if hop is None:
            return nearest
        if not config.is_trusted(hop):
            return hop
        nearest = hop
    return nearest


def client_ip_from_scope(scope: Mapping[str, object]) -> IPAddress:
    """The address :class:`ClientIPMiddleware` resolved for this connection.

    Raises ``RuntimeError`` when the middleware did not run, rather than falling back to
    the TCP peer (which behind a proxy is the proxy, for every client).
    """
    state = scope.get("state")
    address = state.get(CLIENT_IP_STATE_KEY) if isinstance(state, dict) else None
    if not isinstance(address, IPv4Address | IPv6Address):
        raise RuntimeError("client IP not resolved: ClientIPMiddleware is not installed")
    return address


class ClientIPMiddleware:
    """ASGI middleware storing the resolved client IP for HTTP and WebSocket scopes.

    Sets ``scope["state"][CLIENT_IP_STATE_KEY]`` and rewrites ``scope["client"]`` to the
    resolved address (port 0 when it came from a header), so framework code reading
    ``request.client`` agrees with :func:`client_ip_from_scope`. Other scopes pass
    through untouched. Without ``config`` no proxy is trusted (the peer is the client).
    """

    def __init__(self, app: ASGIApp, config: TrustedProxyConfig | None = None) -> None:
        self.app = app
        self.config = config or TrustedProxyConfig()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            peer_ip, peer_port = (client[0], client[1]) if client else (None, 0)
            address = resolve_client_ip(peer_ip, scope.get("headers", ()), self.config)
            scope_state(scope)[CLIENT_IP_STATE_KEY] = address
            same_as_peer = peer_ip is not None and parse_node(peer_ip) == address
            scope["client"] = (str(address), peer_port if same_as_peer else 0)
        await self.app(scope, receive, send)


def _hops(headers: RawHeaders, header: str) -> list[str | None]:
    """Hops left (client side) to right (nearest proxy); ``None`` for an unusable hop.

    Both headers are split on every comma, quoted or not. A legitimate ``for=`` value
    never contains one, and honouring quotes would let a client open a quoted-string
    that swallows the element its proxy appends after it, hiding the client's address.
    """
    elements = ",".join(header_values(headers, header.encode())).split(",")
    if header == "x-forwarded-for":
        return [hop for hop in (element.strip() for element in elements) if hop]
    return [_forwarded_for(element) for element in elements if element.strip()]


def _forwarded_for(element: str) -> str | None:
    """The ``for=`` value of one RFC 7239 element; ``None`` if missing or repeated."""
    values = [
        _unquote(value.strip())
        for name, sep, value in (pair.partition("=") for pair in element.split(";"))
        if sep and name.strip().lower() == "for"
    ]
    return values[0] if len(values) == 1 else None


def _unquote(value: str) -> str:
    """Strip one RFC 7230 quoted-string (with backslash escapes); other text as is."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    out: list[str] = []
    escaped = False
    for char in value[1:-1]:
        if char == "\\" and not escaped:
            escaped = True
            continue
        out.append(char)
        escaped = False
    return "".join(out)
