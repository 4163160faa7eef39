"""Comment use cases, scoped by :mod:`desk.services.visibility`."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from core.errors import BadUserInput, Forbidden
from core.text import clean_text
from desk.records import CommentRecord
from desk.services.tickets import require_ticket
from desk.services.visibility import visible_comments, visible_tickets
from desk.tables import Comment, Ticket
from permissions.principal import Principal

COMMENT_MAX = 10_000


async def add_comment(
    principal: Principal, ticket_id: uuid.UUID, *, body: str, internal: bool = False
) -> CommentRecord:
    """Comment on a visible ticket; only staff may write internal comments."""
    if principal.kind != "user" or principal.user_id is None:
        raise Forbidden()
    if internal and not principal.is_staff:
        raise Forbidden()
    clean_body = clean_text(body, field="input.body", max_length=COMMENT_MAX, multiline=True)
    ticket = await require_ticket(principal, ticket_id)
    comment = Comment(
        id=uuid.uuid4(),
        ticket=ticket.id,
        author=principal.user_id,
        body=clean_body,
        is_internal=internal,
        created_at=datetime.now(UTC),
    )
    await comment.save()
    await Ticket.update({Ticket.updated_at: datetime.now(UTC)}).where(Ticket.id == ticket.id)
    row = await Comment.select().where(Comment.id == comment.id).first()
    if row is None:  # pragma: no cover - we just wrote it inside the same connection
        raise BadUserInput("Comment could not be saved.")
    return CommentRecord.from_row(row)


async def comments_for_tickets(
    principal: Principal, ticket_ids: Sequence[uuid.UUID], *, first: int
) -> dict[uuid.UUID, list[CommentRecord]]:
    """Oldest-first comments of each visible ticket, at most ``first`` per ticket, in one query."""
    result: dict[uuid.UUID, list[CommentRecord]] = defaultdict(list)
    comment_scope = visible_comments(principal)
    ticket_scope = visible_tickets(principal)
    if not ticket_ids or comment_scope is None or ticket_scope is None:
        return result
    # Re-check ticket visibility in the same query: a loader key never widens access.
    visible_ids = Ticket.select(Ticket.id).where(Ticket.id.is_in(list(ticket_ids)), *ticket_scope)
    rows = await (
        Comment.select()
        .where(Comment.ticket.is_in(visible_ids), *comment_scope)
        .order_by(Comment.created_at, Comment.id)
    )
    for row in rows:
        bucket = result[row["ticket"]]
        if len(bucket) < first:
            bucket.append(CommentRecord.from_row(row))
    return result
