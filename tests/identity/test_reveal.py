"""Admins reveal contact data only with recent MFA and a reason, and every reveal is audited."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from accounts.services import authentication
from accounts.services.reveal import reveal_personal_data
from accounts.services.users import set_phone
from api.identity import principal_for_session
from audit.tables import AuditEvent
from audit.trail import verify_trail
from core.errors import BadUserInput, Forbidden
from permissions.roles import Role
from tests.factories import make_user
from tests.identity.conftest import user_with_password

REASON = "Customer asked us to call back about ticket 42"


async def _admin_principal(identity, role: Role = Role.admin):  # type: ignore[no-untyped-def]
    admin = await user_with_password(identity, role)
    session = await authentication.start_session(
        identity,
        user_id=admin.id,
        role=role,
        organisation_id=None,
        mfa_at=datetime.now(UTC),
        client_ip="10.0.0.1",
        user_agent="t",
    )
    return admin, principal_for_session(session.record)


async def test_reveal_returns_full_values_and_writes_an_audit_event(identity) -> None:  # type: ignore[no-untyped-def]
    customer = await make_user(Role.customer, email="reveal.me@example.com")
    await set_phone(customer.id, "+44 20 7946 0999")
    admin, principal = await _admin_principal(identity)

    revealed = await reveal_personal_data(
        identity, principal, user_id=customer.id, fields=["email", "phone"], reason=REASON
    )

    assert (revealed.email, revealed.phone) == ("reveal.me@example.com", "+44 20 7946 0999")
    event = await AuditEvent.select().first()
    assert event["event_type"] == "personal_data.revealed"
    assert event["actor_id"] == admin.id
    assert event["target_id"] == str(customer.id)
    assert "reveal.me" not in str(event)  # the trail records the reason, not the values
    assert (await verify_trail()).intact


async def test_reveal_needs_recent_mfa(identity) -> None:  # type: ignore[no-untyped-def]
    customer = await make_user(Role.customer)
    _admin, principal = await _admin_principal(identity)
    stale = replace(principal, mfa_at=datetime.now(UTC) - timedelta(minutes=10))

    with pytest.raises(Forbidden):
        await reveal_personal_data(
            identity, stale, user_id=customer.id, fields=["email"], reason=REASON
        )
    assert await AuditEvent.count() == 0


@pytest.mark.parametrize("role", [Role.agent, Role.auditor])
async def test_only_admins_may_reveal(identity, role: Role) -> None:  # type: ignore[no-untyped-def]
    customer = await make_user(Role.customer)
    _user, principal = await _admin_principal(identity, role)

    with pytest.raises(Forbidden):
        await reveal_personal_data(
            identity, principal, user_id=customer.id, fields=["email"], reason=REASON
        )


@pytest.mark.parametrize(
    ("fields", "reason", "field"),
    [
        ([], REASON, "fields"),
        (["password_hash"], REASON, "fields"),
        (["email"], "because", "reason"),
    ],
)
async def test_reveal_refuses_bad_input_without_auditing(identity, fields, reason, field) -> None:  # type: ignore[no-untyped-def]
    customer = await make_user(Role.customer)
    _admin, principal = await _admin_principal(identity)

    with pytest.raises(BadUserInput) as refused:
        await reveal_personal_data(
            identity, principal, user_id=customer.id, fields=fields, reason=reason
        )

    assert refused.value.extensions["field"] == field
    assert await AuditEvent.count() == 0
