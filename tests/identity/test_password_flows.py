"""Password change and reset: current password required, single-use tokens, no oracle."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from accounts.services import authentication, password_flows
from accounts.services.authentication import LoginFailed
from accounts.services.identity import Identity
from accounts.tables import PasswordResetToken
from api.identity import principal_for_session
from core.errors import BadUserInput
from tests.identity.conftest import PASSWORD, user_with_password

NEW_PASSWORD = "an entirely different long passphrase"


async def _login(identity: Identity, email: str, password: str = PASSWORD, ip: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return await authentication.login(
        identity, email=email, password=password, client_ip=ip, user_agent="t"
    )


async def _reset_token(identity: Identity, email: str) -> str:
    await password_flows.request_password_reset(identity, email)
    await asyncio.gather(*password_flows._deliveries)
    body = identity.mailer.sent[-1].body  # type: ignore[attr-defined]
    match = re.search(r"#token=(\S+)", body)
    assert match is not None
    return match.group(1)


async def test_change_password_needs_the_current_one_and_ends_other_sessions(
    identity: Identity,
) -> None:
    user = await user_with_password(identity)
    here = await _login(identity, user.email, ip="10.0.0.1")
    elsewhere = await _login(identity, user.email, ip="10.0.0.2")
    principal = principal_for_session(here.record)
    from accounts.tokens import token_digest

    with pytest.raises(BadUserInput):
        await password_flows.change_password(
            identity, principal, current="not the password", new=NEW_PASSWORD, keep_digest=None
        )
    await password_flows.change_password(
        identity,
        principal,
        current=PASSWORD,
        new=NEW_PASSWORD,
        keep_digest=token_digest(here.token),
    )

    assert await authentication.resolve_session(identity, here.token) is not None
    assert await authentication.resolve_session(identity, elsewhere.token) is None
    with pytest.raises(LoginFailed):
        await _login(identity, user.email, PASSWORD, ip="10.0.0.3")
    await _login(identity, user.email, NEW_PASSWORD, ip="10.0.0.4")


async def test_new_password_is_checked_against_the_policy_without_echo(identity: Identity) -> None:
    user = await user_with_password(identity)
    session = await _login(identity, user.email)

    with pytest.raises(BadUserInput) as refused:
        await password_flows.change_password(
            identity,
            principal_for_session(session.record),
            current=PASSWORD,
            new="password123456789",
            keep_digest=None,
        )

    assert refused.value.extensions["field"] == "newPassword"
    assert "password123456789" not in refused.value.message


async def test_reset_token_is_stored_hashed_and_works_once(identity: Identity) -> None:
    user = await user_with_password(identity)
    old_session = await _login(identity, user.email)
    token = await _reset_token(identity, user.email)

    stored = await PasswordResetToken.select().first()
    assert token not in str(stored)
    await password_flows.reset_password(identity, token=token, new=NEW_PASSWORD)
    with pytest.raises(BadUserInput):
        await password_flows.reset_password(identity, token=token, new=NEW_PASSWORD + " again")

    assert await authentication.resolve_session(identity, old_session.token) is None
    await _login(identity, user.email, NEW_PASSWORD, ip="10.0.0.9")


async def test_expired_reset_token_is_refused(identity: Identity) -> None:
    user = await user_with_password(identity)
    token = await _reset_token(identity, user.email)
    await PasswordResetToken.update(
        {PasswordResetToken.expires_at: identity.now() - timedelta(seconds=1)}
    ).where(PasswordResetToken.user == user.id)

    with pytest.raises(BadUserInput):
        await password_flows.reset_password(identity, token=token, new=NEW_PASSWORD)


async def test_reset_request_for_unknown_email_looks_the_same_and_sends_nothing(
    identity: Identity,
) -> None:
    await user_with_password(identity)

    result = await password_flows.request_password_reset(identity, "nobody@example.com")
    await asyncio.gather(*password_flows._deliveries)

    assert result is None
    assert identity.mailer.sent == []  # type: ignore[attr-defined]


async def test_a_new_reset_link_replaces_the_previous_one(identity: Identity) -> None:
    user = await user_with_password(identity)
    first = await _reset_token(identity, user.email)
    second = await _reset_token(identity, user.email)

    with pytest.raises(BadUserInput):
        await password_flows.reset_password(identity, token=first, new=NEW_PASSWORD)
    await password_flows.reset_password(identity, token=second, new=NEW_PASSWORD)
