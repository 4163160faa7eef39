from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from api.edge.security_headers import (
    PERMISSIONS_POLICY,
    SecurityHeadersConfig,
    SecurityHeadersMiddleware,
    html_csp,
    new_csp_nonce,
)
from tests.api_edge.asgi_harness import Recorder, build_litestar_app, call

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
EXPECTED = {
    "content-security-policy": API_CSP,
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "permissions-policy": PERMISSIONS_POLICY,
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    litestar_app, _ = build_litestar_app()
    app = SecurityHeadersMiddleware(litestar_app, SecurityHeadersConfig(hsts=True))
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/ok", 200), ("GET", "/missing", 404), ("GET", "/boom", 500), ("DELETE", "/ok", 405)],
)
def test_every_response_carries_every_header(
    client: TestClient[Any],
    method: str,
    path: str,
    status: int,
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    for name, value in EXPECTED.items():
        assert response.headers.get_list(name) == [value], name
    assert "server" not in response.headers


def test_permissions_policy_denies_powerful_features() -> None:
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in PERMISSIONS_POLICY


def test_route_csp_and_cache_control_are_kept(client: TestClient[Any]) -> None:
    response = client.get("/page")
    assert response.headers.get_list("content-security-policy") == ["default-src 'self'"]
    assert response.headers.get_list("cache-control") == ["max-age=60"]


def test_route_cannot_weaken_enforced_headers_and_server_is_removed(
    client: TestClient[Any],
) -> None:
    response = client.get("/weak")
    assert response.headers.get_list("x-frame-options") == ["DENY"]
    assert "server" not in response.headers


async def test_hsts_is_absent_unless_configured() -> None:
    result = await call(SecurityHeadersMiddleware(Recorder()))
    assert result.header("strict-transport-security") is None
    assert result.header("x-content-type-options") == "nosniff"


async def test_websocket_scope_passes_through_untouched() -> None:
    seen: list[str] = []

    async def app(scope: object, receive: object, send: object) -> None:
        seen.append("called")

    await call(SecurityHeadersMiddleware(app), scope_type="websocket")
    assert seen == ["called"]


def test_html_csp_uses_nonce_and_no_unsafe_sources() -> None:
    nonce = new_csp_nonce()
    policy = html_csp(nonce)
    assert f"script-src 'nonce-{nonce}' 'strict-dynamic'" in policy
    assert f"'nonce-{nonce}'" in re.search(r"style-src [^;]*", policy).group(0)  # type: ignore[union-attr]
    assert "connect-src 'self'" in policy
    assert "img-src 'self' data:" in policy
    assert "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize(
    "nonce", ["short", "a" * 16 + "'; script-src *", "a" * 20 + "\r\nX: y", ""]
)
def test_html_csp_refuses_nonce_that_could_inject(nonce: str) -> None:
    with pytest.raises(ValueError, match="nonce"):
        html_csp(nonce)


def test_nonces_are_fresh() -> None:
    assert len({new_csp_nonce() for _ in range(50)}) == 50


@pytest.mark.parametrize(
    "kwargs", [{"hsts_max_age": -1}, {"csp_api": ""}, {"csp_api": "default-src 'none'\r\nX: y"}]
)
def test_config_refuses_unsafe_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        SecurityHeadersConfig(**kwargs)  # type: ignore[arg-type]
