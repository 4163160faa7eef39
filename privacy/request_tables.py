"""Data subject requests (export, erasure) with their legal deadline, and the erasure
ledger that outlives the erased data.

Subject and requester are plain ids, not foreign keys: the privacy app imports no domain
app, and a request must outlive the pseudonymisation of its subject.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from piccolo.columns import JSON, UUID, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from privacy.inventory import (
    NOT_PERSONAL,
    Category,
    Column,
    Retention,
    RowErasure,
    classify,
    row_id,
    subject_link,
    timestamp,
)


class RequestKind(StrEnum):
    export = "export"
    erasure = "erasure"


class RequestStatus(StrEnum):
    # export: pending -> running -> ready (download) -> completed (downloaded) / expired
    # erasure: waiting (grace period, cancellable) -> running -> completed; or cancelled
    pending = "pending"
    waiting = "waiting"
    running = "running"
    ready = "ready"
    completed = "completed"
    cancelled = "cancelled"
    expired = "expired"
    failed = "failed"


OPEN_STATUSES = (
    RequestStatus.pending,
    RequestStatus.waiting,
    RequestStatus.running,
    RequestStatus.failed,
)


class DataRequest(Table, tablename="data_requests"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    kind = Varchar(length=16, choices=RequestKind, index=True)
    subject_id = UUID(index=True)
    requested_by = UUID()
    status = Varchar(length=16, choices=RequestStatus, index=True)
    requested_at = Timestamptz(default=TimestamptzNow())
    # The legal deadline (art. 12(3): one month), shown to admins with an overdue flag.
    due_at = Timestamptz()
    # Erasure: when the grace period ends and the erasure may run.
    not_before = Timestamptz(null=True, default=None)
    # A worker's claim on the job; an expired claim (a crashed worker) may be taken over.
    claimed_until = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
    finished_at = Timestamptz(null=True, default=None)
    # Export: the archive's file name under the exports directory, and the current
    # single-use download link (only its SHA-256 is stored).
    archive_name = Varchar(length=80, null=True, default=None)
    download_digest = Varchar(length=64, null=True, default=None, unique=True)
    download_expires_at = Timestamptz(null=True, default=None)
    archive_expires_at = Timestamptz(null=True, default=None)
    error = Varchar(length=200, null=True, default=None)


class ErasureLedgerEntry(Table, tablename="erasure_ledger"):
    """What was erased, when, under which request: no personal value, only the subject's
    random id, which is what re-applying the erasure after a restore from backup needs."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    request_id = UUID(unique=True)
    subject_id = UUID(index=True)
    erased_at = Timestamptz(default=TimestamptzNow())
    # Rows touched per table, e.g. {"tickets": 12, "sessions": 2}.
    summary = JSON(default="{}")
    pseudonym = Varchar(length=40)
    note = Text(default="")


_REQUESTS = "handling data subject requests (arts. 12, 15, 17, 20)"

classify(
    DataRequest,
    subject="subject_id",
    purpose=_REQUESTS,
    retention=Retention("three years after it is finished (evidence of compliance)"),
    # The request is the evidence that the erasure was done: it holds no personal value.
    on_erasure=RowErasure.keep,
    columns={
        "id": row_id(),
        "kind": NOT_PERSONAL,
        "subject_id": subject_link(_REQUESTS),
        "requested_by": Column(Category.identifier, _REQUESTS),
        "status": NOT_PERSONAL,
        "requested_at": timestamp(),
        "due_at": timestamp(),
        "not_before": timestamp(),
        "claimed_until": timestamp(),
        "attempts": NOT_PERSONAL,
        "finished_at": timestamp(),
        "archive_name": NOT_PERSONAL,
        "download_digest": Column(Category.security, _REQUESTS, exported=False),
        "download_expires_at": timestamp(),
        "archive_expires_at": timestamp(),
        "error": NOT_PERSONAL,
    },
)

classify(
    ErasureLedgerEntry,
    # Not linked for export or erasure: the ledger is what keeps an erasure erased.
    subject=None,
    purpose="keeping erasures applied after a restore from backup (art. 17)",
    retention=Retention("as long as backups from before the erasure exist"),
    on_erasure=RowErasure.keep,
    columns={
        "id": row_id(),
        "request_id": NOT_PERSONAL,
        "subject_id": Column(Category.identifier, "which account to erase again"),
        "erased_at": timestamp(),
        "summary": NOT_PERSONAL,
        "pseudonym": Column(Category.identifier, "the name erased history shows"),
        "note": NOT_PERSONAL,
    },
)
