"""Consent through the API: the real schema and policy, then the real app over HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from accounts.services.marketing import MARKETING_PURPOSE
from api.app import OpenDeskApp, create_app
from api.settings import Settings
from permissions.principal import ANONYMOUS, Principal
from permissions.roles import Role
from privacy.consent import Channel, grant_consent
from privacy.consent_tables import ConsentRecord
from privacy.consent_texts import publish_text
from tests.edge_http.conftest import csrf_token, http_client, signed_in
from tests.factories import make_organisation, make_user, principal_of
from tests.graphql_client import execute
from tests.permissions.identity_world import issue_partner_key
from tests.persisted import allowlist

pytestmark = pytest.mark.usefixtures("db")

PURPOSES = "{ consentPurposes { purpose version text textSha256 publishedAt } }"
MINE = "{ myConsents { purpose status granted version currentVersion textSha256 method } }"
GRANT = """mutation($purpose: String!, $version: Int!, $sha: String!) {
  grantConsent(purpose: $purpose, version: $version, textSha256: $sha) {
    purpose status granted version textSha256 changedAt method } }"""
WITHDRAW = "mutation($purpose: String!) { withdrawConsent(purpose: $purpose) { status granted } }"
CONTACTS = """query($first: Int!, $after: String) {
  marketingContacts(first: $first, after: $after) {
  edges { cursor node { id displayName email } } pageInfo { hasNextPage endCursor } } }"""


def _codes(result: Any) -> list[tuple[str, str | None]]:
    return [(e.extensions.get("code"), e.extensions.get("field")) for e in result.errors or []]


async def test_a_user_reads_the_text_grants_with_its_hash_and_withdraws() -> None:
    await publish_text(MARKETING_PURPOSE, "Email me offers.", via="cli")
    await publish_text("product_research", "Invite me to research.", via="cli")
    me = principal_of(await make_user())

    purposes = (await execute(PURPOSES, me)).data["consentPurposes"]
    marketing = next(p for p in purposes if p["purpose"] == MARKETING_PURPOSE)
    # What a client does: hash the text exactly as served.
    shown_hash = hashlib.sha256(marketing["text"].encode()).hexdigest()
    assert shown_hash == marketing["textSha256"]
    variables = {"purpose": MARKETING_PURPOSE, "version": marketing["version"], "sha": shown_hash}
    granted = await execute(GRANT, me, variables)
    mine = await execute(MINE, me)
    withdrawn = await execute(WITHDRAW, me, {"purpose": MARKETING_PURPOSE})

    assert [p["purpose"] for p in purposes] == [MARKETING_PURPOSE, "product_research"]
    assert granted.errors is None
    assert granted.data["grantConsent"]["status"] == "granted"
    assert granted.data["grantConsent"]["method"] == "graphql"
    assert mine.data["myConsents"] == [
        {
            "purpose": MARKETING_PURPOSE,
            "status": "granted",
            "granted": True,
            "version": 1,
            "currentVersion": 1,
            "textSha256": shown_hash,
            "method": "graphql",
        },
        {
            "purpose": "product_research",
            "status": "not_given",
            "granted": False,
            "version": None,
            "currentVersion": 1,
            "textSha256": None,
            "method": None,
        },
    ]
    assert withdrawn.data["withdrawConsent"] == {"status": "withdrawn", "granted": False}
    assert await ConsentRecord.count() == 2


async def test_a_grant_with_a_wrong_hash_or_old_version_is_a_clear_bad_user_input() -> None:
    old = await publish_text(MARKETING_PURPOSE, "Email me offers.", via="cli")
    current = await publish_text(MARKETING_PURPOSE, "Email me offers and events.", via="cli")
    me = principal_of(await make_user())

    wrong_hash = await execute(
        GRANT, me, {"purpose": MARKETING_PURPOSE, "version": 2, "sha": old.text_sha256}
    )
    old_version = await execute(
        GRANT, me, {"purpose": MARKETING_PURPOSE, "version": 1, "sha": old.text_sha256}
    )
    not_a_hash = await execute(
        GRANT, me, {"purpose": MARKETING_PURPOSE, "version": 2, "sha": "x" * 500}
    )

    assert _codes(wrong_hash) == [("BAD_USER_INPUT", "textSha256")]
    assert _codes(old_version) == [("BAD_USER_INPUT", "version")]
    assert "show the current text and ask again" in old_version.errors[0].message
    assert _codes(not_a_hash) == [("BAD_USER_INPUT", "textSha256")]
    assert current.version == 2
    assert await ConsentRecord.count() == 0


@pytest.mark.parametrize(
    "principal",
    [ANONYMOUS, Principal(kind="partner", scopes=frozenset({"marketing:export"}))],
    ids=["anonymous", "partner"],
)
async def test_callers_who_are_not_signed_in_users_are_refused(principal: Principal) -> None:
    text = await publish_text(MARKETING_PURPOSE, "Email me offers.", via="cli")
    variables = {"purpose": MARKETING_PURPOSE, "version": 1, "sha": text.text_sha256}

    for document, values in (
        (PURPOSES, None),
        (MINE, None),
        (GRANT, variables),
        (WITHDRAW, {"purpose": MARKETING_PURPOSE}),
    ):
        result = await execute(document, principal, values)
        assert result.data is None or not any(result.data.values()), result
        assert ("FORBIDDEN", None) in _codes(result), result

    assert await ConsentRecord.count() == 0


# --- Over HTTP: the real app, its session cookie, CSRF and partner keys --------------


@pytest.fixture
def app(settings: Settings) -> OpenDeskApp:
    return create_app(settings)


@pytest.fixture
async def client(app: OpenDeskApp) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as test_client:
        yield test_client


async def test_a_browser_session_grants_consent_over_http(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    text = await publish_text(MARKETING_PURPOSE, "Email me offers.", via="cli")
    user = await signed_in(app, client)
    headers = {"x-csrf-token": await csrf_token(client)}
    variables = {"purpose": MARKETING_PURPOSE, "version": 1, "sha": text.text_sha256}

    response = await client.post(
        "/graphql", json={"query": GRANT, "variables": variables}, headers=headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["grantConsent"]["granted"] is True
    (record,) = await ConsentRecord.select()
    assert record["subject_id"] == user.id
    assert record["method"] == "graphql"
    assert record["request_id"]  # the request's id, for tracing the change


async def test_a_marketing_partner_gets_only_consenting_users_of_its_organisation(
    app: OpenDeskApp, client: httpx.AsyncClient
) -> None:
    text = await publish_text(MARKETING_PURPOSE, "Email me offers.", via="cli")
    acme, other = await make_organisation(), await make_organisation()
    consenting = await make_user(Role.customer, acme, email="opt-in@acme.example")
    await make_user(Role.customer, acme, email="silent@acme.example")
    outsider = await make_user(Role.customer, other, email="opt-in@other.example")
    for user in (consenting, outsider):
        await grant_consent(
            principal_of(user),
            purpose=MARKETING_PURPOSE,
            version=text.version,
            text_sha256=text.text_sha256,
            channel=Channel("graphql"),
        )
    marketing_key = await _partner_key(app, ["marketing:export"], acme.id)
    users_key = await _partner_key(app, ["users:read"], acme.id)

    async def as_partner(key: str, query: str, variables: dict[str, Any]) -> Any:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {key}"},
        )
        return response.json()

    # Partners run allowlisted operations only (api/persisted.py).
    await allowlist(CONTACTS, "partner")
    await allowlist(PURPOSES, "partner")
    exported = await as_partner(marketing_key, CONTACTS, {"first": 10})
    refused = await as_partner(users_key, CONTACTS, {"first": 10})
    no_consents = await as_partner(marketing_key, PURPOSES, {})

    assert exported.get("errors") is None, exported
    connection = exported["data"]["marketingContacts"]
    assert [edge["node"] for edge in connection["edges"]] == [
        {
            "id": str(consenting.id),
            "displayName": consenting.display_name,
            "email": "opt-in@acme.example",
        }
    ]
    assert connection["pageInfo"]["hasNextPage"] is False
    assert refused["data"] is None or refused["data"]["marketingContacts"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "opt-in@acme.example" not in str(refused)
    assert no_consents["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _partner_key(app: OpenDeskApp, scopes: list[str], organisation_id: Any) -> str:
    _record, key = await issue_partner_key(app.state.resources.identity, scopes, organisation_id)
    return key
