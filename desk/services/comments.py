"""Comment use cases, scoped by :mod:`desk.services.visibility`."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from piccolo.query import Select

from core.errors import BadUserInput, Forbidden
from core.reusable_select import ReusableSelect
from core.text import clean_text
from desk.records import CommentRecord
from desk.services.tickets import require_ticket
from desk.services.visibility import comment_reach, ticket_reach
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
    comments = comment_reach(principal)
    tickets = ticket_reach(principal)
    if not ticket_ids or comments is None or tickets is None:
        return result
    values: dict[str, Any] = {"ticket_ids": list(ticket_ids)}
    if tickets.organisation is not None:
        values["organisation"] = tickets.organisation
    if not comments.internal:
        values["internal"] = False
    rows = await _COMMENTS_OF_TICKETS.run(**values)
    for row in rows:
        bucket = result[row["ticket"]]
        if len(bucket) < first:
            bucket.append(CommentRecord.from_row(row))
    return result


def _comments_of_tickets(**given: Any) -> Select[Any]:
    """Oldest first. Ticket visibility is checked again in the same query (a loader key
    never widens access): the organisation's tickets only when ``organisation`` is
    given; internal comments left out when ``internal`` (False) is given."""
    visible_ids = Ticket.select(Ticket.id).where(Ticket.id.is_in(given["ticket_ids"]))
    if "organisation" in given:
        visible_ids = visible_ids.where(Ticket.organisation == given["organisation"])
    query = Comment.select().where(Comment.ticket.is_in(visible_ids))
    if "internal" in given:
        query = query.where(Comment.is_internal == given["internal"])
    return query.order_by(Comment.created_at, Comment.id)


# Composed once per number of tickets and reach (its SQL took more Python than the
# database's answer, every time).
_COMMENTS_OF_TICKETS = ReusableSelect(Comment, _comments_of_tickets)
