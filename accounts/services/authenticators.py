"""Consecutive-failure state per (user, authenticator), with NIST's hard cap.

The state lives in the database: a cache flush must not reset the cap. Second factors
(TOTP, recovery codes) also get a progressive delay; the password's delay is handled per
(account, IP) by the login throttle instead, so strangers cannot slow a victim down.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from accounts.identity_config import IdentityConfig
from accounts.tables import AuthenticatorState


class Authenticator(StrEnum):
    password = "password"  # noqa: S105 - the authenticator's name, not a secret
    totp = "totp"
    recovery_code = "recovery"


@dataclass(frozen=True, slots=True)
class AuthenticatorCheck:
    disabled: bool
    retry_after: int


async def _state(user_id: uuid.UUID, authenticator: Authenticator) -> dict[str, object] | None:
    row: dict[str, object] | None = (
        await AuthenticatorState.select()
        .where(
            AuthenticatorState.user == user_id,
            AuthenticatorState.authenticator == authenticator.value,
        )
        .first()
    )
    return row


async def check(
    user_id: uuid.UUID, authenticator: Authenticator, *, config: IdentityConfig, now: datetime
) -> AuthenticatorCheck:
    """Whether the authenticator may be tried now (disabled at the cap; delayed for
    second factors after a few failures)."""
    row = await _state(user_id, authenticator)
    if row is None:
        return AuthenticatorCheck(disabled=False, retry_after=0)
    if row["disabled_at"] is not None:
        return AuthenticatorCheck(disabled=True, retry_after=0)
    failures = int(row["consecutive_failures"])  # type: ignore[call-overload]
    if authenticator is Authenticator.password or failures < config.second_factor_free_failures:
        return AuthenticatorCheck(disabled=False, retry_after=0)
    exponent = failures - config.second_factor_free_failures
    delay = min(config.first_delay_seconds * 2**exponent, config.max_delay_seconds)
    updated_at: datetime = row["updated_at"]  # type: ignore[assignment]
    remaining = delay - int((now - updated_at).total_seconds())
    return AuthenticatorCheck(disabled=False, retry_after=max(remaining, 0))


async def record_failure(
    user_id: uuid.UUID, authenticator: Authenticator, *, config: IdentityConfig, now: datetime
) -> int:
    """Add one failure (atomically in the database); disables at the hard cap."""
    # One row per (user, authenticator): a deterministic id makes concurrent first
    # failures collide on the primary key instead of creating two rows.
    await AuthenticatorState.insert(
        AuthenticatorState(
            id=uuid.uuid5(user_id, authenticator.value),
            user=user_id,
            authenticator=authenticator.value,
            consecutive_failures=0,
            updated_at=now,
        )
    ).on_conflict(action="DO NOTHING")
    where = (AuthenticatorState.user == user_id) & (
        AuthenticatorState.authenticator == authenticator.value
    )
    await AuthenticatorState.update(
        {
            AuthenticatorState.consecutive_failures: AuthenticatorState.consecutive_failures + 1,
            AuthenticatorState.updated_at: now,
        }
    ).where(where)
    row = await _state(user_id, authenticator)
    failures = int(row["consecutive_failures"]) if row else 0  # type: ignore[call-overload]
    if failures >= config.hard_failure_cap:
        await AuthenticatorState.update({AuthenticatorState.disabled_at: now}).where(
            where & AuthenticatorState.disabled_at.is_null()
        )
    return failures


async def reset(user_id: uuid.UUID, *authenticators: Authenticator) -> None:
    """A success (or an account recovery) clears the count and re-enables."""
    for authenticator in authenticators:
        await AuthenticatorState.update(
            {AuthenticatorState.consecutive_failures: 0, AuthenticatorState.disabled_at: None}
        ).where(
            (AuthenticatorState.user == user_id)
            & (AuthenticatorState.authenticator == authenticator.value)
        )
