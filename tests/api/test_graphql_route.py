"""The /graphql route's own wiring: how Litestar resolves its dependencies, which
transports it serves."""

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
