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


def visible_tickets(principal: Principal) -> Scope:
    """Staff see every ticket; customers their organisation's; everyone else none."""
    if principal.is_staff:
        return EVERYTHING
    if principal.is_customer and principal.organisation_id is not None:
        return (Ticket.organisation == principal.organisation_id,)
    return None


def visible_comments(principal: Principal) -> Scope:
    """Internal comments never reach customers."""
    if principal.is_staff:
        return EVERYTHING
    if principal.is_customer:
        return (Comment.is_internal == False,)  # noqa: E712 - Piccolo builds SQL from ==
    return None
