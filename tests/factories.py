"""Build real rows through the same services the API uses (no hand-inserted rows)."""

from __future__ import annotations

import itertools
from typing import Any

from accounts.records import OrganisationRecord, UserRecord
from accounts.services.users import create_organisation, create_user
from desk.records import TicketRecord
from desk.services.tickets import create_ticket
from permissions.principal import Principal, user_principal
from permissions.roles import Role

_counter = itertools.count(1)


async def make_organisation(name: str | None = None) -> OrganisationRecord:
    return await create_organisation(name or f"Organisation {next(_counter)}")


async def make_user(
    role: Role = Role.customer,
    organisation: OrganisationRecord | None = None,
    *,
    display_name: str | None = None,
    email: str | None = None,
) -> UserRecord:
    number = next(_counter)
    if role is Role.customer and organisation is None:
        organisation = await make_organisation()
    return await create_user(
        email=email or f"user{number}@example.com",
        display_name=display_name or f"User {number}",
        role=role,
        password_hash=None,
        organisation_id=organisation.id if organisation else None,
    )


def principal_of(user: UserRecord) -> Principal:
    return user_principal(user.id, user.role, user.organisation_id)


async def make_ticket(requester: UserRecord, **values: Any) -> TicketRecord:
    values.setdefault("subject", f"Ticket {next(_counter)}")
    values.setdefault("body", "Something is broken.")
    return await create_ticket(principal_of(requester), **values)
