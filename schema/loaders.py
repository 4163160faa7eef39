"""Per-request dataloaders: every relation resolved inside a list goes through one of these,
so a page of tickets costs a fixed number of queries whatever its size (no N+1).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial
from typing import Any

from strawberry.dataloader import DataLoader

from accounts.records import OrganisationRecord, UserRecord
from accounts.services.contact import open_contacts_of
from accounts.services.users import (
    organisations_by_ids,
    users_with_sealed_contact_and_flag,
    users_with_sealed_contact_by_ids,
)
from desk.records import AttachmentRecord, CommentRecord
from desk.services.attachments import attachments_for_tickets
from desk.services.comments import comments_for_tickets
from permissions.principal import Principal
from permissions.relations import ASSIGNED_FLAG, assigned_requester_column

CommentsKey = tuple[uuid.UUID, int]


class Loaders:
    """Loaders bound to one principal; a new set is made for every request.

    The load functions are module functions bound to what they read (the principal, the
    fact table), never to this object: a loader holding a bound method of its owner
    makes a reference cycle, and the loaders with everything they hold could then only
    be freed by the cyclic garbage collector. See :meth:`release` for the cycle that
    is not ours.
    """

    def __init__(self, principal: Principal) -> None:
        self._principal = principal
        # For staff: which loaded users requested a ticket assigned to the principal (the
        # ASSIGNED_AGENT relation), read in the users query itself; the field policy
        # uses it instead of a query of its own (permissions.relations).
        self.assigned_facts: dict[uuid.UUID, bool] = {}
        # Users with their contact data still sealed; ``contacts`` opens it, only for the
        # users whose email or phone a request actually resolves.
        self.users: DataLoader[uuid.UUID, UserRecord | None] = DataLoader(
            partial(_load_users, principal, self.assigned_facts)
        )
        self.contacts: DataLoader[UserRecord, tuple[str | None, str | None]] = DataLoader(
            _load_contacts, cache_key_fn=_record_id
        )
        self.organisations: DataLoader[uuid.UUID, OrganisationRecord | None] = DataLoader(
            _load_organisations
        )
        self.comments: DataLoader[CommentsKey, list[CommentRecord]] = DataLoader(
            partial(_load_comments, principal)
        )
        self.attachments: DataLoader[uuid.UUID, list[AttachmentRecord]] = DataLoader(
            partial(_load_attachments, principal)
        )

    @property
    def principal(self) -> Principal:
        return self._principal

    def release(self) -> None:
        """Drop everything loaded, once the request has its answer.

        graphql-core's executor holds the request's context in a reference cycle of its
        own (the executor and its resolver helpers), so whatever the context reaches
        outlives the request until the cyclic garbage collector runs: on a tickets page
        ≈ 500 records, UUIDs and futures a request, each traversed by the collector
        before it is freed. Emptied here, they are freed at once by reference counting.
        """
        loaders: tuple[DataLoader[Any, Any], ...] = (
            self.users,
            self.contacts,
            self.organisations,
            self.comments,
            self.attachments,
        )
        for loader in loaders:
            loader.clear_all()  # the cache: a future per key, holding its result
            loader.batch = None  # the last batch: its keys and their futures
        self.assigned_facts.clear()


def _record_id(record: UserRecord) -> uuid.UUID:
    return record.id


async def _load_users(
    principal: Principal, assigned_facts: dict[uuid.UUID, bool], keys: Sequence[uuid.UUID]
) -> list[UserRecord | None]:
    column = assigned_requester_column(principal)
    if column is None:
        found = await users_with_sealed_contact_by_ids(keys)
    else:
        found, assigned = await users_with_sealed_contact_and_flag(keys, column, ASSIGNED_FLAG)
        assigned_facts.update({user_id: user_id in assigned for user_id in found})
    return [found.get(key) for key in keys]


async def _load_contacts(records: Sequence[UserRecord]) -> list[tuple[str | None, str | None]]:
    opened = await open_contacts_of(records)
    return [opened[record.id] for record in records]


async def _load_organisations(keys: Sequence[uuid.UUID]) -> list[OrganisationRecord | None]:
    found = await organisations_by_ids(keys)
    return [found.get(key) for key in keys]


async def _load_comments(
    principal: Principal, keys: Sequence[CommentsKey]
) -> list[list[CommentRecord]]:
    # Group by page size so aliases asking for different sizes stay one query each.
    by_size: dict[int, list[uuid.UUID]] = {}
    for ticket_id, first in keys:
        by_size.setdefault(first, []).append(ticket_id)
    pages: dict[CommentsKey, list[CommentRecord]] = {}
    for first, ticket_ids in by_size.items():
        found = await comments_for_tickets(principal, ticket_ids, first=first)
        for ticket_id in ticket_ids:
            pages[(ticket_id, first)] = found.get(ticket_id, [])
    return [pages[key] for key in keys]


async def _load_attachments(
    principal: Principal, keys: Sequence[uuid.UUID]
) -> list[list[AttachmentRecord]]:
    found = await attachments_for_tickets(principal, keys)
    return [found.get(key, []) for key in keys]
