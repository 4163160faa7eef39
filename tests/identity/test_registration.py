"""Self-registration: closed by default, no existence oracle, policy applied."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from accounts.services import authentication, registration
from accounts.services.contact import user_id_for_email
from accounts.services.identity import Identity
from accounts.services.users import get_user
from core.errors import BadUserInput, Forbidden
from tests.identity.conftest import PASSWORD, user_with_password


def _open(identity: Identity) -> Identity:
    identity.config = replace(identity.config, registration_enabled=True)
    return identity


async def _register(identity: Identity, email: str, password: str = PASSWORD) -> None:
    await registration.register(
        identity,
        email=email,
        display_name="New Customer",
        organisation_name="New Co",
        password=password,
    )
    await asyncio.gather(*registration._registrations)


async def test_registration_is_closed_by_default(identity: Identity) -> None:
    with pytest.raises(Forbidden):
        await _register(identity, "new@example.com")

    assert await user_id_for_email("new@example.com") is None


async def test_new_customer_can_sign_in_in_its_own_organisation(identity: Identity) -> None:
    await _register(_open(identity), "New@Example.com")

    user = await get_user(await user_id_for_email("new@example.com"))
    session = await authentication.login(
        identity, email="new@example.com", password=PASSWORD, client_ip="10.9.9.9", user_agent="t"
    )

    assert user.role.value == "customer"
    assert user.organisation_id is not None
    assert session.record.user_id == user.id


async def test_taken_address_answers_the_same_and_mails_its_owner(identity: Identity) -> None:
    existing = await user_with_password(_open(identity), email="taken@example.com")

    await _register(identity, "taken@example.com", password="a different but long passphrase")

    assert await user_id_for_email("taken@example.com") == existing.id
    sent = identity.mailer.sent  # type: ignore[attr-defined]
    assert [message.to for message in sent] == ["taken@example.com"]
    assert "already uses this address" in sent[0].body


async def test_weak_password_is_refused_before_anything_is_written(identity: Identity) -> None:
    with pytest.raises(BadUserInput) as refused:
        await _register(_open(identity), "weak@example.com", password="password")

    assert refused.value.extensions["field"] == "password"
    assert await user_id_for_email("weak@example.com") is None
