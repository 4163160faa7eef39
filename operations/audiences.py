"""Who may run a persisted operation: audiences, and the ones a principal belongs to.

An audience is a short token: ``anonymous``, ``role:<role>`` (signed-in users of that
role), ``partner`` (every partner key) or ``partner:<api key id>`` (one key).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from permissions.principal import Principal
from permissions.roles import Role

ANONYMOUS = "anonymous"
PARTNERS = "partner"
_ROLE_PREFIX = "role:"
_PARTNER_PREFIX = "partner:"


class AudienceError(ValueError):
    """An audience token that names nobody; the message says which and why."""


def role_audience(role: Role) -> str:
    return f"{_ROLE_PREFIX}{role.value}"


def parse_audience(token: str) -> str:
    """The canonical form of ``token``; raises AudienceError for anything else."""
    token = token.strip()
    if token in (ANONYMOUS, PARTNERS):
        return token
    if token.startswith(_ROLE_PREFIX):
        name = token.removeprefix(_ROLE_PREFIX)
        if name in Role.__members__:
            return role_audience(Role(name))
        known = ", ".join(role.value for role in Role)
        raise AudienceError(f"unknown role {name!r} in audience {token!r} (roles: {known})")
    if token.startswith(_PARTNER_PREFIX):
        try:
            return f"{_PARTNER_PREFIX}{uuid.UUID(token.removeprefix(_PARTNER_PREFIX))}"
        except ValueError:
            raise AudienceError(f"audience {token!r}: not an API key id") from None
    raise AudienceError(
        f"unknown audience {token!r}: use anonymous, role:<role>, partner or partner:<key id>"
    )


def parse_audiences(tokens: Iterable[str]) -> frozenset[str]:
    audiences = frozenset(parse_audience(token) for token in tokens)
    if not audiences:
        raise AudienceError("an operation needs at least one audience")
    return audiences


def audiences_of(principal: Principal) -> frozenset[str]:
    """The audiences whose operations ``principal`` may run."""
    if principal.kind == "partner":
        if principal.api_key_id is None:
            return frozenset({PARTNERS})
        return frozenset({PARTNERS, f"{_PARTNER_PREFIX}{principal.api_key_id}"})
    if principal.kind == "user" and principal.role is not None:
        return frozenset({role_audience(principal.role)})
    return frozenset({ANONYMOUS})
