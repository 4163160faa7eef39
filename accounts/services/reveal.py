"""Admin reveal of a user's personal data: full values, with a reason, always audited.

Admins otherwise see contact data masked (permissions/policy.py). A reveal needs a
recent second-factor check, is rate-limited by the caller, and writes an audit event
(who, whom, which fields, why) before any value is returned.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from accounts.services.identity import Identity
from accounts.services.mfa import require_recent_mfa
from accounts.services.users import get_user
from audit.trail import Actor, record_event
from core.errors import BadUserInput, Forbidden, NotFound
from core.text import clean_text
from permissions.principal import Principal
from permissions.roles import Role

REVEALABLE = ("email", "phone")
REASON_MIN, REASON_MAX = 10, 500


@dataclass(frozen=True, slots=True)
class Revealed:
    user_id: uuid.UUID
    email: str | None
    phone: str | None


async def reveal_personal_data(
    identity: Identity,
    principal: Principal,
    *,
    user_id: uuid.UUID,
    fields: Sequence[str],
    reason: str,
    client_ip: Any = None,
    request_id: str | None = None,
) -> Revealed:
    """Raises Forbidden (not an admin / no recent MFA), BadUserInput, NotFound."""
    admin_id = require_recent_mfa(identity, principal)
    if principal.role is not Role.admin:
        raise Forbidden()
    wanted = sorted(set(fields))
    if not wanted or any(field not in REVEALABLE for field in wanted):
        raise BadUserInput(f"Fields must be among: {', '.join(REVEALABLE)}.", field="fields")
    clean_reason = clean_text(
        reason, field="reason", min_length=REASON_MIN, max_length=REASON_MAX, multiline=True
    )
    user = await get_user(user_id)
    if user is None:
        raise NotFound()
    await record_event(
        "personal_data.revealed",
        actor=Actor("user", admin_id),
        client_ip=client_ip,
        request_id=request_id,
        target_type="user",
        target_id=str(user_id),
        details={"fields": wanted, "reason": clean_reason},
    )
    return Revealed(
        user_id=user_id,
        email=user.email if "email" in wanted else None,
        phone=user.phone if "phone" in wanted else None,
    )
