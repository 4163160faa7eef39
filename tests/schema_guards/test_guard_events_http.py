"""Shadow mode and refusal events over HTTP, on the real schema: a document limit, and
the execution time limit, which the HTTP layer enforces (asyncio.timeout)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from schema.guards.verdict import REFUSED_EVENT, SHADOW_EVENT
from tests.csrf_helpers import with_csrf
from tests.schema_guards.events import guard_events, named

pytestmark = pytest.mark.usefixtures("db")

ALIASES_16 = "{ " + " ".join(f"a{index}: me {{ id }}" for index in range(16)) + " }"
TICKET = "query Ticket($id: ID!) { ticket(id: $id) { id } }"
ANONYMOUS = {"kind": "anonymous", "id": None}

Client = AsyncTestClient[Any]
ClientFactory = Callable[..., Awaitable[Client]]


@pytest.fixture
async def make_client(settings: Settings) -> AsyncIterator[ClientFactory]:
    clients: list[Client] = []

    async def make(**update: Any) -> Client:
        configured = settings.model_copy(
            update={**update, "redis_prefix": f"t{secrets.token_hex(6)}"}
        )
        # Before capturing: create_app configures logging.
        client = AsyncTestClient(app=create_app(configured))
        await client.__aenter__()
        clients.append(client)
        await with_csrf(client)
        return client

    yield make
    for client in clients:
        await client.__aexit__(None, None, None)


def _hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


async def test_a_refused_document_is_one_event_with_the_request_id(
    make_client: ClientFactory,
) -> None:
    client = await make_client()
    with guard_events() as logs:
        response = await client.post("/graphql", json={"query": ALIASES_16})

    assert response.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
    assert named(logs, SHADOW_EVENT) == []
    (event,) = named(logs, REFUSED_EVENT)
    assert event["rule"] == "TOO_MANY_ALIASES"
    assert (event["limit"], event["measured"]) == (15, 16)
    assert event["principal"] == ANONYMOUS
    assert event["operation_hash"] == _hash(ALIASES_16)
    assert event["request_id"] == response.headers["x-request-id"]


async def test_a_shadowed_document_limit_runs_the_request(make_client: ClientFactory) -> None:
    client = await make_client(graphql_shadow_limits=frozenset({"aliases"}))
    with guard_events() as logs:
        response = await client.post("/graphql", json={"query": ALIASES_16})

    body = response.json()
    assert "errors" not in body
    assert body["data"] == {f"a{index}": None for index in range(16)}
    assert named(logs, REFUSED_EVENT) == []
    (event,) = named(logs, SHADOW_EVENT)
    assert (event["rule"], event["limit"], event["measured"]) == ("TOO_MANY_ALIASES", 15, 16)


def _slow_ticket(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    async def slow_ticket(*_args: object) -> None:
        await asyncio.sleep(seconds)

    monkeypatch.setattr("schema.queries.get_ticket", slow_ticket)


async def test_a_shadowed_time_limit_lets_a_slow_query_finish_and_logs_it(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client(
        graphql_query_timeout_seconds=0.2,
        graphql_mutation_timeout_seconds=0.2,
        graphql_shadow_limits=frozenset({"time"}),
    )
    _slow_ticket(monkeypatch, 0.5)
    variables = {"id": str(uuid.uuid4())}
    with guard_events() as logs:
        response = await client.post("/graphql", json={"query": TICKET, "variables": variables})

    body = response.json()
    assert (body["data"], "errors" in body) == ({"ticket": None}, False)
    assert named(logs, REFUSED_EVENT) == []
    (event,) = named(logs, SHADOW_EVENT)
    assert (event["rule"], event["limit"]) == ("EXECUTION_TIMEOUT", 0.2)
    assert 0.5 <= event["measured"] < 5
    assert event["principal"] == ANONYMOUS
    assert (event["operation_hash"], event["operation_name"]) == (_hash(TICKET), "Ticket")
    assert variables["id"] not in repr(event)


async def test_a_fast_query_under_a_shadowed_time_limit_logs_nothing(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client(graphql_shadow_limits=frozenset({"time"}))
    _slow_ticket(monkeypatch, 0)
    with guard_events() as logs:
        response = await client.post(
            "/graphql", json={"query": TICKET, "variables": {"id": str(uuid.uuid4())}}
        )

    body = response.json()
    assert (body["data"], "errors" in body) == ({"ticket": None}, False)
    assert named(logs, REFUSED_EVENT) == named(logs, SHADOW_EVENT) == []


async def test_a_time_out_is_one_refusal_event(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client(graphql_query_timeout_seconds=0.2)
    _slow_ticket(monkeypatch, 5)
    request = {"query": TICKET, "operationName": "Ticket", "variables": {"id": str(uuid.uuid4())}}
    with guard_events() as logs:
        response = await client.post("/graphql", json=request)

    assert response.json()["errors"][0]["extensions"]["code"] == "EXECUTION_TIMEOUT"
    assert [entry["event"] for entry in logs if "timeout" in entry["event"]] == []
    (event,) = named(logs, REFUSED_EVENT)
    assert (event["rule"], event["limit"]) == ("EXECUTION_TIMEOUT", 0.2)
    assert 0.15 <= event["measured"] < 3
    assert (event["operation_hash"], event["operation_name"]) == (_hash(TICKET), "Ticket")
    assert event["request_id"] == response.headers["x-request-id"]


ME = {"query": "{ me { id } }"}


@pytest.mark.parametrize(
    ("max_batch", "sent", "reason"),
    [(1, 2, "Batching is not enabled"), (3, 4, "Too many operations")],
    ids=["batching-off", "over-the-cap"],
)
async def test_a_refused_batch_is_one_event_and_runs_nothing(
    make_client: ClientFactory, max_batch: int, sent: int, reason: str
) -> None:
    client = await make_client(graphql_max_batch=max_batch)
    with guard_events() as logs:
        response = await client.post("/graphql", json=[ME] * sent)

    assert response.status_code == 400
    assert reason in response.text
    assert '"data"' not in response.text
    (event,) = named(logs, REFUSED_EVENT)
    assert event["rule"] == "TOO_MANY_OPERATIONS"
    assert (event["limit"], event["measured"]) == (max_batch if max_batch > 1 else 0, sent)
    assert event["principal"] == ANONYMOUS


async def test_a_batch_at_the_cap_logs_nothing(make_client: ClientFactory) -> None:
    client = await make_client(graphql_max_batch=3)
    with guard_events() as logs:
        response = await client.post("/graphql", json=[ME] * 3)

    assert [answer["data"] for answer in response.json()] == [{"me": None}] * 3
    assert named(logs, REFUSED_EVENT) == named(logs, SHADOW_EVENT) == []


async def test_a_shadowed_batch_cap_runs_the_batch_and_logs_it(
    make_client: ClientFactory,
) -> None:
    # Batching off but shadowed: the rollout step before turning it on.
    client = await make_client(graphql_shadow_limits=frozenset({"batch"}))
    with guard_events() as logs:
        response = await client.post("/graphql", json=[ME] * 2)

    assert response.status_code == 200
    assert [answer["data"] for answer in response.json()] == [{"me": None}] * 2
    assert named(logs, REFUSED_EVENT) == []
    (event,) = named(logs, SHADOW_EVENT)
    assert event["rule"] == "TOO_MANY_OPERATIONS"
    assert (event["limit"], event["measured"]) == (0, 2)
