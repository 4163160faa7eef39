"""Enrolling, confirming and disabling TOTP; recovery codes shown once, stored hashed."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from accounts import secret_seal
from accounts.password_policy import check_password
from accounts.recovery_codes import generate_recovery_codes
from accounts.services import second_factor
from accounts.services.identity import Identity
from accounts.services.users import get_user, personal_words
from accounts.tables import RecoveryCode, User
from accounts.totp import new_secret, provisioning_uri, verify_totp
from audit.trail import Actor, record_event
from core.errors import BadUserInput, Forbidden, Unauthenticated
from permissions.principal import Principal
from permissions.roles import Role


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    secret: str
    otpauth_uri: str


def require_user(principal: Principal) -> uuid.UUID:
    if principal.kind != "user" or principal.user_id is None or principal.session_id is None:
        raise Unauthenticated("Sign in first.")
    return principal.user_id


def require_recent_mfa(identity: Identity, principal: Principal) -> uuid.UUID:
    """Step-up for sensitive actions: MFA within the last few minutes of this session."""
    user_id = require_user(principal)
    if not principal.has_recent_mfa(identity.now(), identity.config.step_up_max_age_seconds):
        raise Forbidden("This action needs a recent second-factor check. Sign in again with it.")
    return user_id


async def _user(user_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = await User.select().where(User.id == user_id).first()
    if row is None:
        raise Unauthenticated("Sign in first.")
    return row


async def enroll_totp(identity: Identity, principal: Principal) -> TotpEnrolment:
    """A new pending secret (shown once); MFA turns on only after ``confirm_totp``."""
    user = await _user(require_user(principal))
    if user["mfa_enabled"]:
        raise BadUserInput("Two-factor authentication is already on.")
    secret = new_secret()
    sealed = await secret_seal.seal(secret, user_id=user["id"], column=User.totp_pending_sealed)
    await User.update({User.totp_pending_sealed: sealed}).where(User.id == user["id"])
    record = await get_user(user["id"])
    account_name = (record.email if record else None) or user["display_name"]
    uri = provisioning_uri(secret, account_name, identity.config.totp_issuer)
    return TotpEnrolment(secret=secret, otpauth_uri=uri)


async def confirm_totp(identity: Identity, principal: Principal, code: str) -> list[str]:
    """Activate the pending secret with a valid code; returns 10 recovery codes (once)."""
    user = await _user(require_user(principal))
    sealed = user["totp_pending_sealed"]
    if user["mfa_enabled"] or not sealed:
        raise BadUserInput("Start enrolment first.", field="code")
    secret = await secret_seal.unseal(
        sealed, keyring=identity.keyring, user_id=user["id"], column=User.totp_pending_sealed
    )
    step = verify_totp(secret, code, last_used_step=None, now=identity.now())
    if step is None:
        raise BadUserInput("The code was not accepted.", field="code")
    active = await secret_seal.seal(secret, user_id=user["id"], column=User.totp_secret_sealed)
    plain, hashed = await generate_recovery_codes(identity.recovery_hasher)
    async with User._meta.db.transaction():
        await User.update(
            {
                User.totp_secret_sealed: active,
                User.totp_pending_sealed: None,
                User.totp_last_step: step,
                User.mfa_enabled: True,
                User.updated_at: identity.now(),
            }
        ).where(User.id == user["id"])
        await _replace_recovery_codes(user["id"], hashed)
    await _security_event("mfa.enabled", user["id"])
    return plain


async def disable_totp(identity: Identity, principal: Principal, password: str, code: str) -> None:
    """Turn MFA off: needs the current password, which must meet the single-factor rule
    (MFA is what allowed a shorter one), and a valid code. Not for roles that need MFA."""
    user = await _user(require_user(principal))
    if not user["mfa_enabled"]:
        raise BadUserInput("Two-factor authentication is not on.")
    if Role(user["role"]) in identity.config.mfa_required_roles:
        raise Forbidden("Your role requires two-factor authentication.")
    verified = await identity.hasher.verify(user["password_hash"] or "", password)
    if not verified.ok:
        raise BadUserInput("The password is not correct.", field="password")
    violations = await asyncio.to_thread(
        check_password,
        password,
        has_mfa=False,
        user_inputs=await personal_words(user["id"]),
        config=identity.config.password_policy,
    )
    if violations:
        raise BadUserInput(
            "Your password is too short or weak to be the only factor; change it first.",
            field="password",
        )
    await second_factor.verify(identity, user, totp=code, recovery_code=None)
    async with User._meta.db.transaction():
        await User.update(
            {
                User.totp_secret_sealed: None,
                User.totp_pending_sealed: None,
                User.totp_last_step: None,
                User.mfa_enabled: False,
            }
        ).where(User.id == user["id"])
        await RecoveryCode.delete().where(RecoveryCode.user == user["id"])
    await _security_event("mfa.disabled", user["id"])


async def regenerate_recovery_codes(identity: Identity, principal: Principal) -> list[str]:
    """New codes replace every old one; needs a recent second-factor check."""
    user_id = require_recent_mfa(identity, principal)
    plain, hashed = await generate_recovery_codes(identity.recovery_hasher)
    async with User._meta.db.transaction():
        await _replace_recovery_codes(user_id, hashed)
    await _security_event("mfa.recovery_codes_regenerated", user_id)
    return plain


async def _security_event(event_type: str, user_id: uuid.UUID) -> None:
    await record_event(
        event_type, actor=Actor("user", user_id), target_type="user", target_id=str(user_id)
    )


async def _replace_recovery_codes(user_id: uuid.UUID, hashed: list[str]) -> None:
    await RecoveryCode.delete().where(RecoveryCode.user == user_id)
    now = datetime.now(UTC)
    await RecoveryCode.insert(
        *(
            RecoveryCode(id=uuid.uuid4(), user=user_id, code_hash=code_hash, created_at=now)
            for code_hash in hashed
        )
    )
