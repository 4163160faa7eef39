"""Signing in: same answer for every failure, lockout per (account, IP) first, sessions."""

from __future__ import annotations

import asyncio

import pytest

from accounts.services import authentication
from accounts.services.authentication import LOGIN_FAILED_MESSAGE, LoginFailed
from accounts.services.identity import Identity
from accounts.tables import AuthenticatorState, User
from accounts.tokens import token_digest
from permissions.roles import Role
from tests.identity.conftest import PASSWORD, user_with_password

STRANGER_IP = "203.0.113.66"
VICTIM_IP = "198.51.100.7"


async def _login(identity: Identity, email: str, password: str, ip: str = VICTIM_IP, **kw):  # type: ignore[no-untyped-def]
    return await authentication.login(
        identity, email=email, password=password, client_ip=ip, user_agent="pytest", **kw
    )


async def test_correct_password_starts_a_session_keyed_by_token_digest(identity: Identity) -> None:
    user = await user_with_password(identity)

    session = await _login(identity, user.email, PASSWORD)

    assert session.record.user_id == user.id
    assert session.record.client_network == "198.51.100.0/24"
    assert await identity.sessions.get(token_digest(session.token)) == session.record
    assert await identity.sessions.get(session.token) is None  # the raw token is no key


async def test_unknown_email_wrong_password_and_locked_give_the_same_answer(
    identity: Identity,
) -> None:
    user = await user_with_password(identity)
    answers = []
    for email, password in ((user.email, "wrong password here"), ("nobody@example.com", PASSWORD)):
        with pytest.raises(LoginFailed) as failed:
            await _login(identity, email, password)
        answers.append((failed.value.code, failed.value.message))

    assert answers == [("UNAUTHENTICATED", LOGIN_FAILED_MESSAGE)] * 2


async def test_stranger_is_locked_while_victim_signs_in_from_elsewhere(identity: Identity) -> None:
    user = await user_with_password(identity)
    threshold = identity.config.lockout.pair_threshold
    retry_afters = []
    for _ in range(threshold + 3):
        with pytest.raises(LoginFailed) as failed:
            await _login(identity, user.email, "guess " * 4, ip=STRANGER_IP)
        retry_afters.append(failed.value.extensions.get("retryAfter", 0))

    # Even the right password is refused from the locked (account, IP) pair...
    with pytest.raises(LoginFailed):
        await _login(identity, user.email, PASSWORD, ip=STRANGER_IP)
    # ...while the victim, from its own network, signs in.
    session = await _login(identity, user.email, PASSWORD, ip=VICTIM_IP)

    assert retry_afters[:threshold] == [0] * threshold
    assert all(
        wait >= identity.config.lockout.first_wait_seconds for wait in retry_afters[threshold:]
    )
    assert session.record.user_id == user.id


async def test_unknown_accounts_lock_exactly_like_known_ones(identity: Identity) -> None:
    threshold = identity.config.lockout.pair_threshold
    locked = []
    for _ in range(threshold + 1):
        with pytest.raises(LoginFailed) as failed:
            await _login(identity, "ghost@example.com", "nope nope nope", ip=STRANGER_IP)
        locked.append("retryAfter" in failed.value.extensions)

    assert locked == [False] * threshold + [True]


async def test_parallel_guesses_never_verify_more_than_the_threshold(identity: Identity) -> None:
    user = await user_with_password(identity)
    threshold = identity.config.lockout.pair_threshold

    results = await asyncio.gather(
        *(_login(identity, user.email, f"guess {n} " * 3, ip=STRANGER_IP) for n in range(60)),
        return_exceptions=True,
    )

    assert all(isinstance(result, LoginFailed) for result in results)
    state = await AuthenticatorState.select().where(AuthenticatorState.user == user.id).first()
    assert state["consecutive_failures"] == threshold


async def test_success_resets_the_pair_counter(identity: Identity) -> None:
    user = await user_with_password(identity)
    threshold = identity.config.lockout.pair_threshold
    for _round in range(3):
        for _ in range(threshold - 1):
            with pytest.raises(LoginFailed):
                await _login(identity, user.email, "not it at all", ip=STRANGER_IP)
        await _login(identity, user.email, PASSWORD, ip=STRANGER_IP)


async def test_hard_cap_disables_the_password_until_recovery(identity: Identity) -> None:
    from dataclasses import replace

    identity.config = replace(identity.config, hard_failure_cap=3)
    user = await user_with_password(identity)
    for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        with pytest.raises(LoginFailed):
            await _login(identity, user.email, "wrong wrong wrong", ip=ip)

    with pytest.raises(LoginFailed):
        await _login(identity, user.email, PASSWORD, ip="192.0.2.9")

    state = await AuthenticatorState.select().where(AuthenticatorState.user == user.id).first()
    assert state["disabled_at"] is not None


async def test_presented_session_dies_at_login(identity: Identity) -> None:
    user = await user_with_password(identity)
    before = await _login(identity, user.email, PASSWORD)

    after = await _login(identity, user.email, PASSWORD, previous_token=before.token)

    assert await authentication.resolve_session(identity, before.token) is None
    assert await authentication.resolve_session(identity, after.token) is not None
    assert after.token != before.token


async def test_outdated_hash_is_rehashed_at_login(identity: Identity) -> None:
    from accounts.passwords import Argon2Config, PasswordHasher

    user = await user_with_password(identity)
    old = await User.select(User.password_hash).where(User.id == user.id).first()
    identity.hasher = PasswordHasher(Argon2Config(time_cost=2, memory_cost=1024, parallelism=1))

    await _login(identity, user.email, PASSWORD)

    new = await User.select(User.password_hash).where(User.id == user.id).first()
    assert new["password_hash"] != old["password_hash"]
    assert "t=2" in new["password_hash"]


async def test_idle_session_expires(identity: Identity) -> None:
    from dataclasses import replace
    from datetime import timedelta

    user = await user_with_password(identity)
    session = await _login(identity, user.email, PASSWORD)
    stale = replace(
        session.record,
        last_seen_at=session.record.last_seen_at
        - timedelta(seconds=identity.config.session_idle_seconds + 1),
    )
    await identity.sessions.put(token_digest(session.token), stale, 3600)

    assert await authentication.resolve_session(identity, session.token) is None
    assert await identity.sessions.get(token_digest(session.token)) is None


async def test_admin_without_mfa_gets_no_role_until_enrolled(identity: Identity) -> None:
    admin = await user_with_password(identity, Role.admin)

    session = await _login(identity, admin.email, PASSWORD)

    assert session.record.role is None


async def test_successful_logins_from_one_office_address_never_lock_it(
    identity: Identity,
) -> None:
    from dataclasses import replace

    from accounts.lockout import LockoutConfig

    identity.config = replace(identity.config, lockout=LockoutConfig(ip_threshold=5))
    identity.throttle.config = identity.config.lockout
    colleagues = [await user_with_password(identity) for _ in range(8)]

    for colleague in colleagues:
        await _login(identity, colleague.email, PASSWORD, ip="192.0.2.200")

    # Failures still count towards the address: credential stuffing from it is stopped.
    for colleague in colleagues[:5]:
        with pytest.raises(LoginFailed):
            await _login(identity, colleague.email, "wrong wrong wrong", ip="192.0.2.200")
    with pytest.raises(LoginFailed) as locked:
        await _login(identity, colleagues[5].email, "wrong again wrong", ip="192.0.2.200")
    assert "retryAfter" in locked.value.extensions
