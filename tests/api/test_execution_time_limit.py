"""Execution time limits: a slow query is stopped (its resolvers cancelled) at the query
limit, a mutation gets the mutation limit, and PostgreSQL ends slow statements itself."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from tests.csrf_helpers import with_csrf

pytestmark = pytest.mark.usefixtures("db")

TICKET = "query($id: ID!) { ticket(id: $id) { id } }"
RESET = 'mutation { requestPasswordReset(email: "slow@example.com") }'


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    limited = settings.model_copy(
        update={
            "graphql_query_timeout_seconds": 0.3,
            "graphql_mutation_timeout_seconds": 5.0,
            "redis_prefix": f"t{secrets.token_hex(6)}",
        }
    )
    async with AsyncTestClient(app=create_app(limited)) as test_client:
        yield await with_csrf(test_client)


async def test_a_slow_query_is_stopped_at_the_query_limit_and_its_resolver_cancelled(
    client: AsyncTestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cancelled = []

    async def slow_ticket(*_args: object) -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    monkeypatch.setattr("schema.queries.get_ticket", slow_ticket)
    started = time.monotonic()
    response = await client.post(
        "/graphql", json={"query": TICKET, "variables": {"id": str(uuid.uuid4())}}
    )
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "EXECUTION_TIMEOUT"
    assert "0.3 seconds" in body["errors"][0]["message"]
    assert elapsed < 3  # stopped, not waited out
    assert cancelled == [True]


async def test_mutations_get_the_mutation_limit(
    client: AsyncTestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def slow_reset(*_args: object) -> None:
        await asyncio.sleep(0.6)  # over the query limit, under the mutation limit

    monkeypatch.setattr("accounts.services.password_flows.request_password_reset", slow_reset)
    response = await client.post("/graphql", json={"query": RESET})

    body = response.json()
    assert "errors" not in body
    assert body["data"] == {"requestPasswordReset": True}


async def test_postgresql_ends_slow_statements_itself(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("statement_timeout is PostgreSQL's; SQLite runs in-process")
    from accounts.tables import User

    rows = await User.raw("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
    assert rows[0]["setting"] == str(int(settings.database_timeout_seconds * 1000))  # ms
