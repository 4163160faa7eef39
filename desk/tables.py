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
