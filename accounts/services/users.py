"""User and organisation use cases that other layers call (never raw table access)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from accounts.emails import normalise_email
from accounts.records import OrganisationRecord, UserRecord
from accounts.tables import Organisation, User
from core.errors import BadUserInput
from core.text import clean_text
from permissions.roles import Role

DISPLAY_NAME_MAX = 120
ORGANISATION_NAME_MAX = 200
_USER_COLUMNS = (
    User.id,
    User.organisation,
    User.display_name,
    User.email,
    User.phone,
    User.role,
    User.is_active,
    User.created_at,
)


async def create_organisation(name: str) -> OrganisationRecord:
    clean_name = clean_text(name, field="name", max_length=ORGANISATION_NAME_MAX)
    organisation = Organisation(id=uuid.uuid4(), name=clean_name, created_at=datetime.now(UTC))
    await organisation.save()
    return OrganisationRecord(id=organisation.id, name=clean_name)


async def create_user(
    *,
    email: str,
    display_name: str,
    role: Role,
    password_hash: str | None,
    organisation_id: uuid.UUID | None = None,
) -> UserRecord:
    """Create a user; customers must belong to an organisation. Duplicate email → BAD_USER_INPUT."""
    normalised = normalise_email(email)
    name = clean_text(display_name, field="displayName", max_length=DISPLAY_NAME_MAX)
    if role is Role.customer and organisation_id is None:
        raise BadUserInput("Customers belong to an organisation.", field="organisationId")
    if organisation_id is not None and not await Organisation.exists().where(
        Organisation.id == organisation_id
    ):
        raise BadUserInput("Unknown organisation.", field="organisationId")
    if await User.exists().where(User.email == normalised):
        raise BadUserInput("A user with this email already exists.", field="email")
    now = datetime.now(UTC)
    user = User(
        id=uuid.uuid4(),
        organisation=organisation_id,
        display_name=name,
        email=normalised,
        phone=None,
        role=role.value,
        password_hash=password_hash,
        is_active=True,
        created_at=now,
        updated_at=now,
    )
    await user.save()
    created = await get_user(user.id)
    assert created is not None  # noqa: S101 - written above
    return created


async def get_user(user_id: uuid.UUID) -> UserRecord | None:
    row = await User.select(*_USER_COLUMNS).where(User.id == user_id).first()
    return UserRecord.from_row(row) if row else None


async def users_by_ids(user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, UserRecord]:
    if not user_ids:
        return {}
    rows = await User.select(*_USER_COLUMNS).where(User.id.is_in(list(user_ids)))
    return {row["id"]: UserRecord.from_row(row) for row in rows}


async def organisations_by_ids(
    organisation_ids: Sequence[uuid.UUID],
) -> dict[uuid.UUID, OrganisationRecord]:
    if not organisation_ids:
        return {}
    rows = await Organisation.select().where(Organisation.id.is_in(list(organisation_ids)))
    return {row["id"]: OrganisationRecord.from_row(row) for row in rows}
