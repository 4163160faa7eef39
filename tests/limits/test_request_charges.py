"""Every limit a request is checked against is settled together: one store round trip.

The per-IP and per-user limits are owed at the edge and when the context is built, and
settled with the query's cost before execution (or, for requests that never execute,
when the answer starts). These tests pin what that must not change: a request over its
limit still does nothing, and what it owes is charged however the request ends.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import OpenDeskApp, create_app
from api.edge import CLIENT_IP_STATE_KEY
from api.limits import LimitClass, Limiter, RateLimitMiddleware
from api.limits import limiter as limiter_module
from api.limits.ip_blocks import IpBlockList
from api.settings import Settings
from desk.tables import Ticket
from tests.conftest import BACKENDS
from tests.csrf_helpers import with_csrf
from tests.identity.conftest import PASSWORD, user_with_password
from tests.limits.conftest import LimiterFactory, random_ipv4, record_store_commands

pytestmark = pytest.mark.usefixtures("db")

IP_LIMIT = 6
COST_LIMIT = 10_000
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { sessionExpiresAt } }"
CREATE = 'mutation { createTicket(input: {subject: "over the limit", body: "b"}) { id } }'
READ = "{ me { id } tickets(first: 5) { edges { node { id subject } } } }"


@pytest.fixture
async def app(settings: Settings) -> OpenDeskApp:
    return create_app(
        settings.model_copy(
            update={
                "rate_limit_ip": f"{IP_LIMIT}/minute",
                "rate_limit_cost": f"{COST_LIMIT}/hour",
                # Own Redis namespace: counts never carry over between tests.
                "redis_prefix": f"t{secrets.token_hex(6)}",
            }
        )
    )


@pytest.fixture
async def signed_in(app: OpenDeskApp) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """A customer signed in over HTTP from a fresh address; 2 requests used (CSRF, login)."""
    transport = httpx.ASGITransport(app=app, client=(random_ipv4(), 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await with_csrf(client)
        user = await user_with_password(app.state.resources.identity)
        login = await client.post(
            "/graphql", json={"query": LOGIN, "variables": {"e": user.email, "p": PASSWORD}}
        )
        assert login.json()["data"]["login"]["sessionExpiresAt"], login.text
        yield client, user


def limiter_of(app: OpenDeskApp) -> Limiter:
    limiter: Limiter = app.state.rate_limiting.limiter
    return limiter


async def test_a_mutation_over_the_ip_limit_is_refused_before_it_runs(
    app: OpenDeskApp, signed_in: tuple[httpx.AsyncClient, Any]
) -> None:
    client, user = signed_in
    within = [await client.post("/graphql", json={"query": READ}) for _ in range(IP_LIMIT - 2)]

    refused = await client.post("/graphql", json={"query": CREATE})

    assert {r.status_code for r in within} == {200}
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert await Ticket.count().where(Ticket.requester == user.id) == 0


async def test_a_client_known_to_be_over_is_refused_without_deciding_again(
    app: OpenDeskApp, signed_in: tuple[httpx.AsyncClient, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = signed_in
    for _ in range(IP_LIMIT - 2):
        await client.post("/graphql", json={"query": READ})
    crossing = await client.post("/graphql", json={"query": READ})
    limiter = limiter_of(app)
    decided: list[object] = []
    original = limiter.hit_many

    async def counted(charges: Any) -> Any:
        decided.append(charges)
        return await original(charges)

    monkeypatch.setattr(limiter, "hit_many", counted)
    again = await client.post("/graphql", json={"query": READ})

    assert crossing.status_code == 429
    assert again.status_code == 429
    assert again.headers["connection"] == "close"  # refused before the body was read
    assert decided == []


@pytest.mark.skipif(BACKENDS.redis_url is None, reason="round trips to the shared store")
async def test_a_signed_in_query_makes_one_round_trip_for_all_its_limits(
    app: OpenDeskApp, signed_in: tuple[httpx.AsyncClient, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = signed_in
    limiter = limiter_of(app)
    # Refunds ride with the next request only (no flush timer between the two requests).
    monkeypatch.setattr(limiter_module, "REFUND_FLUSH_SECONDS", 3600.0)
    commands = record_store_commands(limiter, monkeypatch)
    first = await client.post("/graphql", json={"query": READ})
    after_first = list(commands)
    second = await client.post("/graphql", json={"query": READ})
    await limiter.flush_refunds()
    per_user = limiter.config.policies[LimitClass.USER].amount

    assert after_first == ["EVALSHA"]
    assert commands == ["EVALSHA", "EVALSHA", "EVALSHA"]  # + the final flush
    for answer in (first, second):
        assert answer.status_code == 200, answer.text
        assert (
            answer.headers["ratelimit-policy"]
            == f'"ip";q={IP_LIMIT};w=60, "user";q={per_user};w=60'
        )
    costs = [answer.json()["extensions"]["cost"] for answer in (first, second)]
    assert costs[0]["requested"] > costs[0]["actual"]  # so the first request was refunded
    # The second request's charge came after the first one's refund, in the same call.
    assert costs[1]["budgetRemaining"] == COST_LIMIT - costs[0]["actual"] - costs[1]["actual"]


@pytest.mark.skipif(BACKENDS.redis_url is None, reason="round trips to the shared store")
async def test_a_login_makes_one_round_trip_for_all_its_limits(
    app: OpenDeskApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = httpx.ASGITransport(app=app, client=(random_ipv4(), 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await with_csrf(client)
        user = await user_with_password(app.state.resources.identity)
        monkeypatch.setattr(limiter_module, "REFUND_FLUSH_SECONDS", 3600.0)
        commands = record_store_commands(limiter_of(app), monkeypatch)

        login = await client.post(
            "/graphql", json={"query": LOGIN, "variables": {"e": user.email, "p": PASSWORD}}
        )

    assert login.json()["data"]["login"]["sessionExpiresAt"], login.text
    # Address, cost budget, and the login limit per address: one script call.
    assert commands == ["EVALSHA"]
    await limiter_of(app).flush_refunds()


async def test_logins_over_their_limit_are_refused_before_checking_the_password(
    settings: Settings,
) -> None:
    app = create_app(
        settings.model_copy(
            update={"rate_limit_login": "2/minute", "redis_prefix": f"t{secrets.token_hex(6)}"}
        )
    )
    transport = httpx.ASGITransport(app=app, client=(random_ipv4(), 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await with_csrf(client)
        user = await user_with_password(app.state.resources.identity)
        wrong = {"query": LOGIN, "variables": {"e": user.email, "p": "not the password"}}
        answers = [(await client.post("/graphql", json=wrong)).json() for _ in range(2)]
        right = {"query": LOGIN, "variables": {"e": user.email, "p": PASSWORD}}
        refused = (await client.post("/graphql", json=right)).json()

    assert {a["errors"][0]["extensions"]["code"] for a in answers} == {"UNAUTHENTICATED"}
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= refused["errors"][0]["extensions"]["retryAfter"] <= 60


@pytest.mark.skipif(BACKENDS.redis_url is None, reason="refunds wait only for the shared store")
async def test_a_refund_reaches_the_store_without_another_request(
    make_limiter: LimiterFactory,
) -> None:
    limiter = make_limiter({LimitClass.COST: "100/minute"})
    charged = await limiter.hit(LimitClass.COST, key="budget", cost=30)

    await limiter.refund(charged, 20)
    stored = limiter.config.policies[LimitClass.COST].item
    shared = limiter._shared
    assert shared is not None
    for _ in range(200):  # bounded: the flush is due after REFUND_FLUSH_SECONDS
        stats = await shared.get_window_stats(stored, "cost", "budget")
        if stats.remaining == 90:
            break
        await asyncio.sleep(0.01)

    assert charged.remaining == 70
    assert stats.remaining == 90


class FailingApp:
    """A route that fails before it answers."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        raise RuntimeError("failed before answering")


async def test_what_a_failed_request_owes_is_still_charged(make_limiter: LimiterFactory) -> None:
    limiter = make_limiter({LimitClass.IP: "3/minute"})
    route = FailingApp()
    edge = RateLimitMiddleware(route, limiter=limiter, ip_blocks=IpBlockList(refresh_seconds=60))
    client = ipaddress.ip_address(random_ipv4())
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    for _ in range(4):
        with pytest.raises(RuntimeError):
            await edge({"type": "http", "state": {CLIENT_IP_STATE_KEY: client}}, receive, send)
    await edge({"type": "http", "state": {CLIENT_IP_STATE_KEY: client}}, receive, send)

    assert route.calls == 4  # the fourth was over the limit, found out when it failed
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 429
