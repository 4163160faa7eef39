"""Processing that needs a consent: the partners' marketing export (marketing:export)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from accounts.records import OrganisationRecord, UserRecord
from accounts.services.api_keys import create_api_key
from accounts.services.identity import Identity
from accounts.services.marketing import MARKETING_PURPOSE, marketing_contacts
from accounts.tables import User
from core.errors import BadUserInput, Forbidden
from permissions.principal import Principal
from permissions.roles import Role
from privacy.consent import Channel, grant_consent, withdraw_consent
from privacy.consent_texts import PurposeText, publish_text
from privacy.subject_keys import destroy_data_key
from tests.factories import make_organisation, make_user, principal_of
from tests.permissions.identity_world import open_identity, principal_of_session, sign_in

pytestmark = pytest.mark.usefixtures("db")

CHANNEL = Channel("graphql")


def partner(organisation: OrganisationRecord | None, *scopes: str) -> Principal:
    return Principal(
        kind="partner",
        organisation_id=organisation.id if organisation else None,
        scopes=frozenset(scopes or {"marketing:export"}),
        api_key_id=uuid.uuid4(),
    )


async def _consent(user: UserRecord, text: PurposeText) -> None:
    await grant_consent(
        principal_of(user),
        purpose=text.purpose,
        version=text.version,
        text_sha256=text.text_sha256,
        channel=CHANNEL,
    )


async def _emails(principal: Principal, first: int = 50) -> list[str]:
    page = await marketing_contacts(principal, first=first, max_page_size=100)
    return [contact.email for contact in page.contacts]


async def test_only_currently_consenting_users_of_the_partners_organisation_are_listed() -> None:
    text = await publish_text(MARKETING_PURPOSE, "Email me offers.", via="cli")
    research = await publish_text("product_research", "Invite me to research.", via="cli")
    acme, other = await make_organisation(), await make_organisation()
    yes = await make_user(Role.customer, acme, email="yes@acme.example")
    never = await make_user(Role.customer, acme, email="never@acme.example")
    withdrew = await make_user(Role.customer, acme, email="withdrew@acme.example")
    research_only = await make_user(Role.customer, acme, email="research@acme.example")
    elsewhere = await make_user(Role.customer, other, email="elsewhere@other.example")
    for user in (yes, withdrew, elsewhere):
        await _consent(user, text)
    await _consent(research_only, research)
    await withdraw_consent(principal_of(withdrew), purpose=MARKETING_PURPOSE, channel=CHANNEL)

    page = await marketing_contacts(partner(acme), first=10, max_page_size=100)

    assert [(c.id, c.display_name, c.email) for c in page.contacts] == [
        (yes.id, yes.display_name, "yes@acme.example")
    ]
    assert never.email not in str(page)
    assert await _emails(partner(other)) == ["elsewhere@other.example"]


async def test_a_new_text_version_drops_everyone_until_they_consent_again() -> None:
    first = await publish_text(MARKETING_PURPOSE, "Email me offers.", via="cli")
    acme = await make_organisation()
    user = await make_user(Role.customer, acme, email="renew@acme.example")
    await _consent(user, first)

    second = await publish_text(MARKETING_PURPOSE, "Email me offers and events.", via="cli")

    assert await _emails(partner(acme)) == []
    await _consent(user, second)
    assert await _emails(partner(acme)) == ["renew@acme.example"]


async def test_pages_follow_each_other_without_gaps_or_repeats() -> None:
    text = await publish_text(MARKETING_PURPOSE, "Email me offers.", via="cli")
    acme = await make_organisation()
    users = [await make_user(Role.customer, acme) for _ in range(5)]
    for user in users:
        await _consent(user, text)

    seen: list[uuid.UUID] = []
    after = None
    while True:
        page = await marketing_contacts(partner(acme), first=2, max_page_size=100, after=after)
        seen += [contact.id for contact in page.contacts]
        if not page.has_next_page:
            break
        after = page.end_cursor

    assert seen == sorted(user.id for user in users)


async def test_erased_and_deactivated_users_are_left_out() -> None:
    text = await publish_text(MARKETING_PURPOSE, "Email me offers.", via="cli")
    acme = await make_organisation()
    erased, inactive, kept = [await make_user(Role.customer, acme) for _ in range(3)]
    for user in (erased, inactive, kept):
        await _consent(user, text)
    await destroy_data_key(erased.id)
    await User.update({User.is_active: False}).where(User.id == inactive.id)

    assert await _emails(partner(acme)) == [kept.email]


@pytest.mark.parametrize(
    "principal",
    [
        partner(None, "users:read", "tickets:read"),
        Principal(kind="anonymous"),
        Principal(kind="user", user_id=uuid.uuid4(), role=Role.admin),
    ],
)
async def test_callers_without_the_marketing_scope_are_refused(principal: Principal) -> None:
    await publish_text(MARKETING_PURPOSE, "Email me offers.", via="cli")

    with pytest.raises(Forbidden):
        await marketing_contacts(principal, first=10, max_page_size=100)


async def test_a_key_without_an_organisation_exports_nothing() -> None:
    text = await publish_text(MARKETING_PURPOSE, "Email me offers.", via="cli")
    await _consent(await make_user(Role.customer), text)

    assert await _emails(partner(None)) == []


async def test_a_malformed_cursor_is_bad_user_input() -> None:
    with pytest.raises(BadUserInput) as refused:
        await marketing_contacts(
            partner(None), first=1, max_page_size=100, after="bm90LWEtY3Vyc29y"
        )

    assert refused.value.extensions["field"] == "after"


async def test_marketing_keys_must_name_an_organisation(settings: object) -> None:
    async with open_identity(settings) as identity:  # type: ignore[arg-type]
        admin = principal_of_session(await sign_in(identity, await make_user(Role.admin)))

        with pytest.raises(BadUserInput) as refused:
            await _create_key(identity, admin, None)
        assert refused.value.extensions["field"] == "input.organisationId"

        organisation = await make_organisation()
        record, _key = await _create_key(identity, admin, organisation.id)
        assert record.scopes == ("marketing:export",)


async def _create_key(identity: Identity, admin: Principal, organisation_id: uuid.UUID | None):  # type: ignore[no-untyped-def]
    return await create_api_key(
        identity,
        admin,
        name="Marketing partner",
        scopes=["marketing:export"],
        organisation_id=organisation_id,
        expires_at=identity.now() + timedelta(days=30),
        allowed_networks=[],
    )
