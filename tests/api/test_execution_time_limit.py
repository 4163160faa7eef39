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
from strawberry.types.graphql import OperationType

from api.app import create_app
from api.settings import Settings, SettingsError, load_settings
from permissions.principal import ANONYMOUS, Principal, user_principal
from permissions.roles import Role
from schema.guards.time_limit import TimeLimits
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


async def test_a_limit_set_for_a_kind_of_principal_replaces_the_default_for_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Default query limit 5 s; anonymous callers get 0.3 s, admins 60 s (unused here).
    limited = settings.model_copy(
        update={
            "graphql_query_timeout_seconds": 5.0,
            "graphql_timeouts_by_principal": load_settings(
                graphql_timeouts_by_principal="anonymous:query=0.3, admin:query=60"
            ).graphql_timeouts_by_principal,
            "redis_prefix": f"t{secrets.token_hex(6)}",
        }
    )

    async def slow_ticket(*_args: object) -> None:
        await asyncio.sleep(5)

    monkeypatch.setattr("schema.queries.get_ticket", slow_ticket)
    async with AsyncTestClient(app=create_app(limited)) as test_client:
        client = await with_csrf(test_client)
        started = time.monotonic()
        response = await client.post(
            "/graphql", json={"query": TICKET, "variables": {"id": str(uuid.uuid4())}}
        )
        elapsed = time.monotonic() - started

    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "EXECUTION_TIMEOUT"
    assert "0.3 seconds" in body["errors"][0]["message"]
    assert elapsed < 3


def test_limits_by_principal_pick_the_callers_own() -> None:
    limits = TimeLimits(
        query_seconds=10,
        mutation_seconds=30,
        by_principal=(("partner", "query", 2.0), ("admin", "mutation", 120.0)),
    )
    partner = Principal(kind="partner", api_key_id=uuid.uuid4())
    admin = user_principal(uuid.uuid4(), Role.admin, None)
    agent = user_principal(uuid.uuid4(), Role.agent, None)

    assert limits.for_operation(OperationType.QUERY, partner) == 2.0
    assert limits.for_operation(OperationType.MUTATION, partner) == 30
    assert limits.for_operation(OperationType.MUTATION, admin) == 120.0
    assert limits.for_operation(OperationType.QUERY, agent) == 10
    assert limits.for_operation(OperationType.QUERY, ANONYMOUS) == 10
    assert limits.longest == 120.0  # the HTTP layer's outer deadline covers every limit


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("root:query=5", "who:kind=seconds"),
        ("admin:subscription=5", "who:kind=seconds"),
        ("admin:query=fast", "seconds must be a number"),
        ("admin:query=0", "seconds must be in (0, 300]"),
        ("admin:query=301", "seconds must be in (0, 300]"),
        ("admin:query=5,admin:query=6", "given twice"),
    ],
)
def test_bad_limits_by_principal_stop_start_up_naming_the_variable(
    value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(graphql_timeouts_by_principal=value)

    assert "OPENDESK_GRAPHQL_TIMEOUTS_BY_PRINCIPAL" in str(refused.value)
    assert message in str(refused.value)


async def test_postgresql_ends_slow_statements_itself(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("statement_timeout is PostgreSQL's; SQLite runs in-process")
    from accounts.tables import User

    rows = await User.raw("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
    assert rows[0]["setting"] == str(int(settings.database_timeout_seconds * 1000))  # ms
