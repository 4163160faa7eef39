"""Signing in and out, and resolving a session cookie back to its session.

Unknown email, wrong password and locked account give the same error and spend the same
argon2 work (a dummy verify), so the answer reveals nothing about which it was. When the
hashing queue is full the answer is ``RATE_LIMITED`` (HashingBusy) for all of them alike,
and the attempt is given back: nothing was checked, so nothing counts towards a lockout.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from accounts.emails import normalise_email
from accounts.lockout import LoginAttempt
from accounts.passwords import HashingBusy
from accounts.services import authenticators, second_factor
from accounts.services.authenticators import Authenticator
from accounts.services.contact import email_lookup_candidates
from accounts.services.identity import Identity
from accounts.sessions import SessionRecord
from accounts.tables import User
from accounts.tokens import new_token, token_digest
from core.errors import BadUserInput, ExpectedError
from permissions.roles import Role
from privacy.masking import mask_ip

LOGIN_FAILED_MESSAGE = "Sign-in failed. Check your details, or try again later."
_TOUCH_EVERY_SECONDS = 60
_USER_AGENT_MAX = 200


class LoginFailed(ExpectedError):
    code = "UNAUTHENTICATED"

    def __init__(self, retry_after: int = 0) -> None:
        if retry_after:
            super().__init__(LOGIN_FAILED_MESSAGE, retryAfter=retry_after)
        else:
            super().__init__(LOGIN_FAILED_MESSAGE)


class MfaRequired(ExpectedError):
    """The password was right; a TOTP code or a recovery code is needed too."""

    code = "MFA_REQUIRED"

    def __init__(self) -> None:
        super().__init__("Enter the code from your authenticator app, or a recovery code.")


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str  # goes into the cookie, nowhere else
    record: SessionRecord


def _account_key(email: str) -> str:
    try:
        return normalise_email(email)
    except BadUserInput:
        return email.strip().casefold()[:320]


async def login(
    identity: Identity,
    *,
    email: str,
    password: str,
    client_ip: str,
    user_agent: str,
    totp: str | None = None,
    recovery_code: str | None = None,
    previous_token: str | None = None,
) -> NewSession:
    """A new session for valid credentials; raises LoginFailed / MfaRequired otherwise,
    or HashingBusy (``RATE_LIMITED``) when no password could be checked now.

    Any session presented with the request is destroyed (no fixation).
    """
    if previous_token:
        await identity.sessions.delete(token_digest(previous_token))
    account = _account_key(email)
    attempt = await identity.throttle.reserve(account, client_ip)
    try:
        user, mfa_at = await _check_credentials(
            identity,
            account,
            attempt,
            password=password,
            totp=totp,
            recovery_code=recovery_code,
        )
    except HashingBusy:
        if attempt.allowed:
            await identity.throttle.withdrawn(account, client_ip)
        raise
    await identity.throttle.succeeded(account, client_ip)
    return await start_session(
        identity,
        user_id=user["id"],
        role=Role(user["role"]),
        organisation_id=user["organisation"],
        mfa_at=mfa_at,
        client_ip=client_ip,
        user_agent=user_agent,
    )


async def _check_credentials(
    identity: Identity,
    account: str,
    attempt: LoginAttempt,
    *,
    password: str,
    totp: str | None,
    recovery_code: str | None,
) -> tuple[dict[str, Any], datetime | None]:
    """The user row and the time of its second factor (None without MFA)."""
    user = await _user_for_login(account) if attempt.allowed else None
    now = identity.now()
    if user is None or not user["password_hash"]:
        try:
            await identity.hasher.verify_dummy(password)
        except HashingBusy:
            if attempt.allowed:
                raise
            # Refused by the lockout anyway: say so now, with its wait.
        raise LoginFailed(attempt.retry_after)
    state = await authenticators.check(
        user["id"], Authenticator.password, config=identity.config, now=now
    )
    verified = await identity.hasher.verify(user["password_hash"], password)
    if state.disabled or not verified.ok or not user["is_active"]:
        if not verified.ok:
            await authenticators.record_failure(
                user["id"], Authenticator.password, config=identity.config, now=now
            )
        raise LoginFailed()
    if verified.needs_rehash:
        # Best effort: when the queue is full the upgrade waits for the next sign-in.
        with contextlib.suppress(HashingBusy):
            new_hash = await identity.hasher.hash(password)
            await User.update({User.password_hash: new_hash}).where(User.id == user["id"])
    await authenticators.reset(user["id"], Authenticator.password)
    mfa_at = None
    if user["mfa_enabled"]:
        if not totp and not recovery_code:
            raise MfaRequired()
        await second_factor.verify(identity, user, totp=totp, recovery_code=recovery_code)
        mfa_at = now
    return user, mfa_at


async def _user_for_login(email: str) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await User.select(
            User.id,
            User.role,
            User.organisation,
            User.password_hash,
            User.is_active,
            User.mfa_enabled,
            User.totp_secret_sealed,
            User.totp_last_step,
        )
        .where(User.email_lookup.is_in(email_lookup_candidates(email)))
        .first()
    )
    return row


async def start_session(
    identity: Identity,
    *,
    user_id: uuid.UUID,
    role: Role,
    organisation_id: uuid.UUID | None,
    mfa_at: Any,
    client_ip: str,
    user_agent: str,
    authenticated_at: Any = None,
) -> NewSession:
    """Store a new session; roles that require MFA get no role until it is enrolled."""
    now = identity.now()
    effective_role: Role | None = role
    if role in identity.config.mfa_required_roles and mfa_at is None:
        effective_role = None
    token = new_token("ods_")
    record = SessionRecord(
        public_id=secrets.token_urlsafe(12),
        user_id=user_id,
        role=effective_role,
        organisation_id=organisation_id,
        created_at=now,
        last_seen_at=now,
        authenticated_at=authenticated_at or now,
        mfa_at=mfa_at,
        client_network=mask_ip(client_ip),
        user_agent=user_agent[:_USER_AGENT_MAX],
    )
    await identity.sessions.put(
        token_digest(token), record, identity.config.session_lifetime_seconds
    )
    return NewSession(token=token, record=record)


async def resolve_session(identity: Identity, token: str) -> SessionRecord | None:
    """The live session for a cookie token, or None (expired sessions are deleted)."""
    if len(token) > 128:
        return None
    digest = token_digest(token)
    record = await identity.sessions.get(digest)
    if record is None:
        return None
    now = identity.now()
    config = identity.config
    idle = (now - record.last_seen_at).total_seconds()
    age = (now - record.created_at).total_seconds()
    if idle > config.session_idle_seconds or age > config.session_lifetime_seconds:
        await identity.sessions.delete(digest)
        return None
    if idle > _TOUCH_EVERY_SECONDS:
        record = replace(record, last_seen_at=now)
        remaining = int(config.session_lifetime_seconds - age)
        await identity.sessions.put(digest, record, remaining)
    return record


async def logout(identity: Identity, token: str) -> None:
    await identity.sessions.delete(token_digest(token))


async def rotate_session(
    identity: Identity, token: str, *, mfa_at: Any = None, role: Role | None = None
) -> NewSession | None:
    """Privilege change: replace the session under a new token (the old one dies)."""
    current = await resolve_session(identity, token)
    if current is None:
        return None
    await identity.sessions.delete(token_digest(token))
    new_token_value = new_token("ods_")
    record = replace(
        current,
        public_id=secrets.token_urlsafe(12),
        mfa_at=mfa_at or current.mfa_at,
        role=role if role is not None else current.role,
    )
    remaining = identity.config.session_lifetime_seconds - int(
        (identity.now() - current.created_at).total_seconds()
    )
    await identity.sessions.put(token_digest(new_token_value), record, max(remaining, 1))
    return NewSession(token=new_token_value, record=record)
