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


async def test_a_long_erasure_keeps_its_lease_step_by_step(identity, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from accounts.services.request_runner import carry_out_erasure
    from privacy import erasure
    from tests.factories import make_user

    user = await make_user()
    start = datetime.now(UTC)
    long_ago = start - 2 * requests.LEASE
    await requests.create_request(
        RequestKind.erasure,
        subject_id=user.id,
        requested_by=user.id,
        now=long_ago,
        not_before=long_ago,
    )
    # Claimed long ago: the lease would have run out by now without renewal.
    (record,) = await requests.claim_due(start - requests.LEASE)
    claimed = await DataRequest.select(DataRequest.claimed_until).first()
    assert claimed is not None
    stale_until = claimed["claimed_until"]  # = start: about to run out
    leases = []
    real_update = erasure._update_rows

    async def watching(entry, link, subject_id, values):  # type: ignore[no-untyped-def]
        row = await DataRequest.select(DataRequest.claimed_until).first()
        leases.append(row["claimed_until"])
        return await real_update(entry, link, subject_id, values)

    monkeypatch.setattr(erasure, "_update_rows", watching)
    await carry_out_erasure(identity, record)

    assert leases  # the history steps ran
    assert all(lease > stale_until for lease in leases)  # renewed by the earlier steps
