"""Proxy headers from an untrusted peer change nothing; stored XSS comes back as inert
JSON data."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import httpx
import pytest

from api.app import OpenDeskApp
from api.limits import block_ip
from tests.edge_http.conftest import csrf_token, signed_in
from tests.factories import make_ticket

pytestmark = pytest.mark.usefixtures("db")

PAYLOAD = "<script>alert(1)</script>"
SPOOFING = {
    "x-forwarded-for": "203.0.113.77",
    "forwarded": "for=203.0.113.77",
    "x-real-ip": "203.0.113.77",
}


def _address() -> str:
    return f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def _from(app: OpenDeskApp, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_an_untrusted_peer_cannot_escape_its_block_with_proxy_headers(
    app: OpenDeskApp,
) -> None:
    peer = _address()
    await block_ip(peer, "abuse", None, "system:test")

    async with _from(app, peer) as client:
        response = await client.get("/healthz", headers=SPOOFING)

    assert response.status_code == 403


async def test_an_untrusted_peer_cannot_borrow_a_blocked_address_either(
    app: OpenDeskApp,
) -> None:
    await block_ip("203.0.113.77", "abuse", None, "system:test")

    async with _from(app, _address()) as client:
        response = await client.get("/healthz", headers=SPOOFING)

    assert response.status_code == 200


async def test_a_trusted_proxy_is_believed(make_app: Callable[..., OpenDeskApp]) -> None:
    app = make_app(trusted_proxies=("198.18.0.0/15",))
    blocked = f"203.0.113.{secrets.randbelow(254) + 1}"
    await block_ip(blocked, "abuse", None, "system:test")

    async with _from(app, _address()) as client:
        response = await client.get("/healthz", headers={"x-forwarded-for": blocked})

    assert response.status_code == 403


async def test_a_stored_script_comes_back_as_inert_json(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
) -> None:
    requester = await signed_in(app, client)
    ticket = await make_ticket(requester, subject=PAYLOAD, body=PAYLOAD)
    token = await csrf_token(client)

    response = await client.post(
        "/graphql",
        json={
            "query": "query($id: ID!) { ticket(id: $id) { subject } }",
            "variables": {"id": str(ticket.id)},
        },
        headers={"x-csrf-token": token},
    )

    assert response.json()["data"]["ticket"]["subject"] == PAYLOAD
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


async def test_input_echoed_in_errors_stays_json(
    client: httpx.AsyncClient,
) -> None:
    token = await csrf_token(client)

    response = await client.post(
        "/graphql", json={"query": f"{{ {PAYLOAD} }}"}, headers={"x-csrf-token": token}
    )

    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"]
    assert response.headers["x-content-type-options"] == "nosniff"
