"""Batched requests: refused by default; when on, capped, and queries only."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from tests.csrf_helpers import with_csrf

pytestmark = pytest.mark.usefixtures("db")

ME = {"query": "{ me { id } }"}


async def _client(settings: Settings, max_batch: int) -> AsyncTestClient:  # type: ignore[type-arg]
    configured = settings.model_copy(
        update={"graphql_max_batch": max_batch, "redis_prefix": f"t{secrets.token_hex(6)}"}
    )
    client = AsyncTestClient(app=create_app(configured))
    await client.__aenter__()
    return await with_csrf(client)


@pytest.fixture
async def default_client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    client = await _client(settings, 1)
    yield client
    await client.__aexit__(None, None, None)


@pytest.fixture
async def batching_client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    client = await _client(settings, 3)
    yield client
    await client.__aexit__(None, None, None)


async def test_batches_are_refused_by_default(default_client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await default_client.post("/graphql", json=[ME])

    assert response.status_code == 400
    assert "batch" in response.text.lower()


async def test_a_batch_at_the_cap_runs_and_one_over_is_refused(
    batching_client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    at_cap = await batching_client.post("/graphql", json=[ME] * 3)
    over = await batching_client.post("/graphql", json=[ME] * 4)
    huge = await batching_client.post("/graphql", json=[ME] * 1000)

    assert at_cap.status_code == 200
    assert [answer["data"] for answer in at_cap.json()] == [{"me": None}] * 3
    assert over.status_code == 400
    assert huge.status_code == 400


async def test_mutations_cannot_be_batched(
    batching_client: AsyncTestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []

    async def recorded(*args: object) -> None:
        calls.append(args)

    monkeypatch.setattr("accounts.services.password_flows.request_password_reset", recorded)
    reset = {"query": 'mutation { requestPasswordReset(email: "a@example.com") }'}

    response = await batching_client.post("/graphql", json=[ME, reset])

    assert response.status_code == 200
    me_answer, reset_answer = response.json()
    assert me_answer["data"] == {"me": None}
    assert reset_answer["errors"][0]["extensions"]["code"] == "MUTATION_IN_BATCH"
    assert calls == []
    # The same mutation on its own is fine.
    alone = await batching_client.post("/graphql", json=reset)
    assert alone.json()["data"] == {"requestPasswordReset": True}
