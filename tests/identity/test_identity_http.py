"""The identity surface over HTTP: cookies, sessions, partner keys, one attempt per request."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from accounts.services import authentication, mfa
from accounts.services.identity import Identity
from api.app import OpenDeskApp, create_app
from api.identity import PLAIN_COOKIE, principal_for_session
from api.identity_setup import build_identity
from api.keys import load_app_keyring
from api.settings import Settings
from permissions.roles import Role
from tests.csrf_helpers import with_csrf
from tests.identity.conftest import PASSWORD, user_with_password
from tests.persisted import allowlist

pytestmark = pytest.mark.usefixtures("db")

LOGIN = """
mutation($email: String!, $password: String!, $totp: String) {
  login(email: $email, password: $password, totp: $totp) {
    sessionExpiresAt
    mfaEnrolmentRequired
  }
}
"""


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    # Own Redis namespace: per-IP login limits must not carry over between tests.
    return settings.model_copy(update={"redis_prefix": f"t{secrets.token_hex(6)}"})


@pytest.fixture
async def app(app_settings: Settings) -> OpenDeskApp:
    return create_app(app_settings)


@pytest.fixture
async def local(app: OpenDeskApp, app_settings: Settings) -> AsyncIterator[Identity]:
    """The app's identity stores, usable from the test's own loop. In-process stores are
    the app's own objects; Redis needs a connection of the test's (connections cannot
    cross from the app's loop to the test's)."""
    if app_settings.redis_url is None:
        yield app.state.resources.identity
        return
    redis = Redis.from_url(app_settings.redis_url)
    yield build_identity(app_settings, redis, load_app_keyring(app_settings))
    await redis.aclose()


@pytest.fixture
async def client(app: OpenDeskApp) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=app) as test_client:
        yield await with_csrf(test_client)


async def _gql(client, query: str, **variables):  # type: ignore[no-untyped-def]
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response


async def test_login_sets_an_httponly_cookie_and_me_follows_it(
    app: OpenDeskApp,
    local: Identity,
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    user = await user_with_password(local)

    response = await _gql(client, LOGIN, email=user.email, password=PASSWORD)
    me = await _gql(client, "{ me { id } }")

    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{PLAIN_COOKIE}=ods_")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert me.json()["data"]["me"]["id"] == str(user.id)


async def test_no_session_cookie_stays_on_the_shared_controller(
    app: OpenDeskApp,
    local: Identity,
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    """Strawberry's own handlers keep their ``response`` argument on the controller,
    which every request shares (``temporal_response``); ours build the sub-response per
    request and keep it on the request. Nothing on the controller may hold the cookie
    the sign-in answer set."""
    user = await user_with_password(local)
    await _gql(client, LOGIN, email=user.email, password=PASSWORD)
    token = client.cookies.get(PLAIN_COOKIE)
    assert token

    # The controller instance: what its route handlers' methods are bound to.
    controllers = {
        getattr(handler.fn, "__self__", None)
        for route in app.litestar.routes
        if route.path == "/graphql"
        for handler in getattr(route, "route_handlers", ())
    } - {None}
    assert controllers  # found: the check below is not vacuous
    for controller in controllers:
        kept = getattr(controller, "temporal_response", None)
        assert token not in repr(getattr(kept, "cookies", None))
        assert token not in repr(getattr(kept, "headers", None))
        assert token not in repr(vars(controller))


async def test_logout_kills_the_server_side_session(
    app: OpenDeskApp,
    local: Identity,
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    user = await user_with_password(local)
    await _gql(client, LOGIN, email=user.email, password=PASSWORD)
    token = client.cookies.get(PLAIN_COOKIE)

    await _gql(client, "mutation { logout }")

    assert await authentication.resolve_session(local, token) is None
    client.cookies.set(PLAIN_COOKIE, token)
    await client.get("/csrf")  # a token for the replayed cookie, so only the session is tested
    assert (await _gql(client, "{ me { id } }")).json()["data"]["me"] is None


async def test_sessions_are_listed_masked_and_revocable(
    app: OpenDeskApp,
    local: Identity,
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    identity = local
    user = await user_with_password(identity)
    other = await authentication.login(
        identity, email=user.email, password=PASSWORD, client_ip="203.0.113.9", user_agent="x"
    )
    await _gql(client, LOGIN, email=user.email, password=PASSWORD)

    listed = (await _gql(client, "{ mySessions { id isCurrent clientNetwork } }")).json()
    sessions = listed["data"]["mySessions"]
    ended = await _gql(client, "mutation { revokeOtherSessions }")

    assert len(sessions) == 2
    assert {s["clientNetwork"] for s in sessions if not s["isCurrent"]} == {"203.0.113.0/24"}
    assert ended.json()["data"]["revokeOtherSessions"] == 1
    assert await authentication.resolve_session(identity, other.token) is None


async def test_two_logins_in_one_request_are_refused_before_running(
    app: OpenDeskApp,
    local: Identity,
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    user = await user_with_password(local)
    document = f"""mutation {{
      a: login(email: "{user.email}", password: "guess one guess one") {{ mfaEnrolmentRequired }}
      b: login(email: "{user.email}", password: "{PASSWORD}") {{ mfaEnrolmentRequired }}
    }}"""

    response = await _gql(client, document)

    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_AUTHENTICATION_ATTEMPTS"
    assert "set-cookie" not in response.headers


async def test_partner_key_lifecycle(
    app: OpenDeskApp,
    local: Identity,
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    identity = local
    admin = await user_with_password(identity, Role.admin)
    first = await authentication.login(
        identity, email=admin.email, password=PASSWORD, client_ip="10.1.1.1", user_agent="t"
    )
    enrolment = await mfa.enroll_totp(identity, principal_for_session(first.record))
    totp = pyotp.TOTP(enrolment.secret)
    await mfa.confirm_totp(
        identity,
        principal_for_session(first.record),
        totp.at(datetime.now(UTC) - timedelta(seconds=30)),
    )
    await _gql(client, LOGIN, email=admin.email, password=PASSWORD, totp=totp.now())

    created = (
        await _gql(
            client,
            """mutation { createApiKey(input: {name: "Partner", scopes: ["tickets:read"]}) {
                 key apiKey { id prefix scopes } } }""",
        )
    ).json()["data"]["createApiKey"]
    key = created["key"]

    await allowlist("{ me { id } }", "partner")  # partners run allowlisted operations only
    # Registered outside the serving app: it reloads its list at its next refresh; now.
    app.state.persisted_operations.allowlist.forget()

    async def as_partner(presented: str):  # type: ignore[no-untyped-def]
        # A Bearer key wins over the admin's cookie on the same client (no ambient
        # credentials are consulted once a key is presented).
        return await client.post(
            "/graphql",
            json={"query": "{ me { id } }"},
            headers={"Authorization": f"Bearer {presented}"},
        )

    ok = await as_partner(key)
    wrong = await as_partner(f"{key[:-2]}xx")
    await _gql(client, "mutation($id: ID!) { revokeApiKey(id: $id) }", id=created["apiKey"]["id"])
    revoked = await as_partner(key)

    assert key.startswith(f"odk_{created['apiKey']['prefix']}_")
    assert ok.status_code == 200
    assert ok.json()["data"]["me"] is None  # a partner is not a user
    assert wrong.status_code == 401
    assert revoked.status_code == 401


async def test_api_keys_need_an_admin_with_recent_mfa(
    app: OpenDeskApp,
    local: Identity,
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    agent = await user_with_password(local, Role.agent)
    await _gql(client, LOGIN, email=agent.email, password=PASSWORD)

    response = await _gql(
        client, 'mutation { createApiKey(input: {name: "x", scopes: ["tickets:read"]}) { key } }'
    )

    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_admin_reveal_over_http_is_audited(
    app: OpenDeskApp,
    local: Identity,
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    from audit.tables import AuditEvent
    from tests.factories import make_user

    customer = await make_user(Role.customer, email="over.http@example.com")
    admin = await user_with_password(local, Role.admin)
    first = await authentication.login(
        local, email=admin.email, password=PASSWORD, client_ip="10.1.1.2", user_agent="t"
    )
    enrolment = await mfa.enroll_totp(local, principal_for_session(first.record))
    totp = pyotp.TOTP(enrolment.secret)
    await mfa.confirm_totp(
        local,
        principal_for_session(first.record),
        totp.at(datetime.now(UTC) - timedelta(seconds=30)),
    )
    await _gql(client, LOGIN, email=admin.email, password=PASSWORD, totp=totp.now())

    revealed = await _gql(
        client,
        """mutation($id: ID!) { revealPersonalData(userId: $id, fields: ["email"],
             reason: "Calling back about their open ticket") { email phone } }""",
        id=str(customer.id),
    )

    assert revealed.json()["data"]["revealPersonalData"] == {
        "email": "over.http@example.com",
        "phone": None,
    }
    reveals = await AuditEvent.count().where(AuditEvent.event_type == "personal_data.revealed")
    assert reveals == 1
