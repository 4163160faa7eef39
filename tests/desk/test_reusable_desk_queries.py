"""The ticket page and the comments of a page of tickets, now composed once and reused,
answer row for row what the Piccolo selects they replaced answer, for every reach
(staff, a customer's organisation, a partner key, nobody), status filter and cursor."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from desk.cursors import encode_cursor
from desk.services.comments import add_comment, comments_for_tickets
from desk.services.tickets import list_tickets
from desk.services.visibility import visible_comments, visible_tickets
from desk.tables import Comment, Ticket, TicketStatus
from permissions.principal import ANONYMOUS, Principal
from permissions.roles import Role
from tests.factories import make_organisation, make_ticket, make_user, principal_of

pytestmark = pytest.mark.usefixtures("db")


async def _world() -> dict[str, Any]:
    home, other = await make_organisation(), await make_organisation()
    alice = await make_user(Role.customer, home)
    bob = await make_user(Role.customer, other)
    agent = await make_user(Role.agent)
    tickets = [await make_ticket(alice, subject=f"A{index}") for index in range(5)]
    tickets += [await make_ticket(bob, subject=f"B{index}") for index in range(3)]
    for ticket in tickets:
        await add_comment(
            principal_of(alice if ticket.subject[0] == "A" else bob), ticket.id, body="c"
        )
        await add_comment(principal_of(agent), ticket.id, body="internal", internal=True)
    await Ticket.update({Ticket.status: TicketStatus.closed.value}).where(
        Ticket.id == tickets[1].id
    )
    principals: dict[str, Principal] = {
        "agent": principal_of(agent),
        "alice": principal_of(alice),
        "partner": _partner(home.id, frozenset({"tickets:read"})),
        "partner without scope": _partner(home.id, frozenset()),
        "anonymous": ANONYMOUS,
    }
    return {"tickets": tickets, "principals": principals}


def _partner(organisation_id: uuid.UUID, scopes: frozenset[str]) -> Principal:
    return Principal(
        kind="partner", api_key_id=uuid.uuid4(), organisation_id=organisation_id, scopes=scopes
    )


async def _piccolo_page(
    principal: Principal, first: int, status: TicketStatus | None, after: Any
) -> list[uuid.UUID]:
    scope = visible_tickets(principal)
    if scope is None:
        return []
    query = Ticket.select(Ticket.id).where(*scope) if scope else Ticket.select(Ticket.id)
    if status is not None:
        query = query.where(Ticket.status == status.value)
    if after is not None:
        created_at, row_id = after
        query = query.where(
            (Ticket.created_at < created_at)
            | ((Ticket.created_at == created_at) & (Ticket.id < row_id))
        )
    rows = await query.order_by(Ticket.created_at, Ticket.id, ascending=False).limit(first)
    return [row["id"] for row in rows]


async def test_ticket_pages_are_the_piccolo_selects_pages_for_every_reach() -> None:
    world = await _world()
    middle = world["tickets"][3]
    cursors = [None, (middle.created_at, middle.id)]
    for name, principal in world["principals"].items():
        for status in (None, TicketStatus.open, TicketStatus.closed):
            for after in cursors:
                for first in (1, 3, 20):
                    cursor = encode_cursor(*after) if after else None
                    page = await list_tickets(
                        principal, first=first, max_page_size=100, after=cursor, status=status
                    )
                    expected = await _piccolo_page(principal, first, status, after)
                    assert [ticket.id for ticket in page.tickets] == expected, (name, status)


async def test_comments_of_tickets_are_the_piccolo_selects_rows_for_every_reach() -> None:
    world = await _world()
    ids = [ticket.id for ticket in world["tickets"]] + [uuid.uuid4()]
    for name, principal in world["principals"].items():
        found = await comments_for_tickets(principal, ids, first=10)
        ticket_scope, comment_scope = visible_tickets(principal), visible_comments(principal)
        expected: dict[uuid.UUID, list[Any]] = {}
        if ticket_scope is not None and comment_scope is not None:
            visible = Ticket.select(Ticket.id).where(Ticket.id.is_in(ids), *ticket_scope)
            rows = await (
                Comment.select()
                .where(Comment.ticket.is_in(visible), *comment_scope)
                .order_by(Comment.created_at, Comment.id)
            )
            for row in rows:
                expected.setdefault(row["ticket"], []).append(row)
        assert {key: [c.id for c in value] for key, value in found.items()} == {
            key: [row["id"] for row in value] for key, value in expected.items()
        }, name
        if name == "alice":
            assert all(not comment.is_internal for value in found.values() for comment in value)
            assert len(found) == 5  # her organisation's tickets only
        if name == "agent":
            assert sum(len(value) for value in found.values()) == 16
