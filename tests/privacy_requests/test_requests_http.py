"""Data subject requests over HTTP: export, single-use download, erasure with grace."""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from accounts.services.identity import Identity
from accounts.tables import User
from api.app import OpenDeskApp, create_app
from api.identity_setup import build_identity
from api.keys import load_app_keyring
from api.privacy_runner import run_once
from api.settings import Settings
from permissions.roles import Role
from privacy.request_tables import DataRequest
from tests.csrf_helpers import with_csrf
from tests.factories import make_user
from tests.identity.conftest import PASSWORD, user_with_password

pytestmark = pytest.mark.usefixtures("db")

LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { sessionExpiresAt } }"
EXPORT = "mutation { exportMyData { id status kind dueAt overdue } }"
REQUESTS = "{ dataRequests { id kind status overdue subjectId } }"
LINK = "mutation($id: ID!) { createExportDownloadLink(id: $id) { url expiresInSeconds } }"
ERASE = "mutation($p: String!) { requestErasure(password: $p) { id status notBefore } }"
CANCEL = "mutation($id: ID!) { cancelErasure(id: $id) { id status } }"


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"redis_prefix": f"t{secrets.token_hex(6)}"})


@pytest.fixture
async def app(app_settings: Settings) -> OpenDeskApp:
    return create_app(app_settings)


@pytest.fixture
async def local(app: OpenDeskApp, app_settings: Settings) -> AsyncIterator[Identity]:
    if app_settings.redis_url is None:
        yield app.state.resources.identity
        return
    redis = Redis.from_url(app_settings.redis_url)
    yield build_identity(app_settings, redis, load_app_keyring(app_settings))
    await redis.aclose()


async def _client(app: OpenDeskApp) -> AsyncTestClient:  # type: ignore[type-arg]
    client = AsyncTestClient(app=app)
    await client.__aenter__()
    return await with_csrf(client)


async def _gql(client, query: str, **variables):  # type: ignore[no-untyped-def]
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


async def _signed_in(app: OpenDeskApp, local: Identity, role: Role = Role.customer):  # type: ignore[no-untyped-def]
    user = await user_with_password(local, role)
    client = await _client(app)
    answer = await _gql(client, LOGIN, e=user.email, p=PASSWORD)
    assert "errors" not in answer, answer
    return user, client


async def test_export_then_a_single_use_download_for_the_subject_only(
    app: OpenDeskApp, local: Identity, app_settings: Settings
) -> None:
    other = await user_with_password(local)
    user, client = await _signed_in(app, local)
    try:
        answer = await _gql(client, EXPORT)
        assert "errors" not in answer, answer
        started = answer["data"]["exportMyData"]
        assert started["status"] == "pending"
        assert started["kind"] == "export"
        assert started["overdue"] is False
        again = (await _gql(client, EXPORT))["data"]["exportMyData"]
        assert again["id"] == started["id"]  # one export at a time

        assert await run_once(local, app_settings.exports_dir) == 1
        listed = (await _gql(client, REQUESTS))["data"]["dataRequests"]
        assert [(r["id"], r["status"]) for r in listed] == [(started["id"], "ready")]
        link = (await _gql(client, LINK, id=started["id"]))["data"]["createExportDownloadLink"]
        assert link["url"].startswith("/privacy/downloads/")

        # Someone else sees no request, gets no link, and cannot use (or spend) this one.
        await _gql(client, "mutation { logout }")
        await _gql(client, LOGIN, e=other.email, p=PASSWORD)
        assert (await _gql(client, REQUESTS))["data"]["dataRequests"] == []
        refused = await _gql(client, LINK, id=started["id"])
        assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert (await client.get(link["url"])).status_code == 404
        await _gql(client, "mutation { logout }")
        await _gql(client, LOGIN, e=user.email, p=PASSWORD)

        download = await client.get(link["url"])
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"
        assert "attachment" in download.headers["content-disposition"]
        assert download.headers["cache-control"] == "no-store"
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            data = json.loads(archive.read("data.json"))
        assert data["subject_id"] == str(user.id)
        assert user.email in json.dumps(data)
        assert other.email not in json.dumps(data)

        assert (await client.get(link["url"])).status_code == 404  # single use
    finally:
        await client.__aexit__(None, None, None)


async def test_download_links_expire(
    app: OpenDeskApp, local: Identity, app_settings: Settings
) -> None:
    _user, client = await _signed_in(app, local)
    try:
        started = (await _gql(client, EXPORT))["data"]["exportMyData"]
        await run_once(local, app_settings.exports_dir)
        link = (await _gql(client, LINK, id=started["id"]))["data"]["createExportDownloadLink"]
        await DataRequest.update(
            {DataRequest.download_expires_at: datetime.now(UTC) - timedelta(seconds=1)}
        ).where(DataRequest.id == started["id"])
        assert (await client.get(link["url"])).status_code == 404
        assert (await client.get("/privacy/downloads/not-a-token")).status_code == 404
    finally:
        await client.__aexit__(None, None, None)


async def test_an_anonymous_caller_can_ask_for_nothing(app: OpenDeskApp) -> None:
    client = await _client(app)
    try:
        for document in (EXPORT, REQUESTS):
            answer = await _gql(client, document)
            assert answer["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "UNAUTHENTICATED"}
        assert (await client.get("/privacy/downloads/abc")).status_code == 401
    finally:
        await client.__aexit__(None, None, None)


async def test_erasure_needs_the_password_waits_and_can_be_cancelled(
    app: OpenDeskApp, local: Identity, app_settings: Settings
) -> None:
    user, client = await _signed_in(app, local)
    try:
        wrong = await _gql(client, ERASE, p="not my password at all, sorry")
        assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert wrong["errors"][0]["extensions"]["field"] == "password"

        requested = (await _gql(client, ERASE, p=PASSWORD))["data"]["requestErasure"]
        assert requested["status"] == "waiting"
        not_before = datetime.fromisoformat(requested["notBefore"])
        assert not_before - datetime.now(UTC) > timedelta(days=13)

        assert await run_once(local, app_settings.exports_dir) == 0  # grace period
        cancelled = (await _gql(client, CANCEL, id=requested["id"]))["data"]["cancelErasure"]
        assert cancelled["status"] == "cancelled"
        again = await _gql(client, CANCEL, id=requested["id"])
        assert again["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        row = await User.select(User.is_active).where(User.id == user.id).first()
        assert row is not None
        assert row["is_active"]
    finally:
        await client.__aexit__(None, None, None)


async def test_erasure_after_the_grace_period_ends_the_session(
    app: OpenDeskApp, local: Identity, app_settings: Settings
) -> None:
    user, client = await _signed_in(app, local)
    try:
        requested = (await _gql(client, ERASE, p=PASSWORD))["data"]["requestErasure"]
        await DataRequest.update(
            {DataRequest.not_before: datetime.now(UTC) - timedelta(seconds=1)}
        ).where(DataRequest.id == requested["id"])

        assert await run_once(local, app_settings.exports_dir) == 1

        me = await _gql(client, "{ me { id } }")
        assert me["data"]["me"] is None
        relogin = await _gql(client, LOGIN, e=user.email, p=PASSWORD)
        assert relogin["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    finally:
        await client.__aexit__(None, None, None)


async def test_admins_see_every_request_with_its_deadline(
    app: OpenDeskApp, local: Identity
) -> None:
    customer = await make_user(Role.customer)
    from privacy import requests
    from privacy.request_tables import RequestKind

    await requests.create_request(
        RequestKind.export,
        subject_id=customer.id,
        requested_by=customer.id,
        now=datetime.now(UTC) - timedelta(days=31),
    )
    _agent, agent_client = await _signed_in(app, local, Role.agent)
    try:
        assert (await _gql(agent_client, REQUESTS))["data"]["dataRequests"] == []
    finally:
        await agent_client.__aexit__(None, None, None)
    from accounts.services.data_requests import data_requests
    from tests.factories import principal_of

    admin = await make_user(Role.admin)
    signed_in = replace(principal_of(admin), session_id="s1")
    (overdue,) = await data_requests(signed_in, limit=10)
    assert overdue.subject_id == customer.id
    assert overdue.overdue(datetime.now(UTC))
