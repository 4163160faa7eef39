"""The assembled app over HTTP: health, readiness, GraphQL transport, error masking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar._kwargs import kwargs_model
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import AsyncTestClient, TestClient

from api.app import create_app
from api.settings import Settings
from tests.csrf_helpers import with_csrf

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield await with_csrf(test_client)


async def test_healthz_answers_ok(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_dependencies_answer(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


@pytest.mark.parametrize(
    ("override", "failing"),
    [
        ({"database_url": "postgresql://nobody@127.0.0.1:1/none"}, ["database"]),
        ({"redis_url": "redis://127.0.0.1:1/0"}, ["redis"]),
    ],
)
async def test_readyz_names_the_unreachable_dependency(
    settings: Settings, override: dict[str, str], failing: list[str]
) -> None:
    broken = settings.model_copy(update=override)
    # A pool cannot start against a dead database, so only bind the engine lazily here.
    app = create_app(broken)
    app.litestar.on_startup.clear()
    from api.database import bind_engine

    resources = app.state.resources
    try:
        async with AsyncTestClient(app=app) as test_client:
            bind_engine(resources.engine)
            response = await test_client.get("/readyz")
    finally:
        if resources.redis is not None:
            await resources.redis.aclose()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failing": failing}


async def test_anonymous_me_is_null(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.post("/graphql", json={"query": "{ me { id } }"})

    assert response.status_code == 200
    assert response.json()["data"] == {"me": None}


async def test_queries_run_over_get_but_mutations_never_do(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    query = await client.get("/graphql", params={"query": "{ me { id } }"})
    mutation = await client.get("/graphql", params={"query": "mutation { logout }"})

    assert query.status_code == 200
    assert query.json()["data"] == {"me": None}
    assert "errors" not in query.json()
    assert mutation.status_code in (400, 405)
    assert "data" not in mutation.text


async def test_client_supplied_identity_headers_are_ignored(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.post(
        "/graphql",
        json={"query": "{ me { id } }"},
        headers={"X-User-Id": "00000000-0000-4000-8000-000000000000", "X-Role": "admin"},
    )

    assert response.json()["data"] == {"me": None}


async def test_body_over_one_megabyte_is_refused_cleanly(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    padding = "#" * 1_100_000
    response = await client.post("/graphql", json={"query": f"{{ me {{ id }} }} {padding}"})

    assert response.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000 + b"]" * 200_000,  # nested past the recursion limit
        b'{"query": "{ me { id } }", "variables": {"n": NaN}}',
        b'{"query": "{ me { id } }"',  # truncated
        b'{"query": "\\ud800"}',  # a lone surrogate
        b"\xff\xfe",
    ],
    ids=["deep", "nan", "truncated", "surrogate", "not-utf8"],
)
async def test_a_body_that_is_not_one_json_value_is_a_400(
    client: AsyncTestClient,  # type: ignore[type-arg]
    body: bytes,
) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert "Unable to parse request body as JSON" in response.text


async def test_a_large_body_within_the_limit_still_runs(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    # Over the large-body lane's 64 KiB threshold: it waits for a free slot (there is one).
    padding = "x" * 200_000
    response = await client.post(
        "/graphql", json={"query": "{ __typename }", "variables": {"padding": padding}}
    )

    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


async def test_answers_are_compact_json(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.post("/graphql", json={"query": "{ __typename, a: __typename }"})

    assert response.content.startswith(b'{"data":{"__typename":"Query","a":"Query"},')
    assert b": " not in response.content
    assert b", " not in response.content


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/healthz", {}, 200),
        ("GET", "/no-such-route", {}, 404),
        (
            "POST",
            "/graphql",
            {"content": b"{ me { id } }", "headers": {"content-type": "text/plain"}},
            415,
        ),
        ("POST", "/graphql", {"json": {"query": "{ me { id } }"}}, 200),
    ],
)
async def test_every_answer_carries_the_security_headers(
    client: AsyncTestClient,  # type: ignore[type-arg]
    method: str,
    path: str,
    kwargs: dict[str, object],
    status: int,
) -> None:
    response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]

    assert response.status_code == status
    headers = response.headers
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert len(headers["x-request-id"]) >= 8
    assert "server" not in headers


async def test_a_request_resolves_its_dependencies_one_at_a_time(
    client: AsyncTestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Litestar resolves independent dependencies of one level in an anyio task group
    (tasks per request); the route's are chained so that none is ever needed."""

    def no_task_group(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a task group was created to resolve dependencies")

    monkeypatch.setattr(kwargs_model, "create_task_group", no_task_group)

    response = await client.post("/graphql", json={"query": "{ me { id } }"})

    assert response.status_code == 200
    assert response.json()["data"] == {"me": None}


def test_a_websocket_upgrade_to_graphql_is_refused(settings: Settings) -> None:
    """No subscriptions, so no WebSocket route: the handshake itself is refused, whatever
    protocol (a route that accepted and then closed would let the body below run)."""
    accepted: list[str] = []
    with TestClient(app=create_app(settings)) as client:
        for protocol in ("graphql-transport-ws", "graphql-ws"):
            with (
                pytest.raises(WebSocketDisconnect),
                client.websocket_connect("/graphql", subprotocols=[protocol]),
            ):
                accepted.append(protocol)

    assert accepted == []
