"""Per-request dataloaders: every relation resolved inside a list goes through one of these,
so a page of tickets costs a fixed number of queries whatever its size (no N+1).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

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
    """Loaders bound to one principal; a new set is made for every request."""

    def __init__(self, principal: Principal) -> None:
        self._principal = principal
        # For staff: which loaded users requested a ticket assigned to the principal (the
        # ASSIGNED_AGENT relation), read in the users query itself; the field policy
        # uses it instead of a query of its own (permissions.relations).
        self.assigned_facts: dict[uuid.UUID, bool] = {}
        # Users with their contact data still sealed; ``contacts`` opens it, only for the
        # users whose email or phone a request actually resolves.
        self.users: DataLoader[uuid.UUID, UserRecord | None] = DataLoader(self._load_users)
        self.contacts: DataLoader[UserRecord, tuple[str | None, str | None]] = DataLoader(
            self._load_contacts, cache_key_fn=lambda record: record.id
        )
        self.organisations: DataLoader[uuid.UUID, OrganisationRecord | None] = DataLoader(
            self._load_organisations
        )
        self.comments: DataLoader[CommentsKey, list[CommentRecord]] = DataLoader(
            self._load_comments
        )
        self.attachments: DataLoader[uuid.UUID, list[AttachmentRecord]] = DataLoader(
            self._load_attachments
        )

    @property
    def principal(self) -> Principal:
        return self._principal

    async def _load_users(self, keys: Sequence[uuid.UUID]) -> list[UserRecord | None]:
        column = assigned_requester_column(self._principal)
        if column is None:
            found = await users_with_sealed_contact_by_ids(keys)
        else:
            found, assigned = await users_with_sealed_contact_and_flag(keys, column, ASSIGNED_FLAG)
            self.assigned_facts.update({user_id: user_id in assigned for user_id in found})
        return [found.get(key) for key in keys]

    async def _load_contacts(
        self, records: Sequence[UserRecord]
    ) -> list[tuple[str | None, str | None]]:
        opened = await open_contacts_of(records)
        return [opened[record.id] for record in records]

    async def _load_organisations(
        self, keys: Sequence[uuid.UUID]
    ) -> list[OrganisationRecord | None]:
        found = await organisations_by_ids(keys)
        return [found.get(key) for key in keys]

    async def _load_comments(self, keys: Sequence[CommentsKey]) -> list[list[CommentRecord]]:
        # Group by page size so aliases asking for different sizes stay one query each.
        by_size: dict[int, list[uuid.UUID]] = {}
        for ticket_id, first in keys:
            by_size.setdefault(first, []).append(ticket_id)
        pages: dict[CommentsKey, list[CommentRecord]] = {}
        for first, ticket_ids in by_size.items():
            found = await comments_for_tickets(self._principal, ticket_ids, first=first)
            for ticket_id in ticket_ids:
                pages[(ticket_id, first)] = found.get(ticket_id, [])
        return [pages[key] for key in keys]

    async def _load_attachments(self, keys: Sequence[uuid.UUID]) -> list[list[AttachmentRecord]]:
        found = await attachments_for_tickets(self._principal, keys)
        return [found.get(key, []) for key in keys]
