"""Plain values that services hand to the schema layer (no ORM objects leak upwards)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from desk.tables import TicketPriority, TicketStatus


@dataclass(frozen=True, slots=True)
class TicketRecord:
    id: uuid.UUID
    organisation_id: uuid.UUID
    subject: str
    body: str
    status: TicketStatus
    priority: TicketPriority
    requester_id: uuid.UUID
    assignee_id: uuid.UUID | None
    internal_notes: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TicketRecord:
        return cls(
            id=row["id"],
            organisation_id=row["organisation"],
            subject=row["subject"],
            body=row["body"],
            status=TicketStatus(row["status"]),
            priority=TicketPriority(row["priority"]),
            requester_id=row["requester"],
            assignee_id=row["assignee"],
            internal_notes=row["internal_notes"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@dataclass(frozen=True, slots=True)
class CommentRecord:
    id: uuid.UUID
    ticket_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    is_internal: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CommentRecord:
        return cls(
            id=row["id"],
            ticket_id=row["ticket"],
            author_id=row["author"],
            body=row["body"],
            is_internal=bool(row["is_internal"]),
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class TicketPage:
    tickets: list[TicketRecord]
    has_next_page: bool


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    id: uuid.UUID
    ticket_id: uuid.UUID
    uploaded_by_id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_key: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AttachmentRecord:
        return cls(
            id=row["id"],
            ticket_id=row["ticket"],
            uploaded_by_id=row["uploaded_by"],
            filename=row["filename"],
            content_type=row["content_type"],
            size_bytes=int(row["size_bytes"]),
            sha256=row["sha256"],
            storage_key=row["storage_key"],
            created_at=row["created_at"],
        )
