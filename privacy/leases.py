"""Named leases in the database: one holder at a time for jobs that must not overlap
(the retention run), across processes and hosts, on SQLite and PostgreSQL alike.

A lease expires on its own, so a holder that crashed never blocks the job for good; a
holder that runs long renews it between batches.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from piccolo.columns import Timestamptz, Varchar
from piccolo.table import Table

from privacy.inventory import NOT_PERSONAL, Retention, RowErasure, classify, timestamp


class JobLease(Table, tablename="job_leases"):
    name = Varchar(length=64, primary_key=True)
    holder = Varchar(length=32)
    expires_at = Timestamptz()


classify(
    JobLease,
    subject=None,
    purpose="one runner at a time for maintenance jobs",
    retention=Retention("while the job runs"),
    on_erasure=RowErasure.keep,
    columns={"name": NOT_PERSONAL, "holder": NOT_PERSONAL, "expires_at": timestamp()},
)


class LeaseHeld(Exception):
    """Another runner holds the lease."""


class Lease:
    def __init__(self, name: str, holder: str, ttl: timedelta) -> None:
        self.name, self.holder, self.ttl = name, holder, ttl

    async def renew(self) -> None:
        """Extend the lease; raises LeaseHeld when it was lost (expired and taken)."""
        renewed = (
            await JobLease.update({JobLease.expires_at: _now() + self.ttl})
            .where((JobLease.name == self.name) & (JobLease.holder == self.holder))
            .returning(JobLease.name)
        )
        if not renewed:
            raise LeaseHeld(self.name)


@asynccontextmanager
async def lease(name: str, ttl: timedelta = timedelta(minutes=5)) -> AsyncIterator[Lease]:
    """Hold ``name`` for the block; raises LeaseHeld when someone else holds it."""
    holder = secrets.token_hex(8)
    now = _now()
    await JobLease.insert(JobLease(name=name, holder=holder, expires_at=now + ttl)).on_conflict(
        action="DO NOTHING"
    )
    # Ours if we just inserted it, or if the previous holder's lease ran out.
    taken = (
        await JobLease.update({JobLease.holder: holder, JobLease.expires_at: now + ttl})
        .where(
            (JobLease.name == name) & ((JobLease.holder == holder) | (JobLease.expires_at < now))
        )
        .returning(JobLease.name)
    )
    if not taken:
        raise LeaseHeld(name)
    try:
        yield Lease(name, holder, ttl)
    finally:
        await JobLease.delete().where((JobLease.name == name) & (JobLease.holder == holder))


def _now() -> datetime:
    return datetime.now(UTC)
