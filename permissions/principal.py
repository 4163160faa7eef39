"""Who is asking. Built by the HTTP layer from a verified credential, never from input."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from permissions.roles import STAFF_ROLES, Role

PrincipalKind = Literal["anonymous", "user", "partner"]


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    user_id: uuid.UUID | None = None
    role: Role | None = None
    organisation_id: uuid.UUID | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    # How the principal authenticated: a browser session or a partner API key.
    session_id: str | None = None
    api_key_id: uuid.UUID | None = None
    authenticated_at: datetime | None = None
    mfa_at: datetime | None = None

    def has_recent_mfa(self, now: datetime, max_age_seconds: int) -> bool:
        """Step-up: MFA completed within ``max_age_seconds`` in this session."""
        return self.mfa_at is not None and (now - self.mfa_at).total_seconds() <= max_age_seconds

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"

    @property
    def is_staff(self) -> bool:
        """Agents and admins: they work tickets across organisations."""
        return self.kind == "user" and self.role in STAFF_ROLES

    @property
    def is_customer(self) -> bool:
        return self.kind == "user" and self.role is Role.customer


ANONYMOUS = Principal(kind="anonymous")


def user_principal(user_id: uuid.UUID, role: Role, organisation_id: uuid.UUID | None) -> Principal:
    return Principal(kind="user", user_id=user_id, role=role, organisation_id=organisation_id)
