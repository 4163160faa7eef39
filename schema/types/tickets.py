"""Ticket, comment and connection types."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from core.errors import BadUserInput
from desk.body_html import render_body_html
from desk.cursors import encode_cursor
from desk.records import CommentRecord, TicketPage, TicketRecord
from desk.tables import TicketPriority, TicketStatus
from schema.context import Info
from schema.guards import field_cost
from schema.types.attachments import AttachmentType
from schema.types.users import UserType

TicketStatusEnum = strawberry.enum(TicketStatus, name="TicketStatus")
TicketPriorityEnum = strawberry.enum(TicketPriority, name="TicketPriority")
COMMENTS_PAGE_MAX = 100
ATTACHMENTS_LIST_SIZE = 20
_BODY_HTML = "The body as sanitised HTML: paragraphs, line breaks and http(s) links only."


async def _user(info: Info, user_id: uuid.UUID | None) -> UserType | None:
    if user_id is None:
        return None
    record = await info.context.loaders.users.load(user_id)
    return UserType(record=record) if record else None


@strawberry.type(name="Comment")
class CommentType:
    record: strawberry.Private[CommentRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.id))

    @strawberry.field
    def body(self) -> str:
        return self.record.body

    @strawberry.field(description=_BODY_HTML)
    def body_html(self) -> str:
        return render_body_html(self.record.body)

    @strawberry.field
    def is_internal(self) -> bool:
        return self.record.is_internal

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field
    async def author(self, info: Info) -> UserType | None:
        return await _user(info, self.record.author_id)


@strawberry.type(name="Ticket")
class TicketType:
    record: strawberry.Private[TicketRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.id))

    @strawberry.field
    def subject(self) -> str:
        return self.record.subject

    @strawberry.field
    def body(self) -> str:
        return self.record.body

    @strawberry.field(description=_BODY_HTML)
    def body_html(self) -> str:
        return render_body_html(self.record.body)

    @strawberry.field
    def status(self) -> TicketStatusEnum:  # type: ignore[valid-type]
        return self.record.status

    @strawberry.field
    def priority(self) -> TicketPriorityEnum:  # type: ignore[valid-type]
        return self.record.priority

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.record.updated_at

    # Staff only, by the field policy (permissions.policy).
    @strawberry.field(description="Staff only.")
    def internal_notes(self) -> str | None:
        return self.record.internal_notes

    @strawberry.field
    async def requester(self, info: Info) -> UserType | None:
        return await _user(info, self.record.requester_id)

    @strawberry.field
    async def assignee(self, info: Info) -> UserType | None:
        return await _user(info, self.record.assignee_id)

    # Bounded by OPENDESK_ATTACHMENT_MAX_PER_TICKET (default 20): costed as that many.
    @strawberry.field(
        description="Oldest first; a ticket holds a bounded number of attachments.",
        metadata=field_cost(1, list_size=ATTACHMENTS_LIST_SIZE),
    )
    async def attachments(self, info: Info) -> list[AttachmentType]:
        records = await info.context.loaders.attachments.load(self.record.id)
        return [AttachmentType(record=record) for record in records]

    @strawberry.field(description="Oldest first; internal comments are shown to staff only.")
    async def comments(self, info: Info, first: int) -> list[CommentType]:
        if not 1 <= first <= COMMENTS_PAGE_MAX:
            raise BadUserInput(f"Must be between 1 and {COMMENTS_PAGE_MAX}.", field="first")
        records = await info.context.loaders.comments.load((self.record.id, first))
        return [CommentType(record=record) for record in records]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def _edge_cursor(root: TicketEdge) -> str:
    return encode_cursor(root.node.record.created_at, root.node.record.id)


@strawberry.type
class TicketEdge:
    # Made when asked for (most pages ask for the nodes only): ≈ 5 µs a cursor.
    cursor: str = strawberry.field(resolver=_edge_cursor)
    node: TicketType


@strawberry.type
class TicketConnection:
    # Sized by the connection's own ``first``: counted once, not multiplied again.
    edges: list[TicketEdge] = strawberry.field(metadata=field_cost(0, list_size=1))
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: TicketPage) -> TicketConnection:
        edges = [TicketEdge(node=TicketType(record=ticket)) for ticket in page.tickets]
        last = page.tickets[-1] if page.tickets else None
        end_cursor = encode_cursor(last.created_at, last.id) if last is not None else None
        return cls(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=end_cursor)
        )
