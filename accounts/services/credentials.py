"""Setting a password: the policy decides, then the one hasher hashes.

Every path that stores a password (CLI, seeding, registration, change, reset) goes
through :func:`hash_new_password`, so none can skip the policy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from accounts.password_policy import PasswordPolicyConfig, check_password
from accounts.passwords import PasswordHasher
from core.errors import BadUserInput


async def hash_new_password(
    password: str,
    *,
    hasher: PasswordHasher,
    has_mfa: bool,
    user_inputs: Sequence[str],
    policy: PasswordPolicyConfig | None = None,
    field: str = "password",
) -> str:
    """Check ``password`` against the policy, then hash it.

    Raises BadUserInput naming ``field`` with every reason, never echoing the password.
    """
    # zxcvbn and the common-password lookup are CPU work: keep them off the event loop.
    violations = await asyncio.to_thread(
        check_password,
        password,
        has_mfa=has_mfa,
        user_inputs=user_inputs,
        config=policy or PasswordPolicyConfig(),
    )
    if violations:
        reasons = " ".join(violation.message for violation in violations)
        raise BadUserInput(reasons, field=field)
    return await hasher.hash(password)
