"""Production: introspection only for the roles GraphiQL serves (admins and auditors
with an MFA-checked session); everyone else gets INTROSPECTION_DISABLED."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from accounts.services import authentication
from api.app import OpenDeskApp, create_app
from api.identity import session_cookie_name
from api.identity_setup import build_identity
from api.keys import load_app_keyring
from api.settings import Settings
from permissions.roles import Role
from tests.csrf_helpers import with_csrf
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("db")

INTROSPECT = {"query": "{ __schema { queryType { name } } }"}


@pytest.fixture
def production(settings: Settings) -> Settings:
    # model_copy skips validation: a production schema and GraphiQL policy, on this run's
    # SQLite/PostgreSQL (the production start-up checks are tested in tests/api).
    return settings.model_copy(
        update={
            "env": "production",
            "graphiql": "restricted",
            "redis_prefix": f"t{secrets.token_hex(6)}",
        }
    )


@pytest.fixture
async def app(production: Settings) -> OpenDeskApp:
    return create_app(production)


async def _session_token(app: OpenDeskApp, production: Settings, role: Role, mfa: bool) -> str:
    redis = Redis.from_url(production.redis_url) if production.redis_url else None
    identity = (
        build_identity(production, redis, load_app_keyring(production))
        if redis is not None
        else app.state.resources.identity
    )
    user = await make_user(role)
    session = await authentication.start_session(
        identity,
        user_id=user.id,
        role=role,
        organisation_id=user.organisation_id,
        mfa_at=datetime.now(UTC) if mfa else None,
        client_ip="10.0.0.1",
        user_agent="test",
    )
    if redis is not None:
        await redis.aclose()
    return session.token


@pytest.fixture
async def client(app: OpenDeskApp) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("role", "mfa", "allowed"),
    [
        (None, False, False),
        (Role.customer, False, False),
        (Role.agent, False, False),
        (Role.admin, True, True),
        (Role.auditor, True, True),
    ],
)
async def test_introspection_follows_the_graphiql_roles(
    app: OpenDeskApp,
    production: Settings,
    client: AsyncTestClient,  # type: ignore[type-arg]
    role: Role | None,
    mfa: bool,
    allowed: bool,
) -> None:
    if role is not None:
        token = await _session_token(app, production, role, mfa)
        client.cookies.set(session_cookie_name(production), token)
    await with_csrf(client)  # the CSRF token is bound to the session it is fetched with

    answer = (await client.post("/graphql", json=INTROSPECT)).json()

    if allowed:
        assert answer["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    else:
        assert answer["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
