"""An admin exports a user's data: step-up MFA and a reason to ask, step-up again to
download, an audit event, and the subject sees the request in their own list."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from accounts.services import data_requests
from accounts.services.identity import Identity
from api.privacy_runner import run_once
from audit.tables import AuditEvent
from core.errors import BadUserInput, Forbidden
from permissions.roles import Role
from tests.factories import make_user, principal_of

REASON = "Subject asked by letter for a copy of their data"


def _signed_in(user, *, mfa_minutes_ago: float | None):  # type: ignore[no-untyped-def]
    mfa_at = (
        None if mfa_minutes_ago is None else datetime.now(UTC) - timedelta(minutes=mfa_minutes_ago)
    )
    return replace(principal_of(user), session_id="s", mfa_at=mfa_at)


async def test_admin_export_needs_step_up_a_reason_and_is_audited(
    identity: Identity, tmp_path: Path
) -> None:
    customer = await make_user(Role.customer)
    admin = await make_user(Role.admin)
    fresh = _signed_in(admin, mfa_minutes_ago=1)
    stale = _signed_in(admin, mfa_minutes_ago=10)

    with pytest.raises(Forbidden):
        await data_requests.export_user_data(identity, stale, user_id=customer.id, reason=REASON)
    with pytest.raises(BadUserInput):
        await data_requests.export_user_data(identity, fresh, user_id=customer.id, reason="x")
    record = await data_requests.export_user_data(
        identity, fresh, user_id=customer.id, reason=REASON
    )

    event = (
        await AuditEvent.select()
        .where(AuditEvent.event_type == "personal_data.export_requested")
        .first()
    )
    assert event is not None
    assert event["actor_id"] == admin.id
    assert event["target_id"] == str(customer.id)
    mine = await data_requests.data_requests(_signed_in(customer, mfa_minutes_ago=None), limit=10)
    assert [r.id for r in mine] == [record.id]  # the subject sees who exported their data

    await run_once(identity, tmp_path)
    with pytest.raises(Forbidden):
        await data_requests.download_link(identity, stale, record.id)
    link = await data_requests.download_link(identity, fresh, record.id)
    assert link.url.startswith("/privacy/downloads/")
    taken = await AuditEvent.select().where(
        AuditEvent.event_type == "personal_data.export_link_created"
    )
    assert [(e["actor_id"], e["target_id"]) for e in taken] == [(admin.id, str(record.id))]
    assert link.url.rsplit("/", 1)[1] not in str(taken)


async def test_agents_cannot_export_other_users(identity: Identity) -> None:
    customer = await make_user(Role.customer)
    agent = _signed_in(await make_user(Role.agent), mfa_minutes_ago=1)

    with pytest.raises(Forbidden):
        await data_requests.export_user_data(identity, agent, user_id=customer.id, reason=REASON)
