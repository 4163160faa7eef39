from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from api.edge.client_ip import (
    CLIENT_IP_STATE_KEY,
    UNKNOWN_CLIENT_IP,
    ClientIPMiddleware,
    TrustedProxyConfig,
    client_ip_from_scope,
    parse_node,
    resolve_client_ip,
)
from tests.api_edge.asgi_harness import Recorder, WithPeer, build_litestar_app, call

PROXIES = TrustedProxyConfig(("10.0.0.0/8", "2001:db8:ffff::/48"))
FORWARDED = TrustedProxyConfig(("10.0.0.0/8", "2001:db8:ffff::/48"), header="forwarded")


def xff(value: str) -> list[tuple[bytes, bytes]]:
    return [(b"x-forwarded-for", value.encode())]


def fwd(value: str) -> list[tuple[bytes, bytes]]:
    return [(b"forwarded", value.encode())]


def test_untrusted_peer_spoofed_xff_is_ignored() -> None:
    assert resolve_client_ip("198.51.100.9", xff("1.1.1.1"), PROXIES) == ip_address("198.51.100.9")


def test_trusted_peer_takes_rightmost_untrusted_hop() -> None:
    chain = xff("6.6.6.6, 198.51.100.9, 10.1.2.3")  # forged, real client, inner proxy
    assert resolve_client_ip("10.0.0.2", chain, PROXIES) == ip_address("198.51.100.9")


def test_trusted_peer_without_header_is_the_client() -> None:
    assert resolve_client_ip("10.0.0.2", [], PROXIES) == ip_address("10.0.0.2")


def test_all_hops_trusted_returns_leftmost() -> None:
    assert resolve_client_ip("10.0.0.2", xff("10.9.9.9, 10.1.1.1"), PROXIES) == ip_address(
        "10.9.9.9"
    )


def test_multiple_xff_headers_are_read_in_order() -> None:
    headers = [(b"x-forwarded-for", b"198.51.100.9"), (b"X-Forwarded-For", b"10.1.1.1")]
    assert resolve_client_ip("10.0.0.2", headers, PROXIES) == ip_address("198.51.100.9")


def test_ipv6_cidr_is_trusted() -> None:
    peer = "2001:db8:ffff::10"
    assert resolve_client_ip(peer, xff("2001:db8::1"), PROXIES) == ip_address("2001:db8::1")
    assert resolve_client_ip("2001:db8:1::10", xff("1.1.1.1"), PROXIES) == ip_address(
        "2001:db8:1::10"
    )


def test_forwarded_quoted_ipv6_with_port() -> None:
    header = fwd('for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::1]:4711"')
    assert resolve_client_ip("10.0.0.2", header, FORWARDED) == IPv6Address("2001:db8::1")


def test_forwarded_walks_right_to_left_over_trusted_elements() -> None:
    header = fwd('for=6.6.6.6, For="198.51.100.9:1234";proto=https, for=10.3.3.3')
    assert resolve_client_ip("10.0.0.2", header, FORWARDED) == ip_address("198.51.100.9")


@pytest.mark.parametrize("forged", ['for="', 'for="1.1.1.1', 'for="\\', "for=1.1.1.1;for=2.2.2.2"])
def test_client_cannot_swallow_the_element_its_proxy_appends(forged: str) -> None:
    # An unbalanced quote from the client must not merge with the proxy's element.
    headers = [(b"forwarded", forged.encode()), (b"forwarded", b"for=198.51.100.9")]
    assert resolve_client_ip("10.0.0.2", headers, FORWARDED) == ip_address("198.51.100.9")
    joined = fwd(f"{forged}, for=198.51.100.9")
    assert resolve_client_ip("10.0.0.2", joined, FORWARDED) == ip_address("198.51.100.9")


def test_only_the_configured_header_is_honoured() -> None:
    both = [*xff("1.1.1.1"), *fwd("for=2.2.2.2")]
    assert resolve_client_ip("10.0.0.2", both, PROXIES) == ip_address("1.1.1.1")
    assert resolve_client_ip("10.0.0.2", both, FORWARDED) == ip_address("2.2.2.2")


@pytest.mark.parametrize(
    "chain",
    [
        "198.51.100.9, unknown, 10.1.1.1",
        "198.51.100.9, not-an-ip, 10.1.1.1",
        "198.51.100.9,  ,10.1.1.1x, 10.1.1.1",
    ],
)
def test_unusable_hop_stops_walk_at_nearest_address(chain: str) -> None:
    # Nothing left of the unusable hop can be verified; the proxy that wrote it is used.
    assert resolve_client_ip("10.0.0.2", xff(chain), PROXIES) == ip_address("10.1.1.1")


@pytest.mark.parametrize("node", ["for=unknown", "for=_hidden", 'for="_x:80"', "proto=https"])
def test_unusable_forwarded_element_falls_back_to_peer(node: str) -> None:
    header = fwd(f"for=198.51.100.9, {node}")
    assert resolve_client_ip("10.0.0.2", header, FORWARDED) == ip_address("10.0.0.2")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4:8080", "1.2.3.4"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:198.51.100.9", "198.51.100.9"),
        ("[::ffff:198.51.100.9]:1", "198.51.100.9"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_parse_node_normalises(text: str, expected: str) -> None:
    assert parse_node(text) == ip_address(expected)


@pytest.mark.parametrize(
    "text",
    ["unknown", "_hidden", "[1.2.3.4]", "[::1", "[::1]x", "1.2.3", "01.2.3.4", "", "a" * 200],
)
def test_parse_node_rejects(text: str) -> None:
    assert parse_node(text) is None


def test_ipv4_mapped_peer_is_normalised_before_trust_check() -> None:
    assert resolve_client_ip("::ffff:10.0.0.2", xff("198.51.100.9"), PROXIES) == IPv4Address(
        "198.51.100.9"
    )


@pytest.mark.parametrize("peer", [None, "testclient", ""])
def test_peer_that_is_not_an_ip_gives_unknown_client_ip(peer: str | None) -> None:
    assert resolve_client_ip(peer, xff("1.1.1.1"), PROXIES) == UNKNOWN_CLIENT_IP


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "10.0.0.1/8", "not-a-network"])
def test_config_refuses_bad_or_trust_all_networks(cidr: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - ipaddress gives varied messages
        TrustedProxyConfig((cidr,))


async def test_middleware_stores_state_and_rewrites_client() -> None:
    recorder = Recorder()
    app = ClientIPMiddleware(recorder, PROXIES)
    await call(app, client=("10.0.0.2", 5555), headers=[("X-Forwarded-For", "198.51.100.9")])
    scope = recorder.scopes[0]
    assert scope["state"][CLIENT_IP_STATE_KEY] == ip_address("198.51.100.9")
    assert client_ip_from_scope(scope) == ip_address("198.51.100.9")
    assert scope["client"] == ("198.51.100.9", 0)


async def test_middleware_keeps_peer_port_when_peer_is_the_client() -> None:
    recorder = Recorder()
    await call(
        ClientIPMiddleware(recorder),
        client=("198.51.100.9", 5555),
        headers=[("X-Forwarded-For", "1.1.1.1")],
    )
    assert recorder.scopes[0]["client"] == ("198.51.100.9", 5555)


def test_client_ip_from_scope_refuses_when_middleware_missing() -> None:
    with pytest.raises(RuntimeError, match="ClientIPMiddleware"):
        client_ip_from_scope({"type": "http", "state": {}})


def test_litestar_handler_sees_resolved_ip() -> None:
    litestar_app, _ = build_litestar_app()
    app = WithPeer(ClientIPMiddleware(litestar_app, PROXIES), peer="10.0.0.2")
    with TestClient(app) as client:
        body = client.get("/state", headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.9"}).json()
    assert body["client_ip"] == "198.51.100.9"
    assert body["request_client"] == "198.51.100.9"


def test_litestar_handler_ignores_xff_from_untrusted_peer() -> None:
    litestar_app, _ = build_litestar_app()
    app = WithPeer(ClientIPMiddleware(litestar_app, PROXIES), peer="198.51.100.9")
    with TestClient(app) as client:
        body = client.get("/state", headers={"X-Forwarded-For": "10.1.1.1"}).json()
    assert body["client_ip"] == "198.51.100.9"


_FRAGMENTS = st.sampled_from(
    [
        "for=",
        '"',
        "[",
        "]",
        ":",
        ",",
        ";",
        "\\",
        "unknown",
        "_x",
        "10.1.1.1",
        "2001:db8::1",
        "::ffff:1.2.3.4",
        "%",
        " ",
        "1.2.3.4:80",
        "=",
    ]
)
_HEADER_TEXT = st.one_of(st.text(max_size=200), st.lists(_FRAGMENTS, max_size=30).map("".join))


# No deadline (no timed assertions) and no example database written into the repo.
_PROPERTY = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(value=_HEADER_TEXT, header=st.sampled_from([b"x-forwarded-for", b"forwarded"]))
def test_parser_never_raises_and_result_is_an_address(value: str, header: bytes) -> None:
    headers = [(header, value.encode("utf-8", "surrogatepass"))]
    for config in (PROXIES, FORWARDED):
        result = resolve_client_ip("10.0.0.2", headers, config)
        assert isinstance(result, IPv4Address | IPv6Address)


@_PROPERTY
@given(raw=st.binary(max_size=200), peer=st.ip_addresses())
def test_untrusted_peer_always_wins_whatever_the_headers(raw: bytes, peer: object) -> None:
    peer_ip = parse_node(str(peer))
    assert peer_ip is not None
    if PROXIES.is_trusted(peer_ip):
        return
    headers = [(b"x-forwarded-for", raw), (b"forwarded", raw)]
    assert resolve_client_ip(str(peer), headers, PROXIES) == peer_ip
    assert resolve_client_ip(str(peer), headers, FORWARDED) == peer_ip


def test_remembered_spellings_are_bounded_and_padded_hops_are_never_kept() -> None:
    from api.edge.client_ip import _PARSED_NODES_MAX, _parse_recent_node

    for index in range(_PARSED_NODES_MAX + 100):
        assert parse_node(f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}")
    padded = " " * 200 + "203.0.113.9"

    assert _parse_recent_node.cache_info().currsize <= _PARSED_NODES_MAX
    looked_up = _parse_recent_node.cache_info()
    assert parse_node(padded) == IPv4Address("203.0.113.9")  # parsed as before...
    assert _parse_recent_node.cache_info() == looked_up  # ...but never kept
    assert (
        parse_node("203.0.113.9:443") == parse_node("203.0.113.9:443") == IPv4Address("203.0.113.9")
    )
