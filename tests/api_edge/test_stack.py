"""The whole edge around a Litestar app, in the order :func:`wrap_edge` builds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from structlog.testing import capture_logs

from api.edge import SecurityHeadersConfig, TrustedProxyConfig, client_ip_from_scope, wrap_edge
from api.edge._asgi import send_json_error
from tests.api_edge.asgi_harness import WithPeer, build_litestar_app

BLOCKED = "198.51.100.66"


def block_list(app: Any) -> Any:
    """Stands in for the IP block middleware, which runs right after the client IP."""

    async def blocker(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and str(client_ip_from_scope(scope)) == BLOCKED:
            await send_json_error(send, 403, "Blocked", "FORBIDDEN")
            return
        await app(scope, receive, send)

    return blocker


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    litestar_app, _ = build_litestar_app()
    edge = wrap_edge(
        litestar_app,
        proxies=TrustedProxyConfig(("10.0.0.0/8",)),
        security_headers=SecurityHeadersConfig(hsts=True),
        max_body_bytes=64,
        after_client_ip=[block_list],
    ).app
    with TestClient(WithPeer(edge, "10.0.0.2")) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/ok", {}, 200),
        ("GET", "/missing", {}, 404),
        ("GET", "/boom", {}, 500),
        (
            "POST",
            "/graphql",
            {"content": b"x" * 65, "headers": {"content-type": "application/json"}},
            413,
        ),
        ("POST", "/graphql", {"content": b"q", "headers": {"content-type": "text/plain"}}, 415),
        ("GET", "/ok", {"headers": {"x-forwarded-for": BLOCKED}}, 403),
    ],
)
def test_every_answer_has_headers_request_id_and_one_log_line(
    client: TestClient[Any],
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    headers = {"x-forwarded-for": "198.51.100.9", **kwargs.pop("headers", {})}
    with capture_logs() as logs:
        response = client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == status
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "server" not in response.headers
    access = [entry for entry in logs if entry["event"] == "http_request"]
    assert len(access) == 1
    assert access[0]["status"] == status
    assert access[0]["request_id"] == response.headers["x-request-id"]
    assert access[0]["client_ip"] == headers["x-forwarded-for"]


def test_handler_sees_resolved_ip_and_request_id(client: TestClient[Any]) -> None:
    response = client.get("/state", headers={"x-forwarded-for": "6.6.6.6, 198.51.100.9"})
    body = response.json()
    assert body["client_ip"] == "198.51.100.9"
    assert body["request_id"] == response.headers["x-request-id"]
