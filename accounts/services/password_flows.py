"""Changing and resetting passwords. Both end every other session of the user."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from accounts.emails import normalise_email
from accounts.mailer import Message
from accounts.services import authenticators
from accounts.services.authenticators import Authenticator
from accounts.services.contact import user_id_for_email
from accounts.services.credentials import hash_new_password
from accounts.services.identity import Identity
from accounts.services.mfa import require_user
from accounts.services.sessions import revoke_all_sessions
from accounts.services.users import personal_words
from accounts.tables import PasswordResetToken, User
from accounts.tokens import new_token, token_digest
from core.errors import BadUserInput
from permissions.principal import Principal

INVALID_RESET_MESSAGE = "This reset link is invalid or has expired."
# Background deliveries keep a reference here so they are not garbage-collected mid-way.
_deliveries: set[asyncio.Task[None]] = set()


async def change_password(
    identity: Identity, principal: Principal, *, current: str, new: str, keep_digest: str | None
) -> None:
    """Needs the current password; the new one must pass the policy. Other sessions end."""
    user_id = require_user(principal)
    user = await User.select().where(User.id == user_id).first()
    if user is None:
        raise BadUserInput("The current password is not correct.", field="currentPassword")
    verified = await identity.hasher.verify(user["password_hash"] or "", current)
    if not verified.ok:
        await authenticators.record_failure(
            user_id, Authenticator.password, config=identity.config, now=identity.now()
        )
        raise BadUserInput("The current password is not correct.", field="currentPassword")
    await _store_new_password(identity, user, new, field="newPassword")
    await revoke_all_sessions(identity, user_id, keep_digest=keep_digest)


async def request_password_reset(identity: Identity, email: str) -> None:
    """Always succeeds from the caller's view: whether the email exists is never shown,
    and the delivery runs in the background so the response time does not tell either."""
    try:
        normalised = normalise_email(email)
    except BadUserInput:
        return
    task = asyncio.create_task(_issue_reset(identity, normalised))
    _deliveries.add(task)
    task.add_done_callback(_deliveries.discard)


async def _issue_reset(identity: Identity, email: str) -> None:
    user_id = await user_id_for_email(email)
    user = (
        await User.select(User.id, User.is_active).where(User.id == user_id).first()
        if user_id
        else None
    )
    if user is None or not user["is_active"]:
        return
    token = new_token("rst_")
    now = identity.now()
    # A new link replaces any earlier unused one.
    await PasswordResetToken.update({PasswordResetToken.used_at: now}).where(
        (PasswordResetToken.user == user["id"]) & PasswordResetToken.used_at.is_null()
    )
    await PasswordResetToken.insert(
        PasswordResetToken(
            id=uuid.uuid4(),
            user=user["id"],
            token_digest=token_digest(token),
            expires_at=now + timedelta(seconds=identity.config.reset_token_seconds),
            created_at=now,
        )
    )
    minutes = identity.config.reset_token_seconds // 60
    await identity.mailer.send(
        Message(
            to=email,
            subject="Reset your OpenDesk password",
            body=f"Use this link within {minutes} minutes: {identity.reset_link_base}{token}\n"
            "If you did not ask for it, ignore this message.",
        )
    )


async def reset_password(identity: Identity, *, token: str, new: str) -> None:
    """Spend a reset token (once, before expiry) to set a new password; ends all sessions
    and re-enables a password disabled by the failure cap."""
    if len(token) > 128:
        raise BadUserInput(INVALID_RESET_MESSAGE, field="token")
    now = identity.now()
    row = (
        await PasswordResetToken.select()
        .where(PasswordResetToken.token_digest == token_digest(token))
        .first()
    )
    if row is None or row["used_at"] is not None or row["expires_at"] <= now:
        raise BadUserInput(INVALID_RESET_MESSAGE, field="token")
    user = await User.select().where(User.id == row["user"]).first()
    if user is None:
        raise BadUserInput(INVALID_RESET_MESSAGE, field="token")
    password_hash = await _hash_for(identity, user, new, field="newPassword")
    spent = (
        await PasswordResetToken.update({PasswordResetToken.used_at: now})
        .where((PasswordResetToken.id == row["id"]) & PasswordResetToken.used_at.is_null())
        .returning(PasswordResetToken.id)
    )
    if not spent:  # a concurrent request spent it first
        raise BadUserInput(INVALID_RESET_MESSAGE, field="token")
    await User.update({User.password_hash: password_hash, User.updated_at: now}).where(
        User.id == user["id"]
    )
    await authenticators.reset(user["id"], Authenticator.password)
    await revoke_all_sessions(identity, user["id"], keep_digest=None)


async def _hash_for(identity: Identity, user: dict[str, Any], password: str, *, field: str) -> str:
    return await hash_new_password(
        password,
        hasher=identity.hasher,
        has_mfa=bool(user["mfa_enabled"]),
        user_inputs=await personal_words(user["id"]),
        policy=identity.config.password_policy,
        field=field,
    )


async def _store_new_password(
    identity: Identity, user: dict[str, Any], password: str, *, field: str
) -> None:
    password_hash = await _hash_for(identity, user, password, field=field)
    await User.update({User.password_hash: password_hash, User.updated_at: identity.now()}).where(
        User.id == user["id"]
    )
