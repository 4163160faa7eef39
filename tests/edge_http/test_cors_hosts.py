"""CORS (allowlisted / foreign origin, preflight or actual request, credentials) and the
Host allowlist, on the real app."""

from __future__ import annotations

import httpx
import pytest

from api.app import OpenDeskApp
from api.edge import CORSPolicy
from api.settings import SettingsError, load_settings
from tests.edge_http.conftest import ALLOWED_ORIGIN, csrf_token

pytestmark = pytest.mark.usefixtures("db")

FOREIGN_ORIGIN = "https://evil.example"


def _preflight(origin: str, method: str = "POST", headers: str = "content-type, x-csrf-token"):  # type: ignore[no-untyped-def]
    return {
        "origin": origin,
        "access-control-request-method": method,
        "access-control-request-headers": headers,
    }


@pytest.mark.parametrize(
    ("origin", "allowed"), [(ALLOWED_ORIGIN, True), (FOREIGN_ORIGIN, False), ("null", False)]
)
async def test_preflight_is_answered_only_for_allowlisted_origins(
    client: httpx.AsyncClient,
    origin: str,
    allowed: bool,
) -> None:
    response = await client.options("/graphql", headers=_preflight(origin))

    if allowed:
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == origin
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "x-csrf-token" in response.headers["access-control-allow-headers"]
        assert response.headers["access-control-max-age"] == "600"
    else:
        assert response.status_code == 403
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in response.headers["vary"]


@pytest.mark.parametrize(
    ("method", "headers"), [("DELETE", "content-type"), ("POST", "x-evil-header")]
)
async def test_preflight_for_unlisted_methods_or_headers_is_refused(
    client: httpx.AsyncClient,
    method: str,
    headers: str,
) -> None:
    response = await client.options("/graphql", headers=_preflight(ALLOWED_ORIGIN, method, headers))

    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(("origin", "allowed"), [(ALLOWED_ORIGIN, True), (FOREIGN_ORIGIN, False)])
async def test_actual_requests_get_credentials_only_for_allowlisted_origins(
    client: httpx.AsyncClient,
    origin: str,
    allowed: bool,
) -> None:
    token = await csrf_token(client)
    response = await client.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={"origin": origin, "x-csrf-token": token},
    )

    if allowed:
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == origin
        assert response.headers["access-control-allow-credentials"] == "true"
    else:
        assert response.status_code == 403  # and unreadable to the foreign page anyway
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers


async def test_edge_answers_carry_cors_headers_for_the_allowlisted_frontend(
    client: httpx.AsyncClient,
) -> None:
    # A cross-origin frontend must be able to read its CSRF token and the refusals.
    token = await client.get("/csrf", headers={"origin": ALLOWED_ORIGIN})
    refused = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"origin": ALLOWED_ORIGIN}
    )

    assert token.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert refused.status_code == 403
    assert refused.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


async def test_a_route_cannot_smuggle_a_wildcard_origin_through() -> None:
    with pytest.raises(ValueError, match="scheme://host"):
        CORSPolicy(allowed_origins=frozenset({"*"}))


@pytest.mark.parametrize("origin", ["*", "null", "https://app.example/", "app.example"])
def test_settings_refuse_anything_but_exact_origins(origin: str) -> None:
    with pytest.raises(SettingsError, match="CORS_ALLOWED_ORIGINS"):
        load_settings(cors_allowed_origins=(origin,))


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("testserver.local", 200),
        ("localhost", 200),
        ("localhost:8000", 200),  # the serve port is implied
        ("localhost:9999", 400),
        ("evil.example", 400),
        ("testserver.local.evil.example", 400),
        ("", 400),
    ],
)
async def test_only_allowlisted_host_headers_are_answered(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
    host: str,
    status: int,
) -> None:
    healthz = await client.get("/healthz", headers={"host": host})
    missing = await client.get("/no-such-page", headers={"host": host})

    assert healthz.status_code == status
    assert missing.status_code == (404 if status == 200 else 400)
    assert healthz.headers["x-content-type-options"] == "nosniff"
