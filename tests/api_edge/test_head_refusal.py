"""The 413 the server makes from a request's head: the edge's own answer, made only when
no layer before the body limit would answer first (api.edge.head_refusal)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar.config.allowed_hosts import AllowedHostsConfig
from structlog.testing import capture_logs

from api.edge import (
    CORSPolicy,
    IPAddress,
    SecurityHeadersConfig,
    TrustedProxyConfig,
    client_ip_from_scope,
    wrap_edge,
)
from api.edge._asgi import send_json_error
from api.edge.stack import Edge
from tests.api_edge.asgi_harness import Recorder, call

LIMIT = 1_000
UPLOAD_LIMIT = 5_000
ORIGIN = "https://app.example"
PEER = "10.0.0.2"  # a trusted proxy: the client is the X-Forwarded-For hop


@dataclass
class Screen:
    """An ``after_client_ip`` layer that blocks the addresses it is given (403)."""

    blocked: set[str] = field(default_factory=set)
    asked: list[IPAddress] = field(default_factory=list)

    def __call__(self, app: Any) -> Any:
        screen = self

        class Blocking:
            async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
                if str(client_ip_from_scope(scope)) in screen.blocked:
                    await send_json_error(send, 403, "Forbidden.", "FORBIDDEN")
                    return
                await app(scope, receive, send)

            def answers_from_head(self, address: IPAddress) -> bool:
                screen.asked.append(address)
                return str(address) in screen.blocked

        return Blocking()


def _edge(screen: Screen | None = None, **options: Any) -> Edge:
    return wrap_edge(
        Recorder(),
        proxies=TrustedProxyConfig(("10.0.0.0/8",)),
        security_headers=SecurityHeadersConfig(hsts=True),
        max_body_bytes=LIMIT,
        upload_path="/upload",
        upload_max_body_bytes=UPLOAD_LIMIT,
        allowed_hosts=AllowedHostsConfig(allowed_hosts=["api.example"]),
        cors=CORSPolicy(allowed_origins=frozenset({ORIGIN})),
        after_client_ip=[screen or Screen()],
        **options,
    )


def _head(length: int, **extra: str) -> list[tuple[bytes, bytes]]:
    headers = {
        "host": "api.example",
        "content-type": "application/json",
        "content-length": str(length),
        "x-forwarded-for": "198.51.100.9",
        **extra,
    }
    return [(name.encode(), value.encode()) for name, value in headers.items()]


def _without_request_id(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return sorted((name, value) for name, value in headers if name != b"x-request-id")


def assert_dressed_as_the_edge(
    headers: list[tuple[bytes, bytes]],
    edge_headers: list[tuple[bytes, bytes]],
    origin: str | None,
) -> None:
    """``headers`` of an answer made before the app are the edge's own answer's
    ``edge_headers`` (but for the request id): HSTS, and CORS only for ``ORIGIN``."""
    assert _without_request_id(headers) == _without_request_id(edge_headers)
    assert dict(headers)[b"strict-transport-security"].startswith(b"max-age=")
    if origin == ORIGIN:
        assert dict(headers)[b"access-control-allow-origin"] == ORIGIN.encode()
    else:
        assert b"access-control-allow-origin" not in dict(headers)


@pytest.mark.parametrize("origin", [None, ORIGIN, "https://evil.example"])
async def test_the_answer_is_the_edges_own_413(origin: str | None) -> None:
    edge = _edge()
    assert edge.head_refusal is not None
    head = _head(LIMIT + 1, **({"origin": origin} if origin else {}))

    answer = edge.head_refusal.answer("POST", "/graphql", head, PEER)
    made_by_the_edge = await call(
        edge.app,
        method="POST",
        path="/graphql",
        headers=[(name.decode(), value.decode()) for name, value in head],
        chunks=[b"x" * (LIMIT + 1)],
        client=(PEER, 5000),
    )

    assert answer is not None
    status, headers, body = answer
    assert made_by_the_edge.status == status == 413
    assert body == made_by_the_edge.body
    assert b"PAYLOAD_TOO_LARGE" in body
    assert_dressed_as_the_edge(headers, made_by_the_edge.headers, origin)
    assert dict(headers)[b"connection"] == b"close"
    assert len(dict(headers)[b"x-request-id"]) == 32


async def test_it_is_access_logged_as_the_edge_logs_a_request() -> None:
    edge = _edge()
    assert edge.head_refusal is not None
    head = _head(LIMIT + 1, **{"x-request-id": "caller-chosen-id-1"})
    with capture_logs() as logs:
        answer = edge.head_refusal.answer("POST", "/graphql", head, PEER)

    assert answer is not None
    assert dict(answer[1])[b"x-request-id"] == b"caller-chosen-id-1"
    (line,) = [log for log in logs if log["event"] == "http_request"]
    assert line["status"] == 413
    assert line["method"] == "POST"
    assert line["path"] == "/graphql"
    assert line["client_ip"] == "198.51.100.9"  # resolved through the trusted proxy
    assert line["request_id"] == "caller-chosen-id-1"


@pytest.mark.parametrize(
    ("method", "path", "head"),
    [
        ("POST", "/graphql", _head(LIMIT)),  # at the limit: read and judged
        ("POST", "/graphql", [(b"host", b"api.example")]),  # nothing declared
        ("POST", "/upload", _head(UPLOAD_LIMIT + 1)),  # an honest mistake: drained
        ("POST", "/graphql", _head(LIMIT + 1, host="other.example")),  # the edge's 400
        ("POST", "/graphql", [*_head(LIMIT + 1), (b"host", b"other.example")]),  # two Hosts
        ("POST", "/graphql", _head(LIMIT + 1, **{"content-length": "12x"})),  # the edge's 400
        (
            "OPTIONS",
            "/graphql",
            _head(LIMIT + 1, origin=ORIGIN, **{"access-control-request-method": "POST"}),
        ),  # a preflight: CORS answers it
        (
            "POST",
            "/graphql",
            _head(LIMIT + 1) + [(f"x-h{i}".encode(), b"v") for i in range(100)],
        ),  # the edge's 431
    ],
)
def test_what_a_layer_before_the_body_limit_answers_is_left_to_the_edge(
    method: str, path: str, head: list[tuple[bytes, bytes]]
) -> None:
    edge = _edge()
    assert edge.head_refusal is not None
    with capture_logs() as logs:
        assert edge.head_refusal.answer(method, path, head, PEER) is None
    assert logs == []


def test_a_blocked_address_is_left_to_the_edge_which_answers_403() -> None:
    screen = Screen(blocked={"198.51.100.9"})
    edge = _edge(screen)
    assert edge.head_refusal is not None

    assert edge.head_refusal.answer("POST", "/graphql", _head(LIMIT + 1), PEER) is None
    assert [str(address) for address in screen.asked] == ["198.51.100.9"]
    # Over twice the upload limit the upload route closes too: refused from the head.
    over = _head(2 * UPLOAD_LIMIT + 1, **{"x-forwarded-for": "198.51.100.10"})
    assert edge.head_refusal.answer("POST", "/upload", over, PEER) is not None


def opaque(app: Any) -> Any:
    """An ``after_client_ip`` layer that cannot tell from a head what it would answer."""

    async def layer(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)

    return layer


def test_a_layer_that_cannot_screen_a_head_turns_head_refusals_off() -> None:
    edge = wrap_edge(
        Recorder(),
        proxies=TrustedProxyConfig(()),
        security_headers=SecurityHeadersConfig(),
        max_body_bytes=LIMIT,
        after_client_ip=[opaque],
    )
    assert edge.head_refusal is None


def test_the_cheap_check_passes_only_declared_lengths_over_the_smallest_limit() -> None:
    edge = _edge()
    assert edge.head_refusal is not None
    may_refuse = edge.head_refusal.may_refuse
    assert not may_refuse([(b"host", b"api.example")])
    assert not may_refuse(_head(LIMIT))
    assert may_refuse(_head(LIMIT + 1))
    assert may_refuse(_head(LIMIT, **{"content-length": "1e9"}))  # not digits: judged
