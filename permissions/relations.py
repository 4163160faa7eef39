"""How one principal stands to the objects of one request (self, same organisation, …).

A ``RequestRelations`` lives for one request. Relations readable from the object itself
(ids on its record) are computed on first use and memoised per object. Relations that
need the database (an agent assigned to a ticket the user requested) are *deferred*:
every object asking in the same event-loop turn is checked in one query (a DataLoader),
and the answer is memoised for the rest of the request — a list of 50 users costs one
query, never one per object or per field.

Objects are the strawberry types of the schema: their ``record`` attribute holds the
plain record the relation is read from (``UserRecord``, ``TicketRecord``, …).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from piccolo.querystring import QueryString
from strawberry.dataloader import DataLoader

from accounts.tables import ContactVisibility
from desk.tables import Ticket
from permissions.policy import Relation, Subject
from permissions.principal import Principal

NO_RELATIONS: frozenset[Relation] = frozenset()
_SELF = frozenset({Relation.SELF})
_SAME_ORGANISATION = frozenset({Relation.SAME_ORGANISATION})

# Relations that need a query, per subject; everything else is read from the record.
DEFERRED: dict[Subject, frozenset[Relation]] = {
    Subject.USER: frozenset({Relation.ASSIGNED_AGENT}),
}


# The name of the column :func:`assigned_requester_column` adds to a users query.
ASSIGNED_FLAG = "assigned_to_principal"


def assigned_requester_column(principal: Principal) -> QueryString | None:
    """A select column for a query on the users table: whether each user requested a
    ticket assigned to ``principal`` (the deferred ASSIGNED_AGENT relation, exactly as
    :meth:`RequestRelations._load_assigned_requesters` asks it), so that it costs no
    query of its own. None for principals who cannot be assigned (only staff users can);
    for them the relation, if ever needed, is asked the usual way."""
    if not principal.is_staff or principal.user_id is None:
        return None
    return QueryString(_ASSIGNED_REQUESTER_SQL, principal.user_id)


# A literal (no names interpolated into SQL); a test checks the names against the tables.
_ASSIGNED_REQUESTER_SQL = (
    'EXISTS (SELECT 1 FROM "tickets" WHERE "tickets"."requester" = "users"."id"'
    ' AND "tickets"."assignee" = {}) AS "assigned_to_principal"'
)


def _same_organisation(principal: Principal, organisation_id: uuid.UUID | None) -> bool:
    return organisation_id is not None and organisation_id == principal.organisation_id


def _user(principal: Principal, record: Any) -> frozenset[Relation]:
    relations = set()
    if principal.user_id is not None and record.id == principal.user_id:
        relations.add(Relation.SELF)
    if _same_organisation(principal, record.organisation_id):
        relations.add(Relation.SAME_ORGANISATION)
        if record.contact_visibility == ContactVisibility.organisation:
            relations.add(Relation.CONTACT_SHARED)
    return frozenset(relations)


def _organisation(principal: Principal, record: Any) -> frozenset[Relation]:
    return _SAME_ORGANISATION if _same_organisation(principal, record.id) else NO_RELATIONS


def _ticket(principal: Principal, record: Any) -> frozenset[Relation]:
    relations = set()
    if _same_organisation(principal, record.organisation_id):
        relations.add(Relation.SAME_ORGANISATION)
    if principal.user_id is not None:
        if record.requester_id == principal.user_id:
            relations.add(Relation.REQUESTER)
        if record.assignee_id == principal.user_id:
            relations.add(Relation.ASSIGNED_AGENT)
    return frozenset(relations)


def _owned_by(attribute: str) -> Callable[[Principal, Any], frozenset[Relation]]:
    def relations(principal: Principal, record: Any) -> frozenset[Relation]:
        owner = getattr(record, attribute)
        return (
            _SELF if principal.user_id is not None and owner == principal.user_id else NO_RELATIONS
        )

    return relations


def _none(principal: Principal, record: Any) -> frozenset[Relation]:
    return NO_RELATIONS


# Per subject: the relations read from the record (deferred ones are added by the loader).
RECORD_RELATIONS: dict[Subject, Callable[[Principal, Any], frozenset[Relation]]] = {
    Subject.NONE: _none,
    Subject.USER: _user,
    Subject.ORGANISATION: _organisation,
    Subject.TICKET: _ticket,
    Subject.COMMENT: _owned_by("author_id"),
    Subject.OWNED: _owned_by("user_id"),
}


def _record_of(source: Any) -> Any:
    # Fail closed: an object without a record has no relation but ANY.
    return getattr(source, "record", None)


class RequestRelations:
    """The principal's relations to objects, memoised for one request."""

    def __init__(
        self, principal: Principal, assigned_facts: Mapping[uuid.UUID, bool] | None = None
    ) -> None:
        """``assigned_facts``: user id -> "requested a ticket assigned to the principal",
        as the request's users loader read them with the users themselves
        (:func:`assigned_requester_column`); a user not in it is asked with a query."""
        self.principal = principal
        self._assigned_facts = assigned_facts if assigned_facts is not None else {}
        self._memo: dict[tuple[Subject, Any], frozenset[Relation]] = {}
        self._deferred_done: set[tuple[Subject, Any]] = set()
        self._assigned_requesters: DataLoader[uuid.UUID, bool] = DataLoader(
            self._load_assigned_requesters
        )
        self.queries = 0  # deferred-relation queries run; tests and benchmarks read it

    def of(self, subject: Subject, source: Any) -> frozenset[Relation]:
        """Relations readable from the object itself (no query); memoised."""
        record = _record_of(source)
        if record is None:
            return NO_RELATIONS
        key = (subject, record.id)
        relations = self._memo.get(key)
        if relations is None:
            relations = RECORD_RELATIONS[subject](self.principal, record)
            self._memo[key] = relations
        return relations

    def known(self, subject: Subject, source: Any) -> tuple[frozenset[Relation], bool]:
        """The relations known without a query, and whether they are all of them (the
        deferred ones already loaded, by :meth:`with_deferred` or with the object)."""
        record = _record_of(source)
        if record is None:
            return NO_RELATIONS, True
        key = (subject, record.id)
        relations = self._memo.get(key)
        if relations is None:
            relations = self._memo[key] = RECORD_RELATIONS[subject](self.principal, record)
        if key in self._deferred_done:
            return relations, True
        if subject is Subject.USER:
            assigned = self._assigned_facts.get(record.id)
            if assigned is not None:
                return self._settled(key, relations, assigned=assigned), True
        return relations, subject not in DEFERRED

    async def with_deferred(self, subject: Subject, source: Any) -> frozenset[Relation]:
        """All relations, including those that need a query (batched with every other
        object asking in the same turn, then memoised)."""
        relations, complete = self.known(subject, source)
        if complete:
            return relations
        record = _record_of(source)
        assigned = await self._assigned_requesters.load(record.id)
        return self._settled((subject, record.id), relations, assigned=assigned)

    def _settled(
        self, key: tuple[Subject, Any], relations: frozenset[Relation], *, assigned: bool
    ) -> frozenset[Relation]:
        if assigned:
            relations = relations | {Relation.ASSIGNED_AGENT}
        self._memo[key] = relations
        self._deferred_done.add(key)
        return relations

    async def _load_assigned_requesters(self, user_ids: Sequence[uuid.UUID]) -> list[bool]:
        """For each user: did they request a ticket assigned to the principal? One query."""
        if self.principal.user_id is None:
            return [False] * len(user_ids)
        self.queries += 1
        rows = await Ticket.select(Ticket.requester).where(
            Ticket.assignee == self.principal.user_id, Ticket.requester.is_in(list(user_ids))
        )
        requesters = {row["requester"] for row in rows}
        return [user_id in requesters for user_id in user_ids]
