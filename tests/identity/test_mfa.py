"""TOTP enrolment and use: codes work once, recovery codes work once, step-up."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from accounts.services import authentication, mfa
from accounts.services.authentication import MfaRequired
from accounts.services.identity import Identity
from accounts.services.second_factor import SecondFactorFailed
from accounts.tables import RecoveryCode, User
from api.identity import principal_for_session
from core.errors import BadUserInput, Forbidden
from permissions.roles import Role
from tests.identity.conftest import PASSWORD, user_with_password

_hosts = itertools.count(1)


async def _session(identity: Identity, email: str, **kw):  # type: ignore[no-untyped-def]
    # A fresh client address per sign-in: these tests are about the second factor, not
    # the (account, IP) login throttle that many attempts from one address would trip.
    client_ip = f"10.{next(_hosts) % 250}.{next(_hosts) % 250}.7"
    return await authentication.login(
        identity, email=email, password=PASSWORD, client_ip=client_ip, user_agent="t", **kw
    )


async def _enrolled(identity: Identity, role: Role = Role.customer):  # type: ignore[no-untyped-def]
    user = await user_with_password(identity, role)
    session = await _session(identity, user.email)
    principal = principal_for_session(session.record)
    enrolment = await mfa.enroll_totp(identity, principal)
    totp = pyotp.TOTP(enrolment.secret)
    # Confirm with the previous step's code so the login below can use the current one.
    previous = totp.at(datetime.now(UTC) - timedelta(seconds=30))
    codes = await mfa.confirm_totp(identity, principal, previous)
    return user, totp, codes


async def test_enrolment_returns_uri_and_confirmation_turns_mfa_on(identity: Identity) -> None:
    user, _totp, codes = await _enrolled(identity)

    row = await User.select().where(User.id == user.id).first()
    assert row["mfa_enabled"] is True
    assert row["totp_pending_sealed"] is None
    assert row["totp_secret_sealed"].startswith("v1.")
    assert len(codes) == 10
    assert len(set(codes)) == 10
    stored = await RecoveryCode.select(RecoveryCode.code_hash).where(RecoveryCode.user == user.id)
    assert all(entry["code_hash"].startswith("$argon2id$") for entry in stored)
    assert not {entry["code_hash"] for entry in stored} & set(codes)


async def test_login_then_needs_a_code(identity: Identity) -> None:
    user, totp, _codes = await _enrolled(identity)

    with pytest.raises(MfaRequired):
        await _session(identity, user.email)
    session = await _session(identity, user.email, totp=totp.now())

    assert session.record.mfa_at is not None


async def test_replayed_totp_code_is_refused(identity: Identity) -> None:
    user, totp, _codes = await _enrolled(identity)
    code = totp.now()
    await _session(identity, user.email, totp=code)

    with pytest.raises(SecondFactorFailed):
        await _session(identity, user.email, totp=code)


async def test_recovery_code_works_exactly_once(identity: Identity) -> None:
    user, _totp, codes = await _enrolled(identity)

    await _session(identity, user.email, recovery_code=codes[3].upper())
    with pytest.raises(SecondFactorFailed):
        await _session(identity, user.email, recovery_code=codes[3])


async def test_wrong_codes_bring_a_growing_delay(identity: Identity) -> None:
    from accounts.tables import AuthenticatorState

    user, _totp, _codes = await _enrolled(identity)
    free = identity.config.second_factor_free_failures
    for _ in range(free):
        with pytest.raises(SecondFactorFailed) as failed:
            await _session(identity, user.email, totp="000000")
        assert "retryAfter" not in failed.value.extensions

    with pytest.raises(SecondFactorFailed) as delayed:
        await _session(identity, user.email, totp="000000")
    # Wait the delay out (by moving the last failure back), fail once more: it doubles.
    await AuthenticatorState.update(
        {AuthenticatorState.updated_at: datetime.now(UTC) - timedelta(minutes=10)}
    ).where(AuthenticatorState.user == user.id)
    with pytest.raises(SecondFactorFailed):
        await _session(identity, user.email, totp="000000")
    with pytest.raises(SecondFactorFailed) as doubled:
        await _session(identity, user.email, totp="000000")

    first = identity.config.first_delay_seconds
    assert first - 2 <= delayed.value.extensions["retryAfter"] <= first
    assert first < doubled.value.extensions["retryAfter"] <= 2 * first


async def test_admin_gets_its_role_only_with_mfa(identity: Identity) -> None:
    admin, totp, _codes = await _enrolled(identity, Role.admin)

    session = await _session(identity, admin.email, totp=totp.now())

    assert session.record.role is Role.admin


async def test_admins_cannot_disable_mfa(identity: Identity) -> None:
    admin, totp, _codes = await _enrolled(identity, Role.admin)
    session = await _session(identity, admin.email, totp=totp.now())

    with pytest.raises(Forbidden):
        await mfa.disable_totp(
            identity, principal_for_session(session.record), PASSWORD, totp.now()
        )


async def test_disabling_mfa_needs_a_single_factor_strength_password(identity: Identity) -> None:
    from accounts.services.credentials import hash_new_password

    user, totp, _codes = await _enrolled(identity)
    session = await _session(identity, user.email, totp=totp.now())
    principal = principal_for_session(session.record)
    short = "Zq7!vR2#pL"  # allowed with MFA (>= 8), too short as the only factor (< 15)
    short_hash = await hash_new_password(
        short, hasher=identity.hasher, has_mfa=True, user_inputs=()
    )
    await User.update({User.password_hash: short_hash}).where(User.id == user.id)

    with pytest.raises(BadUserInput) as refused:
        await mfa.disable_totp(identity, principal, short, totp.now())

    assert refused.value.extensions["field"] == "password"
    row = await User.select(User.mfa_enabled).where(User.id == user.id).first()
    assert row["mfa_enabled"] is True


async def test_regenerating_recovery_codes_needs_recent_mfa(identity: Identity) -> None:
    from dataclasses import replace

    user, totp, old_codes = await _enrolled(identity)
    session = await _session(identity, user.email, totp=totp.now())
    fresh = principal_for_session(session.record)
    stale = replace(fresh, mfa_at=datetime.now(UTC) - timedelta(minutes=6))

    with pytest.raises(Forbidden):
        await mfa.regenerate_recovery_codes(identity, stale)
    new_codes = await mfa.regenerate_recovery_codes(identity, fresh)

    assert not set(new_codes) & set(old_codes)
    with pytest.raises(SecondFactorFailed):
        await _session(identity, user.email, recovery_code=old_codes[0])


async def test_sealed_secret_copied_to_another_user_does_not_decrypt(identity: Identity) -> None:
    from privacy.crypto import DecryptionError

    first, _t1, _c1 = await _enrolled(identity)
    second = await user_with_password(identity)
    sealed = (await User.select(User.totp_secret_sealed).where(User.id == first.id).first())[
        "totp_secret_sealed"
    ]
    await User.update({User.totp_secret_sealed: sealed, User.mfa_enabled: True}).where(
        User.id == second.id
    )

    with pytest.raises(DecryptionError):
        await _session(identity, second.email, totp="123456")


async def _events(user_id) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def,type-arg]
    from audit.tables import AuditEvent

    rows = await (
        AuditEvent.select(AuditEvent.event_type, AuditEvent.details)
        .where(AuditEvent.actor_id == user_id)
        .order_by(AuditEvent.id)
        .output(load_json=True)
    )
    return [(row["event_type"], row["details"]) for row in rows]


async def test_enabling_disabling_and_recovery_codes_are_security_events(
    identity: Identity,
) -> None:
    from audit.trail import verify_trail

    user, totp, codes = await _enrolled(identity)
    await _session(identity, user.email, recovery_code=codes[0])
    session = await _session(identity, user.email, totp=totp.now())
    await mfa.regenerate_recovery_codes(identity, principal_for_session(session.record))

    events = await _events(user.id)

    assert [event for event, _ in events] == [
        "mfa.enabled",
        "mfa.recovery_code_used",
        "mfa.recovery_codes_regenerated",
    ]
    assert events[1][1] == {"remaining": 9}
    assert not any(code in str(events) for code in codes)  # never the code itself
    assert (await verify_trail()).intact
