"""Request claims: one worker per job; a crashed worker's lease is taken over."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from privacy import requests
from privacy.request_tables import DataRequest, RequestKind, RequestStatus

pytestmark = pytest.mark.usefixtures("db")


async def _export_request() -> requests.RequestRecord:
    subject = uuid.uuid4()
    return await requests.create_request(
        RequestKind.export, subject_id=subject, requested_by=subject, now=datetime.now(UTC)
    )


async def test_two_workers_never_claim_the_same_job() -> None:
    record = await _export_request()
    now = datetime.now(UTC)

    first, second = await asyncio.gather(requests.claim_due(now), requests.claim_due(now))

    assert sorted(len(claimed) for claimed in (first, second)) == [0, 1]
    assert await requests.claim_due(now) == []  # held by the winner's lease
    claimed = await requests.get_request(record.id)
    assert claimed is not None
    assert claimed.status is RequestStatus.running
    assert claimed.attempts == 1


async def test_a_crashed_worker_s_lease_is_taken_over_once_it_runs_out() -> None:
    record = await _export_request()
    now = datetime.now(UTC)
    assert [r.id for r in await requests.claim_due(now)] == [record.id]

    later = now + requests.LEASE + timedelta(seconds=1)
    taken_over = await requests.claim_due(later)

    assert [r.id for r in taken_over] == [record.id]
    assert taken_over[0].attempts == 2
    row = await DataRequest.select(DataRequest.claimed_until).first()
    assert row is not None
    assert row["claimed_until"] > later
