"""Service-desk tables: tickets, their comments and attachment metadata."""

from __future__ import annotations

import uuid
from enum import StrEnum

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    ForeignKey,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from accounts.tables import Organisation, User
from privacy.inventory import (
    NOT_PERSONAL,
    Category,
    Column,
    Erase,
    Retention,
    RowErasure,
    classify,
    row_id,
    subject_link,
    timestamp,
)


class TicketStatus(StrEnum):
    open = "open"
    pending = "pending"
    resolved = "resolved"
    closed = "closed"


class TicketPriority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Ticket(Table, tablename="tickets"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    organisation = ForeignKey(references=Organisation, index=True)
    subject = Varchar(length=200)
    body = Text()
    status = Varchar(length=16, choices=TicketStatus, default=TicketStatus.open.value, index=True)
    priority = Varchar(length=16, choices=TicketPriority, default=TicketPriority.normal.value)
    requester = ForeignKey(references=User, index=True)
    assignee = ForeignKey(references=User, null=True, index=True)
    internal_notes = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_at = Timestamptz(default=TimestamptzNow())


class Comment(Table, tablename="comments"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    ticket = ForeignKey(references=Ticket, index=True)
    author = ForeignKey(references=User, index=True)
    body = Text()
    is_internal = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class Attachment(Table, tablename="attachments"):
    """Metadata only; content is stored outside any web root by the upload service."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    ticket = ForeignKey(references=Ticket, index=True)
    uploaded_by = ForeignKey(references=User)
    filename = Varchar(length=255)
    content_type = Varchar(length=100)
    size_bytes = BigInt()
    sha256 = Varchar(length=64)
    storage_key = Varchar(length=128, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())


# The data inventory (privacy/inventory.py). A ticket is its requester's; its assignee
# link is the agent's. Erasure redacts what the subject wrote and keeps the history.
_SUPPORT = "answering the requester's support request"
_CLOSED_YEARS = 6  # commercial records; then the content goes, the statistics stay

classify(
    Ticket,
    subject="requester",
    purpose=_SUPPORT,
    retention=Retention(
        f"closed tickets: content anonymised {_CLOSED_YEARS} years after the last change",
        days=_CLOSED_YEARS * 365,
        after="updated_at",
        then=RowErasure.update,
        when={"status": (TicketStatus.closed.value,)},
    ),
    on_erasure=RowErasure.update,
    columns={
        "id": row_id(),
        "organisation": NOT_PERSONAL,
        "subject": Column(Category.content, _SUPPORT, Erase.redact),
        "body": Column(Category.content, _SUPPORT, Erase.redact),
        "status": NOT_PERSONAL,
        "priority": NOT_PERSONAL,
        "requester": subject_link(_SUPPORT),
        "assignee": Column(Category.identifier, "who works the ticket", subject="assignee"),
        # Staff's working notes about the request: withheld from the requester's own
        # export (art. 15(4): they hold the staff's assessments), erased with the request.
        "internal_notes": Column(Category.content, _SUPPORT, Erase.redact, exported=False),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    },
)

classify(
    Comment,
    subject="author",
    purpose=_SUPPORT,
    retention=Retention(
        f"with their ticket: content anonymised {_CLOSED_YEARS} years after it is closed",
        then=RowErasure.update,
        follows="ticket",
    ),
    on_erasure=RowErasure.update,
    columns={
        "id": row_id(),
        "ticket": NOT_PERSONAL,
        "author": subject_link(_SUPPORT),
        "body": Column(Category.content, _SUPPORT, Erase.redact),
        "is_internal": NOT_PERSONAL,
        "created_at": timestamp(),
    },
)

classify(
    Attachment,
    subject="uploaded_by",
    purpose=_SUPPORT,
    retention=Retention(
        "with their ticket: file name and content erased with the ticket's content",
        then=RowErasure.update,
        follows="ticket",
    ),
    on_erasure=RowErasure.update,
    columns={
        "id": row_id(),
        "ticket": NOT_PERSONAL,
        "uploaded_by": subject_link(_SUPPORT),
        "filename": Column(Category.content, _SUPPORT, Erase.redact),
        "content_type": NOT_PERSONAL,
        "size_bytes": NOT_PERSONAL,
        # A fingerprint of what the user uploaded: emptied with the content. An emptied
        # sha256 is also the mark that the stored file must go: the desk's file purge
        # (desk/services/attachments.py) deletes it and retires the storage key.
        "sha256": Column(Category.content, "integrity of the stored file", Erase.empty),
        # An internal name of the service's storage, not the subject's data: not exported.
        "storage_key": Column(
            Category.none, "the stored file's random name (var/attachments)", exported=False
        ),
        "created_at": timestamp(),
    },
)
