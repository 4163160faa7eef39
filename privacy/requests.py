"""The life of a data subject request: created with its legal deadline, claimed by one
worker at a time, finished once; and the single-use links that download an export.

Claims are leases (``claimed_until``): a worker that dies mid-job loses its claim when
the lease runs out and another worker (or ``opendesk privacy run``) takes the job over,
which is safe because exports are rewritten whole and erasures are idempotent.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from privacy.request_tables import (
    OPEN_STATUSES,
    DataRequest,
    RequestKind,
    RequestStatus,
)

LEGAL_DEADLINE = timedelta(days=30)
LEASE = timedelta(minutes=15)
DOWNLOAD_LINK_LIFETIME = timedelta(minutes=15)
ARCHIVE_LIFETIME = timedelta(days=7)
MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class RequestRecord:
    id: uuid.UUID
    kind: RequestKind
    subject_id: uuid.UUID
    requested_by: uuid.UUID
    status: RequestStatus
    requested_at: datetime
    due_at: datetime
    not_before: datetime | None
    finished_at: datetime | None
    archive_name: str | None
    archive_expires_at: datetime | None
    attempts: int
    error: str | None

    def overdue(self, now: datetime) -> bool:
        """Past its legal deadline and still not done."""
        return self.status in OPEN_STATUSES and now > self.due_at

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RequestRecord:
        return cls(
            id=row["id"],
            kind=RequestKind(row["kind"]),
            subject_id=row["subject_id"],
            requested_by=row["requested_by"],
            status=RequestStatus(row["status"]),
            requested_at=row["requested_at"],
            due_at=row["due_at"],
            not_before=row["not_before"],
            finished_at=row["finished_at"],
            archive_name=row["archive_name"],
            archive_expires_at=row["archive_expires_at"],
            attempts=row["attempts"],
            error=row["error"],
        )


async def create_request(
    kind: RequestKind,
    *,
    subject_id: uuid.UUID,
    requested_by: uuid.UUID,
    now: datetime,
    not_before: datetime | None = None,
) -> RequestRecord:
    status = RequestStatus.waiting if kind is RequestKind.erasure else RequestStatus.pending
    row = DataRequest(
        kind=kind.value,
        subject_id=subject_id,
        requested_by=requested_by,
        status=status.value,
        requested_at=now,
        due_at=now + LEGAL_DEADLINE,
        not_before=not_before,
    )
    await row.save()
    found = await get_request(row.id)
    assert found is not None  # noqa: S101 - just written
    return found


async def get_request(request_id: uuid.UUID) -> RequestRecord | None:
    row = await DataRequest.select().where(DataRequest.id == request_id).first()
    return RequestRecord.from_row(row) if row else None


async def open_request(kind: RequestKind, subject_id: uuid.UUID) -> RequestRecord | None:
    """The subject's unfinished request of this kind, if any (one at a time)."""
    row = (
        await DataRequest.select()
        .where(
            (DataRequest.kind == kind.value)
            & (DataRequest.subject_id == subject_id)
            & DataRequest.status.is_in([status.value for status in OPEN_STATUSES])
        )
        .first()
    )
    return RequestRecord.from_row(row) if row else None


async def list_requests(
    *, subject_id: uuid.UUID | None, limit: int, open_only: bool = False
) -> list[RequestRecord]:
    """Newest first; every subject's when ``subject_id`` is None (admins)."""
    query = DataRequest.select()
    if subject_id is not None:
        query = query.where(DataRequest.subject_id == subject_id)
    if open_only:
        query = query.where(DataRequest.status.is_in([status.value for status in OPEN_STATUSES]))
    rows = await query.order_by(DataRequest.requested_at, ascending=False).limit(limit)
    return [RequestRecord.from_row(row) for row in rows]


async def cancel_waiting_erasure(
    request_id: uuid.UUID, subject_id: uuid.UUID, now: datetime
) -> bool:
    """Cancel an erasure still in its grace period; False when it is not (or not theirs)."""
    cancelled = (
        await DataRequest.update(
            {DataRequest.status: RequestStatus.cancelled.value, DataRequest.finished_at: now}
        )
        .where(
            (DataRequest.id == request_id)
            & (DataRequest.subject_id == subject_id)
            & (DataRequest.kind == RequestKind.erasure.value)
            & (DataRequest.status == RequestStatus.waiting.value)
            & (DataRequest.claimed_until.is_null())
        )
        .returning(DataRequest.id)
    )
    return bool(cancelled)


async def claim_due(now: datetime, *, limit: int = 10) -> list[RequestRecord]:
    """Claim requests that may run now (exports at once, erasures after their grace
    period, and any whose worker's lease ran out). Each row is claimed by one update
    guarded on what was read, so two workers never run the same job at once."""
    runnable = (
        (DataRequest.status == RequestStatus.pending.value)
        | ((DataRequest.status == RequestStatus.waiting.value) & (DataRequest.not_before <= now))
        | (DataRequest.status == RequestStatus.running.value)
        | (DataRequest.status == RequestStatus.failed.value)
    )
    candidates = (
        await DataRequest.select(DataRequest.id, DataRequest.claimed_until, DataRequest.status)
        .where(runnable)
        .where(DataRequest.claimed_until.is_null() | (DataRequest.claimed_until < now))
        .where(DataRequest.attempts < MAX_ATTEMPTS)
        .order_by(DataRequest.requested_at)
        .limit(limit)
    )
    claimed = []
    for candidate in candidates:
        record = await _claim(candidate, now)
        if record is not None:
            claimed.append(record)
    return claimed


async def claim_request(request_id: uuid.UUID, now: datetime) -> RequestRecord | None:
    """Claim one unfinished request now, whatever its schedule (an operator running an
    erasure at once); None when it is finished or another worker holds it."""
    candidate = (
        await DataRequest.select(DataRequest.id, DataRequest.claimed_until, DataRequest.status)
        .where(
            (DataRequest.id == request_id)
            & DataRequest.status.is_in([status.value for status in OPEN_STATUSES])
            & (DataRequest.claimed_until.is_null() | (DataRequest.claimed_until < now))
        )
        .first()
    )
    return await _claim(candidate, now) if candidate else None


async def _claim(candidate: dict[str, Any], now: datetime) -> RequestRecord | None:
    """One guarded update: it wins only if the row is still as it was read."""
    guard = (DataRequest.id == candidate["id"]) & (DataRequest.status == candidate["status"])
    if candidate["claimed_until"] is None:
        guard &= DataRequest.claimed_until.is_null()
    else:
        guard &= DataRequest.claimed_until == candidate["claimed_until"]
    won = (
        await DataRequest.update(
            {
                DataRequest.status: RequestStatus.running.value,
                DataRequest.claimed_until: now + LEASE,
                DataRequest.attempts: DataRequest.attempts + 1,
            }
        )
        .where(guard)
        .returning(DataRequest.id)
    )
    return await get_request(candidate["id"]) if won else None


async def renew_claim(request_id: uuid.UUID, now: datetime) -> None:
    """Extend a running job's lease (between steps of a long job), so that no other
    worker takes it over while it is still making progress."""
    await DataRequest.update({DataRequest.claimed_until: now + LEASE}).where(
        (DataRequest.id == request_id) & (DataRequest.status == RequestStatus.running.value)
    )


async def finish_export(request_id: uuid.UUID, archive_name: str, now: datetime) -> None:
    await DataRequest.update(
        {
            DataRequest.status: RequestStatus.ready.value,
            DataRequest.archive_name: archive_name,
            DataRequest.archive_expires_at: now + ARCHIVE_LIFETIME,
            DataRequest.claimed_until: None,
            DataRequest.finished_at: now,
            DataRequest.error: None,
        }
    ).where(DataRequest.id == request_id)


async def finish_erasure(request_id: uuid.UUID, now: datetime) -> None:
    await DataRequest.update(
        {
            DataRequest.status: RequestStatus.completed.value,
            DataRequest.claimed_until: None,
            DataRequest.finished_at: now,
            DataRequest.error: None,
        }
    ).where(DataRequest.id == request_id)


async def fail_request(request_id: uuid.UUID, error_id: str) -> None:
    """Record a failed attempt (retried by the next run, up to MAX_ATTEMPTS); the error
    text is an error id for the logs, never the exception (it may hold personal data)."""
    await DataRequest.update(
        {
            DataRequest.status: RequestStatus.failed.value,
            DataRequest.claimed_until: None,
            DataRequest.error: error_id[:200],
        }
    ).where(DataRequest.id == request_id)


async def new_download_link(request_id: uuid.UUID, now: datetime) -> str | None:
    """A fresh single-use token for a ready export (replacing any earlier one); None when
    the export is not ready or its archive has expired."""
    token = secrets.token_urlsafe(32)
    updated = (
        await DataRequest.update(
            {
                DataRequest.download_digest: _digest(token),
                DataRequest.download_expires_at: now + DOWNLOAD_LINK_LIFETIME,
            }
        )
        .where(
            (DataRequest.id == request_id)
            & (DataRequest.status == RequestStatus.ready.value)
            & (DataRequest.archive_expires_at > now)
        )
        .returning(DataRequest.id)
    )
    return token if updated else None


async def spend_download_link(
    token: str, now: datetime, *, for_user: uuid.UUID
) -> RequestRecord | None:
    """The export the token opens, once, for its subject or the user who asked for it:
    the token is cleared by the same update that checks it, so a second use (or a race)
    finds nothing. None when unknown, expired, or not ``for_user``'s (left unspent)."""
    if not token or len(token) > 100:
        return None
    spent = (
        await DataRequest.update(
            {DataRequest.download_digest: None, DataRequest.download_expires_at: None}
        )
        .where(
            (DataRequest.download_digest == _digest(token))
            & (DataRequest.download_expires_at > now)
            & (DataRequest.status == RequestStatus.ready.value)
            & ((DataRequest.subject_id == for_user) | (DataRequest.requested_by == for_user))
        )
        .returning(DataRequest.id)
    )
    if not spent:
        return None
    return await get_request(spent[0]["id"])


async def expire_archives(now: datetime) -> list[str]:
    """Mark exports whose archive lifetime ended; returns the archive names to delete."""
    expired = (
        await DataRequest.update(
            {
                DataRequest.status: RequestStatus.expired.value,
                DataRequest.download_digest: None,
                DataRequest.download_expires_at: None,
            }
        )
        .where(
            (DataRequest.status == RequestStatus.ready.value)
            & (DataRequest.archive_expires_at <= now)
        )
        .returning(DataRequest.archive_name)
    )
    return [row["archive_name"] for row in expired if row["archive_name"]]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
