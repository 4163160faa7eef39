"""Identity tunables, built from Settings by the HTTP layer and passed in."""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.lockout import LockoutConfig
from accounts.password_policy import PasswordPolicyConfig
from permissions.roles import Role


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    session_idle_seconds: int = 30 * 60
    session_lifetime_seconds: int = 12 * 60 * 60
    # Keycloak's default maximum authentication age for step-up.
    step_up_max_age_seconds: int = 5 * 60
    mfa_required_roles: frozenset[Role] = frozenset({Role.admin, Role.auditor})
    registration_enabled: bool = False
    reset_token_seconds: int = 30 * 60
    totp_issuer: str = "OpenDesk"
    # Second factors: progressive delay after this many consecutive failures.
    second_factor_free_failures: int = 3
    first_delay_seconds: int = 30
    max_delay_seconds: int = 60 * 60
    # NIST SP 800-63B rev. 4: at most 100 consecutive failures, then the authenticator
    # is disabled until the account is recovered.
    hard_failure_cap: int = 100
    api_key_rotation_overlap_seconds: int = 24 * 60 * 60
    erasure_grace_days: int = 14
    lockout: LockoutConfig = field(default_factory=LockoutConfig)
    password_policy: PasswordPolicyConfig = field(default_factory=PasswordPolicyConfig)
