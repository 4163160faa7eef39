"""Which rows of the desk a principal may see: the one place that scopes desk queries.

The decision is made by :func:`ticket_reach` and :func:`comment_reach`, as values (for
the queries composed once and reused, which take the scope as parameters); the
``visible_*`` functions give the same decision as Piccolo conditions: ``None`` when the
principal sees nothing (callers skip the query), an empty tuple when it sees every row,
or the conditions to AND into the query.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from piccolo.columns.combination import Where

from desk.tables import Comment, Ticket
from permissions.principal import Principal

Scope = tuple[Where, ...] | None
EVERYTHING: tuple[Where, ...] = ()


TICKETS_READ_SCOPE = "tickets:read"


def _partner_reads_tickets(principal: Principal) -> bool:
    """A partner key with ``tickets:read`` that belongs to an organisation; a key of no
    organisation reads nothing (fail closed: it would otherwise mean every tenant)."""
    return (
        principal.kind == "partner"
        and TICKETS_READ_SCOPE in principal.scopes
        and principal.organisation_id is not None
    )


@dataclass(frozen=True, slots=True)
class TicketReach:
    """The tickets a principal sees: every one (``organisation`` None) or one
    organisation's."""

    organisation: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class CommentReach:
    """The comments a principal sees on the tickets it sees: with or without internal
    ones."""

    internal: bool


def ticket_reach(principal: Principal) -> TicketReach | None:
    """Staff see every ticket; customers, and partner keys with ``tickets:read``, their
    organisation's; everyone else none (None)."""
    if principal.is_staff:
        return TicketReach(organisation=None)
    if (principal.is_customer or _partner_reads_tickets(principal)) and (
        principal.organisation_id is not None
    ):
        return TicketReach(organisation=principal.organisation_id)
    return None


def comment_reach(principal: Principal) -> CommentReach | None:
    """Internal comments never reach customers or partners; everyone else sees none."""
    if principal.is_staff:
        return CommentReach(internal=True)
    if principal.is_customer or _partner_reads_tickets(principal):
        return CommentReach(internal=False)
    return None


def visible_tickets(principal: Principal) -> Scope:
    """:func:`ticket_reach` as conditions on ``Ticket``."""
    reach = ticket_reach(principal)
    if reach is None:
        return None
    if reach.organisation is None:
        return EVERYTHING
    return (Ticket.organisation == reach.organisation,)


def visible_comments(principal: Principal) -> Scope:
    """:func:`comment_reach` as conditions on ``Comment``."""
    reach = comment_reach(principal)
    if reach is None:
        return None
    if reach.internal:
        return EVERYTHING
    return (Comment.is_internal == False,)  # noqa: E712 - Piccolo builds SQL from ==
