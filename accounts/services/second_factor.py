"""Checking a second factor at sign-in or step-up: TOTP (each code once) or a recovery
code (single use). Failures count per authenticator with a progressive delay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounts import secret_seal
from accounts.recovery_codes import find_matching_code
from accounts.services import authenticators
from accounts.services.authenticators import Authenticator
from accounts.services.identity import Identity
from accounts.tables import RecoveryCode, User
from accounts.totp import verify_totp
from audit.trail import Actor, record_event
from core.errors import ExpectedError


class SecondFactorFailed(ExpectedError):
    code = "UNAUTHENTICATED"

    def __init__(self, retry_after: int = 0) -> None:
        message = "The code was not accepted."
        if retry_after:
            super().__init__(message, retryAfter=retry_after)
        else:
            super().__init__(message)


async def verify(
    identity: Identity,
    user: dict[str, Any],
    *,
    totp: str | None,
    recovery_code: str | None,
) -> Authenticator:
    """Accept one second factor for ``user`` (a row with id, totp_secret_sealed,
    totp_last_step) or raise SecondFactorFailed. Returns which one was used."""
    now = identity.now()
    authenticator = Authenticator.totp if totp else Authenticator.recovery_code
    state = await authenticators.check(user["id"], authenticator, config=identity.config, now=now)
    if state.disabled or state.retry_after:
        raise SecondFactorFailed(state.retry_after)
    accepted = (
        await _spend_totp(identity, user, totp, now)
        if totp
        else await _spend_recovery_code(identity, user, recovery_code or "", now)
    )
    if not accepted:
        await authenticators.record_failure(
            user["id"], authenticator, config=identity.config, now=now
        )
        raise SecondFactorFailed()
    await authenticators.reset(user["id"], authenticator)
    if authenticator is Authenticator.recovery_code:
        # A security event: a recovery code in use may mean a lost (or stolen) device.
        remaining = await RecoveryCode.count().where(
            (RecoveryCode.user == user["id"]) & RecoveryCode.used_at.is_null()
        )
        await record_event(
            "mfa.recovery_code_used",
            actor=Actor("user", user["id"]),
            target_type="user",
            target_id=str(user["id"]),
            details={"remaining": remaining},
        )
    return authenticator


async def _spend_totp(identity: Identity, user: dict[str, Any], code: str, now: datetime) -> bool:
    sealed = user.get("totp_secret_sealed")
    if not sealed:
        return False
    secret = await secret_seal.unseal(
        sealed, keyring=identity.keyring, user_id=user["id"], column=User.totp_secret_sealed
    )
    step = verify_totp(secret, code, last_used_step=user.get("totp_last_step"), now=now)
    if step is None:
        return False
    changes: dict[Any, Any] = {User.totp_last_step: step}
    fresh = await secret_seal.resealed_if_legacy(
        secret, sealed, user_id=user["id"], column=User.totp_secret_sealed
    )
    if fresh is not None:  # still under the old purpose key: moved to the data key now
        changes[User.totp_secret_sealed] = fresh
    # Compare-and-set: of two requests spending the same code, only one updates the row.
    updated = (
        await User.update(changes)
        .where(
            (User.id == user["id"])
            & ((User.totp_last_step.is_null()) | (User.totp_last_step < step))
        )
        .returning(User.id)
    )
    return bool(updated)


async def _spend_recovery_code(
    identity: Identity, user: dict[str, Any], code: str, now: datetime
) -> bool:
    rows = await RecoveryCode.select(RecoveryCode.id, RecoveryCode.code_hash).where(
        (RecoveryCode.user == user["id"]) & RecoveryCode.used_at.is_null()
    )
    index = await find_matching_code(
        code, [row["code_hash"] for row in rows], hasher=identity.recovery_hasher
    )
    if index is None:
        return False
    used = (
        await RecoveryCode.update({RecoveryCode.used_at: now})
        .where((RecoveryCode.id == rows[index]["id"]) & RecoveryCode.used_at.is_null())
        .returning(RecoveryCode.id)
    )
    return bool(used)
