"""Retention: rows past their period go (or lose their content), once, one runner at a time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from accounts.tables import RecoveryCode
from desk.tables import Comment, Ticket, TicketStatus
from permissions.roles import Role
from privacy.erasure import REDACTED
from privacy.leases import JobLease, LeaseHeld, lease
from privacy.retention import run_retention
from tests.factories import make_ticket, make_user, principal_of

pytestmark = pytest.mark.usefixtures("db")

NOW = datetime.now(UTC)
YEARS_AGO_7 = NOW - timedelta(days=7 * 365)


async def test_used_recovery_codes_go_thirty_days_after_use() -> None:
    user = await make_user()
    for used_at in (NOW - timedelta(days=31), NOW - timedelta(days=29), None):
        await RecoveryCode.insert(RecoveryCode(user=user.id, code_hash="h", used_at=used_at))

    report = await run_retention(NOW)

    assert report.deleted["recovery_codes"] == 1
    left = await RecoveryCode.select(RecoveryCode.used_at).order_by(RecoveryCode.used_at)
    assert len(left) == 2
    assert (await run_retention(NOW)).deleted["recovery_codes"] == 0  # safe to repeat


async def test_old_closed_tickets_lose_their_content_and_keep_their_statistics() -> None:
    from desk.services.comments import add_comment

    customer = await make_user(Role.customer)
    old_closed = await make_ticket(customer, subject="old closed", body="old body")
    old_open = await make_ticket(customer, subject="old open", body="still open")
    recent_closed = await make_ticket(customer, subject="recent closed", body="recent body")
    await add_comment(principal_of(customer), old_closed.id, body="a comment on it")
    await add_comment(principal_of(customer), old_open.id, body="a comment on the open one")
    await Ticket.update({Ticket.status: TicketStatus.closed.value}).where(
        Ticket.id.is_in([old_closed.id, recent_closed.id])
    )
    await Ticket.update({Ticket.updated_at: YEARS_AGO_7}).where(
        Ticket.id.is_in([old_closed.id, old_open.id])
    )

    report = await run_retention(NOW)

    assert report.anonymised["tickets"] == 1
    assert report.anonymised["comments"] == 1
    rows = {r["id"]: r for r in await Ticket.select()}
    assert rows[old_closed.id]["subject"] == REDACTED
    assert rows[old_closed.id]["body"] == REDACTED
    assert rows[old_closed.id]["status"] == "closed"  # statistics stay
    assert rows[old_closed.id]["requester"] == customer.id
    assert rows[old_open.id]["body"] == "still open"
    assert rows[recent_closed.id]["body"] == "recent body"
    bodies = {r["ticket"]: r["body"] for r in await Comment.select()}
    assert bodies == {old_closed.id: REDACTED, old_open.id: "a comment on the open one"}

    again = await run_retention(NOW)
    assert again.anonymised["tickets"] == 0
    assert again.anonymised["comments"] == 0


async def test_one_runner_at_a_time() -> None:
    async with lease("retention"):
        with pytest.raises(LeaseHeld):
            await run_retention(NOW)

    outcomes = await asyncio.gather(run_retention(NOW), run_retention(NOW), return_exceptions=True)
    assert any(not isinstance(outcome, BaseException) for outcome in outcomes)
    assert all(
        not isinstance(outcome, BaseException) or isinstance(outcome, LeaseHeld)
        for outcome in outcomes
    )
    assert await JobLease.count() == 0  # released


async def test_a_crashed_runner_s_lease_expires() -> None:
    await JobLease.insert(
        JobLease(name="retention", holder="crashed", expires_at=NOW - timedelta(seconds=1))
    )

    report = await run_retention(NOW)

    assert report.lines()
    assert await JobLease.count() == 0


async def test_the_audit_trail_and_authenticator_caps_are_not_pruned() -> None:
    from accounts.tables import AuthenticatorState
    from audit.tables import AuditEvent
    from audit.trail import Actor, record_event, verify_trail

    user = await make_user()
    await record_event("user.login", actor=Actor("user", user.id))
    await AuthenticatorState.insert(
        AuthenticatorState(
            user=user.id,
            authenticator="totp",
            consecutive_failures=100,
            disabled_at=NOW,
            updated_at=NOW,
        )
    )

    # Seven years on, both are far past "one year".
    report = await run_retention(NOW + timedelta(days=7 * 365))

    assert "audit_events" not in report.deleted
    assert await AuditEvent.count() == 1
    assert (await verify_trail()).intact
    assert await AuthenticatorState.count() == 1  # the hard cap holds
