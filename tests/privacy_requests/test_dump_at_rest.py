"""A raw database dump (pg_dump / SQLite's iterdump) right after seeding holds no email,
phone or TOTP secret in plaintext: only their envelopes."""

from __future__ import annotations

import pyotp
import pytest

from accounts.services import mfa
from accounts.services.identity import Identity
from accounts.tables import User
from api.settings import Settings
from permissions.principal import Principal
from permissions.roles import Role
from tests.privacy_requests.dump import database_dump
from tests.privacy_requests.seed import seed_subject

pytestmark = pytest.mark.usefixtures("db")


async def test_contact_data_and_totp_secrets_are_ciphertext_in_a_dump(
    identity: Identity, settings: Settings
) -> None:
    subjects = [await seed_subject(identity) for _ in range(3)]
    # One enrolled and confirmed (active secret), one enrolled only (pending secret).
    active_principal, pending_principal = (
        Principal(kind="user", user_id=subject.user_id, role=Role.agent, session_id="s")
        for subject in subjects[:2]
    )
    active = await mfa.enroll_totp(identity, active_principal)
    await mfa.confirm_totp(identity, active_principal, pyotp.TOTP(active.secret).now())
    pending = await mfa.enroll_totp(identity, pending_principal)

    dump = await database_dump(settings.database_url)

    for subject in subjects:
        assert subject.marker in dump  # the dump is real: clear values are there
        assert subject.email not in dump
        assert subject.phone not in dump
    for secret in (active.secret, pending.secret):
        assert secret not in dump
    sealed = await User.select(User.email, User.totp_secret_sealed).where(
        User.id == subjects[0].user_id
    )
    assert sealed[0]["email"].startswith("v1.")
    assert sealed[0]["totp_secret_sealed"].startswith("v1.")
    assert sealed[0]["email"] in dump
