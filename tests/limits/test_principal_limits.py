"""Per-user and per-API-key request limits, applied once the principal is known."""

from __future__ import annotations

import ipaddress
import uuid

import pytest

from api.limits import (
    LimitClass,
    PrincipalRateLimited,
    enforce_principal_limit,
    principal_limit_key,
)
from api.limits.middleware import DECISIONS_STATE_KEY
from permissions.principal import ANONYMOUS, Principal
from permissions.roles import Role
from tests.limits.conftest import LimiterFactory

CLIENT = ipaddress.ip_address("198.51.100.20")


def user() -> Principal:
    return Principal(kind="user", user_id=uuid.uuid4(), role=Role.agent)


def partner() -> Principal:
    return Principal(kind="partner", user_id=uuid.uuid4(), api_key_id=uuid.uuid4())


def test_users_count_per_user_and_partners_per_api_key() -> None:
    person, key = user(), partner()

    assert principal_limit_key(person) == (LimitClass.USER, str(person.user_id))
    assert principal_limit_key(key) == (LimitClass.API_KEY, str(key.api_key_id))
    assert principal_limit_key(ANONYMOUS) is None


@pytest.mark.parametrize("make_principal", [user, partner])
async def test_a_principal_over_its_limit_is_refused(
    make_limiter: LimiterFactory, make_principal: object
) -> None:
    limiter = make_limiter()
    principal = make_principal()  # type: ignore[operator]
    scope: dict[str, object] = {}

    for _ in range(3):
        await enforce_principal_limit(limiter, principal, CLIENT, scope)
    with pytest.raises(PrincipalRateLimited) as refused:
        await enforce_principal_limit(limiter, principal, CLIENT, scope)

    assert refused.value.decision.retry_after >= 1
    decisions = scope["state"][DECISIONS_STATE_KEY]  # type: ignore[index]
    assert [d.allowed for d in decisions] == [True, True, True, False]


async def test_allowlisted_clients_skip_principal_limits(make_limiter: LimiterFactory) -> None:
    limiter = make_limiter(allowlist=("198.51.100.0/24",))
    principal = user()

    for _ in range(10):
        await enforce_principal_limit(limiter, principal, CLIENT, {})
