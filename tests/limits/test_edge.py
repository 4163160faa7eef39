"""The edge hook over HTTP: per-IP 429s, headers on every answer, blocks, allowlist."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.app import OpenDeskApp, create_app
from api.limits import block_ip, unblock_ip
from api.settings import Settings
from tests.csrf_helpers import with_csrf
from tests.limits.conftest import random_ipv4

pytestmark = pytest.mark.usefixtures("db")

ClientFactory = Callable[[str], httpx.AsyncClient]


@pytest.fixture
def app(settings: Settings) -> OpenDeskApp:
    """The app with a per-IP limit of 3/minute and 192.0.2.0/24 allowlisted."""
    small = settings.model_copy(
        update={"rate_limit_ip": "3/minute", "rate_limit_allowlist": ("192.0.2.0/24",)}
    )
    return create_app(small)


@pytest.fixture
async def clients(app: OpenDeskApp) -> AsyncIterator[ClientFactory]:
    """``clients(ip)``: an HTTP client whose requests come from ``ip``."""
    opened: list[httpx.AsyncClient] = []

    def factory(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))  # type: ignore[arg-type]
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        opened.append(client)
        return client

    yield factory
    for client in opened:
        await client.aclose()


def header(response: httpx.Response, name: str) -> str | None:
    return response.headers.get(name)


async def test_requests_over_the_ip_limit_get_429_with_retry_after(
    clients: ClientFactory,
) -> None:
    client = clients(random_ipv4())

    answers = [await client.get("/healthz") for _ in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= int(header(refused, "retry-after") or 0) <= 60
    assert header(refused, "ratelimit") is not None
    assert header(refused, "x-request-id") is not None  # still inside the edge


async def test_every_answer_carries_ratelimit_headers(clients: ClientFactory) -> None:
    client = clients(random_ipv4())

    found = await client.get("/healthz")
    missing = await client.get("/no-such-page")

    for response in (found, missing):
        assert header(response, "ratelimit-policy") == '"ip";q=3;w=60'
    assert header(
        found,
        "ratelimit",
    ).startswith('"ip";r=2;t=')  # type: ignore[union-attr]
    assert header(missing, "ratelimit").startswith('"ip";r=1;t=')  # type: ignore[union-attr]
    assert header(found, "retry-after") is None


async def test_clients_are_limited_separately(clients: ClientFactory) -> None:
    greedy, other = clients(random_ipv4()), clients(random_ipv4())
    for _ in range(4):
        await greedy.get("/healthz")

    assert (await other.get("/healthz")).status_code == 200


async def test_allowlisted_clients_are_never_limited_nor_blocked(
    clients: ClientFactory,
) -> None:
    client = clients("192.0.2.10")
    await block_ip("192.0.2.0/24", "even this", None, "system:test")

    answers = [await client.get("/healthz") for _ in range(10)]

    assert {r.status_code for r in answers} == {200}
    assert header(answers[-1], "ratelimit") is None


async def test_a_blocked_address_gets_403_before_any_work(clients: ClientFactory) -> None:
    ip = random_ipv4()
    client = clients(ip)
    await block_ip(ip, "abuse", None, "system:test")

    response = await client.post("/graphql", json={"query": "{ __typename }"})

    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert header(response, "ratelimit") is None  # refused before the limiter counted it


async def test_an_ipv6_cidr_block_covers_its_network_only(clients: ClientFactory) -> None:
    await block_ip("2001:db8:abcd::/48", "abusive network", None, "user:admin")

    inside = await clients("2001:db8:abcd:12::5").get("/healthz")
    outside = await clients("2001:db8:abce::1").get("/healthz")

    assert inside.status_code == 403
    assert outside.status_code == 200


async def test_unblocking_lets_the_client_back_in(clients: ClientFactory) -> None:
    ip = random_ipv4()
    client = clients(ip)
    block = await block_ip(f"{ip}/32", "mistake", None, "user:admin")
    assert (await client.get("/healthz")).status_code == 403

    assert await unblock_ip(block.id, "user:admin")

    assert (await client.get("/healthz")).status_code == 200
    assert not await unblock_ip(block.id, "user:admin")  # already ended


async def test_a_block_ends_at_its_expiry(clients: ClientFactory) -> None:
    ip = random_ipv4()
    client = clients(ip)
    await block_ip(ip, "cool down", datetime.now(UTC) + timedelta(seconds=0.5), "system:test")
    assert (await client.get("/healthz")).status_code == 403

    await asyncio.sleep(0.6)

    assert (await client.get("/healthz")).status_code == 200


async def test_graphql_answers_report_the_ip_limit(clients: ClientFactory) -> None:
    client = await with_csrf(clients(random_ipv4()))  # GraphQL POSTs need the CSRF token
    response = await client.post("/graphql", json={"query": "{ __typename }"})

    assert response.status_code == 200
    assert header(response, "ratelimit-policy") == '"ip";q=3;w=60'
    body: dict[str, Any] = response.json()
    assert body["data"] == {"__typename": "Query"}


async def test_the_head_refusal_leaves_blocked_and_limited_addresses_to_the_edge(
    app: OpenDeskApp, clients: ClientFactory
) -> None:
    """The server's 413 from a request head (api.edge.head_refusal) is made only where
    the edge's answer would be that 413: a blocked address still gets its 403, and one
    over its limit its 429, from the edge."""
    refusal = app.head_refusal
    assert refusal is not None
    oversized = [(b"host", b"testserver"), (b"content-length", b"10000000")]
    fresh, limited, blocked = random_ipv4(), random_ipv4(), random_ipv4()

    made = refusal.answer("POST", "/graphql", oversized, fresh)
    over_limit = [(await clients(limited).get("/healthz")).status_code for _ in range(4)]
    await block_ip(blocked, "abuse", None, "system:test")
    seen_blocked = await clients(blocked).get("/healthz")  # the edge refreshes its copy
    await block_ip("192.0.2.0/24", "even this", None, "system:test")
    await clients("192.0.2.11").get("/healthz")

    assert made is not None
    assert made[0] == 413
    assert over_limit[-1] == 429
    assert refusal.answer("POST", "/graphql", oversized, limited) is None
    assert seen_blocked.status_code == 403
    assert refusal.answer("POST", "/graphql", oversized, blocked) is None
    allowlisted = refusal.answer("POST", "/graphql", oversized, "192.0.2.11")
    assert allowlisted is not None  # never blocked nor limited
    assert allowlisted[0] == 413
