"""Consent services (privacy/consent.py, privacy/consent_texts.py) over the real database."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from audit.tables import AuditEvent
from core.errors import BadUserInput, Forbidden, Unauthenticated
from permissions.principal import ANONYMOUS, Principal
from permissions.roles import Role
from privacy.consent import (
    Channel,
    ConsentStatus,
    consents_of,
    grant_consent,
    has_consent,
    withdraw_consent,
)
from privacy.consent_tables import ConsentRecord, ConsentText
from privacy.consent_texts import PurposeText, current_text, publish_text, text_sha256
from privacy.erasure import erase_subject
from tests.factories import make_user, principal_of

pytestmark = pytest.mark.usefixtures("db")

CHANNEL = Channel("graphql", request_id="req-consent-1", client_ip="198.51.100.7")
TEXT_V1 = "May we email you news and offers?"
TEXT_V2 = "May we email you news, offers and event invitations?"


async def _grant(principal: Principal, text: PurposeText) -> Any:
    return await grant_consent(
        principal,
        purpose=text.purpose,
        version=text.version,
        text_sha256=text.text_sha256,
        channel=CHANNEL,
    )


async def _records() -> list[dict[str, Any]]:
    return await ConsentRecord.select().order_by(ConsentRecord.id)


async def test_a_published_text_is_stored_normalised_with_the_hash_of_what_is_served() -> None:
    published = await publish_text("marketing_email", "  Cafe\u0301 news?\r\nYes.  ", via="cli")

    assert published.text == "Caf\u00e9 news?\nYes."
    assert published.version == 1
    assert published.text_sha256 == text_sha256(published.text)
    assert await current_text("marketing_email") == published


async def test_publishing_the_same_text_again_makes_no_new_version() -> None:
    first = await publish_text("marketing_email", TEXT_V1, via="seed")
    again = await publish_text("marketing_email", f"  {TEXT_V1}\n", via="seed")

    assert again == first
    assert await ConsentText.count() == 1


async def test_a_changed_text_is_the_next_version_and_earlier_texts_are_kept() -> None:
    first = await publish_text("marketing_email", TEXT_V1, via="cli")
    second = await publish_text("marketing_email", TEXT_V2, via="cli")

    assert (first.version, second.version) == (1, 2)
    assert await current_text("marketing_email") == second
    stored = await ConsentText.select(ConsentText.version, ConsentText.text).order_by(
        ConsentText.version
    )
    assert stored == [{"version": 1, "text": TEXT_V1}, {"version": 2, "text": TEXT_V2}]


async def test_concurrent_publishers_each_get_their_own_version() -> None:
    await publish_text("marketing_email", TEXT_V1, via="cli")

    published = await asyncio.gather(
        *(publish_text("marketing_email", f"Text number {n}", via="cli") for n in range(4))
    )

    assert sorted(text.version for text in published) == [2, 3, 4, 5]
    assert await ConsentText.count() == 5


@pytest.mark.parametrize(
    ("purpose", "text", "field"),
    [("Marketing Email", "text", "purpose"), ("marketing_email", "   ", "text")],
)
async def test_malformed_purpose_or_text_is_refused(purpose: str, text: str, field: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        await publish_text(purpose, text, via="cli")

    assert refused.value.extensions["field"] == field


async def test_a_grant_with_the_hash_of_another_text_is_refused_and_recorded_nowhere() -> None:
    text = await publish_text("marketing_email", TEXT_V1, via="cli")
    user = await make_user()

    with pytest.raises(BadUserInput) as refused:
        await grant_consent(
            principal_of(user),
            purpose="marketing_email",
            version=text.version,
            text_sha256=text_sha256(TEXT_V1 + " (edited by the client)"),
            channel=CHANNEL,
        )

    assert refused.value.extensions["field"] == "textSha256"
    assert "version 1 of marketing_email" in refused.value.message
    assert await _records() == []


async def test_a_grant_of_a_stale_version_is_refused_even_with_that_versions_hash() -> None:
    old = await publish_text("marketing_email", TEXT_V1, via="cli")
    await publish_text("marketing_email", TEXT_V2, via="cli")
    user = await make_user()

    with pytest.raises(BadUserInput) as refused:
        await _grant(principal_of(user), old)

    assert refused.value.extensions["field"] == "version"
    assert "(version 2)" in refused.value.message
    assert await _records() == []


@pytest.mark.parametrize("purpose", ["no_such_purpose", "x" * 65, "DROP TABLE"])
async def test_a_grant_for_an_unknown_purpose_is_refused(purpose: str) -> None:
    user = await make_user()

    with pytest.raises(BadUserInput) as refused:
        await grant_consent(
            principal_of(user), purpose=purpose, version=1, text_sha256="0" * 64, channel=CHANNEL
        )

    assert refused.value.extensions["field"] == "purpose"


async def test_a_grant_is_recorded_with_who_what_when_and_how_and_then_counts() -> None:
    text = await publish_text("marketing_email", TEXT_V1, via="cli")
    user, other = await make_user(), await make_user()

    state = await _grant(principal_of(user), text)

    assert state.status is ConsentStatus.granted
    (record,) = await _records()
    assert record["subject_id"] == user.id
    assert (record["purpose"], record["text_version"]) == ("marketing_email", 1)
    assert record["text_sha256"] == text.text_sha256
    assert (record["action"], record["method"]) == ("granted", "graphql")
    assert record["request_id"] == "req-consent-1"
    assert record["occurred_at"] is not None
    assert await has_consent([user.id, other.id], "marketing_email") == {user.id}
    assert await has_consent([user.id], "product_research") == set()


async def test_granting_the_version_already_granted_records_nothing_new() -> None:
    text = await publish_text("marketing_email", TEXT_V1, via="cli")
    user = await make_user()

    await _grant(principal_of(user), text)
    again = await _grant(principal_of(user), text)

    assert again.status is ConsentStatus.granted
    assert len(await _records()) == 1


async def test_a_new_text_version_suspends_consent_until_granted_again() -> None:
    first = await publish_text("marketing_email", TEXT_V1, via="cli")
    user = await make_user()
    await _grant(principal_of(user), first)

    second = await publish_text("marketing_email", TEXT_V2, via="cli")

    (state,) = await consents_of(principal_of(user))
    assert state.status is ConsentStatus.outdated
    assert (state.version, state.current_version) == (1, 2)
    assert await has_consent([user.id], "marketing_email") == set()

    renewed = await _grant(principal_of(user), second)

    assert renewed.status is ConsentStatus.granted
    assert await has_consent([user.id], "marketing_email") == {user.id}


async def test_withdrawal_ends_consent_and_is_recorded_once() -> None:
    text = await publish_text("marketing_email", TEXT_V1, via="cli")
    user = await make_user()
    await _grant(principal_of(user), text)

    withdrawn = await withdraw_consent(
        principal_of(user), purpose="marketing_email", channel=CHANNEL
    )
    again = await withdraw_consent(principal_of(user), purpose="marketing_email", channel=CHANNEL)

    assert withdrawn.status is again.status is ConsentStatus.withdrawn
    assert await has_consent([user.id], "marketing_email") == set()
    actions = [(r["action"], r["text_version"]) for r in await _records()]
    assert actions == [("granted", 1), ("withdrawn", 1)]


async def test_withdrawing_without_a_grant_records_nothing() -> None:
    await publish_text("marketing_email", TEXT_V1, via="cli")
    user = await make_user()

    state = await withdraw_consent(principal_of(user), purpose="marketing_email", channel=CHANNEL)

    assert state.status is ConsentStatus.not_given
    assert await _records() == []


async def test_an_outdated_grant_can_be_withdrawn() -> None:
    first = await publish_text("marketing_email", TEXT_V1, via="cli")
    user = await make_user()
    await _grant(principal_of(user), first)
    await publish_text("marketing_email", TEXT_V2, via="cli")

    state = await withdraw_consent(principal_of(user), purpose="marketing_email", channel=CHANNEL)

    assert state.status is ConsentStatus.withdrawn
    assert (await _records())[-1]["text_version"] == 1


async def test_history_only_grows_and_earlier_records_never_change() -> None:
    first = await publish_text("marketing_email", TEXT_V1, via="cli")
    user = await make_user()
    principal = principal_of(user)
    seen: list[dict[str, Any]] = []

    async def step(change: Any) -> None:
        await change
        records = await _records()
        assert records[: len(seen)] == seen  # nothing earlier was updated or deleted
        seen[:] = records

    await step(_grant(principal, first))
    await step(withdraw_consent(principal, purpose="marketing_email", channel=CHANNEL))
    await step(_grant(principal, first))
    second = await publish_text("marketing_email", TEXT_V2, via="cli")
    await step(_grant(principal, second))
    await step(withdraw_consent(principal, purpose="marketing_email", channel=CHANNEL))

    assert [(r["action"], r["text_version"]) for r in seen] == [
        ("granted", 1),
        ("withdrawn", 1),
        ("granted", 1),
        ("granted", 2),
        ("withdrawn", 2),
    ]


async def test_my_consents_lists_every_published_purpose_for_the_caller_only() -> None:
    marketing = await publish_text("marketing_email", TEXT_V1, via="cli")
    await publish_text("product_research", "May we invite you to research?", via="cli")
    user, other = await make_user(), await make_user()
    await _grant(principal_of(other), marketing)

    states = await consents_of(principal_of(user))

    assert [(s.purpose, s.status) for s in states] == [
        ("marketing_email", ConsentStatus.not_given),
        ("product_research", ConsentStatus.not_given),
    ]


async def test_each_change_is_audited_with_ids_purpose_and_version_only() -> None:
    text = await publish_text("marketing_email", TEXT_V1, via="cli")
    user = await make_user(email="audited-consenter@example.com", display_name="Audited Person")
    await _grant(principal_of(user), text)
    await withdraw_consent(principal_of(user), purpose="marketing_email", channel=CHANNEL)

    events = await AuditEvent.select().order_by(AuditEvent.id)

    kinds = [e["event_type"] for e in events]
    assert kinds[-2:] == ["consent.granted", "consent.withdrawn"]
    granted = events[-2]
    assert granted["actor_id"] == user.id
    assert granted["request_id"] == "req-consent-1"
    assert granted["client_network"] == "198.51.100.0/24"
    assert "audited-consenter" not in str(events)
    assert "Audited Person" not in str(events)


@pytest.mark.parametrize(
    ("principal", "error"),
    [
        (ANONYMOUS, Unauthenticated),
        (Principal(kind="partner", scopes=frozenset({"marketing:export"})), Unauthenticated),
        # A user who must still enrol MFA may do only that.
        (Principal(kind="user", user_id=uuid.uuid4(), role=None), Forbidden),
    ],
)
async def test_only_signed_in_users_with_a_role_have_consents(
    principal: Principal, error: type[Exception]
) -> None:
    text = await publish_text("marketing_email", TEXT_V1, via="cli")

    with pytest.raises(error):
        await _grant(principal, text)
    with pytest.raises(error):
        await withdraw_consent(principal, purpose="marketing_email", channel=CHANNEL)
    with pytest.raises(error):
        await consents_of(principal)
    assert await _records() == []


async def test_erasure_deletes_the_subjects_records_and_no_one_elses() -> None:
    text = await publish_text("marketing_email", TEXT_V1, via="cli")
    erased, kept = await make_user(), await make_user(Role.agent)
    await _grant(principal_of(erased), text)
    await withdraw_consent(principal_of(erased), purpose="marketing_email", channel=CHANNEL)
    await _grant(principal_of(kept), text)

    report = await erase_subject(erased.id, pseudonym="Erased user test")

    assert report.rows_per_step["consent_records.subject_id"] == 2

    assert [r["subject_id"] for r in await _records()] == [kept.id]
    assert await has_consent([erased.id, kept.id], "marketing_email") == {kept.id}
