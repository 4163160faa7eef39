"""The audit trail: chained by hash, tamper-evident, linear under concurrent writers."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from audit.tables import AuditEvent
from audit.trail import Actor, record_event, verify_trail
from tests.api.test_cli import run_cli

pytestmark = pytest.mark.usefixtures("db")

ADMIN = Actor("user", uuid.uuid4())


async def test_events_chain_and_verify() -> None:
    for number in range(5):
        await record_event("test.event", actor=ADMIN, details={"n": number})

    result = await verify_trail()

    assert result.intact
    assert result.entries == 5


async def test_client_ip_is_kept_only_as_a_network() -> None:
    await record_event("test.event", actor=ADMIN, client_ip="203.0.113.77")

    row = await AuditEvent.select(AuditEvent.client_network).first()

    assert row["client_network"] == "203.0.113.0/24"


async def test_an_edited_entry_breaks_the_chain_at_that_entry() -> None:
    for number in range(4):
        await record_event("test.event", actor=ADMIN, details={"n": number})
    rows = await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id)
    await AuditEvent.update({AuditEvent.details: {"n": 99}}).where(AuditEvent.id == rows[2]["id"])

    result = await verify_trail()

    assert result.first_broken_id == rows[2]["id"]
    assert result.entries == 2


async def test_a_deleted_entry_breaks_the_chain() -> None:
    for number in range(4):
        await record_event("test.event", actor=ADMIN, details={"n": number})
    rows = await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id)
    await AuditEvent.delete().where(AuditEvent.id == rows[1]["id"])

    assert not (await verify_trail()).intact


async def test_concurrent_writers_never_fork_the_chain() -> None:
    await asyncio.gather(
        *(record_event("test.event", actor=ADMIN, details={"n": n}) for n in range(15))
    )

    result = await verify_trail()

    assert result.intact
    assert result.entries == 15


async def test_cli_verify_reports_intact_and_broken() -> None:
    await record_event("test.event", actor=ADMIN)
    intact = run_cli("audit", "verify")
    await AuditEvent.update({AuditEvent.event_type: "forged"}, force=True)
    broken = run_cli("audit", "verify")

    assert intact.returncode == 0, intact.stderr
    assert "intact: 1 entries" in intact.stdout
    assert broken.returncode == 1
    assert "broken at entry" in broken.stderr
