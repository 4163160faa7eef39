"""The real app over HTTP, with sessions made by the identity services the API uses.

The client runs the app on the test's own event loop (httpx's ASGI transport), not in
Litestar's test-client thread: the test and the app share the run's database engine,
and an asyncpg pool must never be used from two event loops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from accounts.services.authentication import start_session
from api.app import OpenDeskApp, create_app
from api.identity import PLAIN_COOKIE
from api.settings import Settings
from permissions.roles import Role
from tests.factories import make_user

ALLOWED_ORIGIN = "https://app.example"


@pytest.fixture
def make_app(settings: Settings) -> Callable[..., OpenDeskApp]:
    def build(**overrides: Any) -> OpenDeskApp:
        return create_app(settings.model_copy(update=overrides))

    return build


@pytest.fixture
async def app(make_app: Callable[..., OpenDeskApp]) -> OpenDeskApp:
    return make_app(cors_allowed_origins=(ALLOWED_ORIGIN,))


def http_client(app: OpenDeskApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


@pytest.fixture
async def client(app: OpenDeskApp) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as test_client:
        yield test_client


async def signed_in(
    app: OpenDeskApp,
    client: httpx.AsyncClient,
    role: Role = Role.customer,
    *,
    mfa: bool = False,
) -> Any:
    """A user of ``role`` with a live session whose cookie ``client`` now holds."""
    identity = app.state.resources.identity
    user = await make_user(role)
    session = await start_session(
        identity,
        user_id=user.id,
        role=role,
        organisation_id=user.organisation_id,
        mfa_at=identity.now() if mfa else None,
        client_ip="127.0.0.1",
        user_agent="pytest",
    )
    # The domain the server sets it for, so the server can also clear it (logout).
    client.cookies.set(PLAIN_COOKIE, session.token, domain="testserver.local")
    return user


async def csrf_token(client: httpx.AsyncClient) -> str:
    """The token for the session ``client`` holds now (as the frontend gets it)."""
    response = await client.get("/csrf")
    assert response.status_code == 200
    token: str = response.json()["csrfToken"]
    return token
