"""Which rows of the desk a principal may see: the one place that scopes desk queries.

Each function returns ``None`` when the principal sees nothing (callers skip the query),
an empty tuple when it sees every row, or the conditions to AND into the query.
"""

from __future__ import annotations

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


def visible_tickets(principal: Principal) -> Scope:
    """Staff see every ticket; customers, and partner keys with ``tickets:read``, their
    organisation's; everyone else none."""
    if principal.is_staff:
        return EVERYTHING
    if (principal.is_customer or _partner_reads_tickets(principal)) and (
        principal.organisation_id is not None
    ):
        return (Ticket.organisation == principal.organisation_id,)
    return None


def visible_comments(principal: Principal) -> Scope:
    """Internal comments never reach customers or partners."""
    if principal.is_staff:
        return EVERYTHING
    if principal.is_customer or _partner_reads_tickets(principal):
        return (Comment.is_internal == False,)  # noqa: E712 - Piccolo builds SQL from ==
    return None
