"""User and organisation use cases that other layers call (never raw table access)."""

from __future__ import annotations

import functools
import sqlite3
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
from piccolo.querystring import QueryString

from accounts.emails import normalise_email
from accounts.records import OrganisationRecord, UserRecord
from accounts.services.contact import (
    email_lookup,
    opened_contacts,
    sealed_contact,
    sealed_phone,
    user_id_for_email,
)
from accounts.tables import ContactVisibility, Organisation, User
from core.errors import BadUserInput, NotFound
from core.reusable_select import ReusableSelect
from core.text import clean_text
from permissions.roles import Role

DISPLAY_NAME_MAX = 120
PHONE_MAX = 40
ORGANISATION_NAME_MAX = 200
_USER_COLUMNS = (
    User.id,
    User.organisation,
    User.display_name,
    User.email,
    User.phone,
    User.contact_visibility,
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
    if await user_id_for_email(normalised) is not None:
        raise BadUserInput("A user with this email already exists.", field="email")
    now = datetime.now(UTC)
    user_id = uuid.uuid4()
    lookup, lookup_version = email_lookup(normalised)
    contact = await sealed_contact(user_id, email=normalised, phone=None)
    user = User(
        id=user_id,
        organisation=organisation_id,
        display_name=name,
        email=contact["email"],
        email_lookup=lookup,
        email_lookup_version=lookup_version,
        phone=contact["phone"],
        role=role.value,
        password_hash=password_hash,
        is_active=True,
        created_at=now,
        updated_at=now,
    )
    try:
        await user.save()
    except (sqlite3.IntegrityError, asyncpg.UniqueViolationError):
        # Two registrations of one address at once: the unique blind index decides.
        raise BadUserInput("A user with this email already exists.", field="email") from None
    created = await get_user(user.id)
    assert created is not None  # noqa: S101 - written above
    return created


# The hot users queries (one behind nearly every request), composed once per number of ids.
_USERS_BY_IDS = ReusableSelect(
    User, lambda ids: User.select(*_USER_COLUMNS).where(User.id.is_in(ids))
)


# One per flag template. Templates are literals in the code (permissions.relations), so
# only a few ever exist; bounded all the same, should a caller ever build them.
@functools.lru_cache(maxsize=16)
def _flagged_users(flag_template: str) -> ReusableSelect[User]:
    return ReusableSelect(
        User,
        lambda ids, flag_value: User.select(
            *_USER_COLUMNS, QueryString(flag_template, flag_value)
        ).where(User.id.is_in(ids)),
    )


async def get_user(user_id: uuid.UUID) -> UserRecord | None:
    return (await users_by_ids([user_id])).get(user_id)


async def users_by_ids(user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, UserRecord]:
    """Users with their contact data decrypted (None where it cannot be: erased)."""
    if not user_ids:
        return {}
    rows = await _USERS_BY_IDS.run(ids=list(user_ids))
    contacts = await opened_contacts(rows)
    return {row["id"]: UserRecord.from_row(row, *contacts[row["id"]]) for row in rows}


async def users_with_sealed_contact_by_ids(
    user_ids: Sequence[uuid.UUID],
) -> dict[uuid.UUID, UserRecord]:
    """Users as stored, contact data still sealed: one query, no key is opened (see
    ``UserRecord.sealed_contact``; ``contact.open_contacts_of`` opens it when needed)."""
    if not user_ids:
        return {}
    rows = await _USERS_BY_IDS.run(ids=list(user_ids))
    return {row["id"]: UserRecord.with_sealed_contact(row) for row in rows}


async def users_with_sealed_contact_and_flag(
    user_ids: Sequence[uuid.UUID], flag: QueryString, flag_name: str
) -> tuple[dict[uuid.UUID, UserRecord], set[uuid.UUID]]:
    """As :func:`users_with_sealed_contact_by_ids`, with one more boolean column
    (``flag``, named ``flag_name``) computed in the same query; returns the users and the
    ids for which it is true. ``flag``: a literal SQL template binding one value."""
    if not user_ids:
        return {}, set()
    (flag_value,) = flag.args
    rows = await _flagged_users(flag.template).run(ids=list(user_ids), flag_value=flag_value)
    users = {row["id"]: UserRecord.with_sealed_contact(row) for row in rows}
    return users, {row["id"] for row in rows if row[flag_name]}


async def personal_words(user_id: uuid.UUID) -> tuple[str, ...]:
    """What a user's password must not contain: its email and display name."""
    record = await get_user(user_id)
    if record is None:
        return ()
    return tuple(value for value in (record.email, record.display_name) if value)


async def set_phone(user_id: uuid.UUID, phone: str | None) -> None:
    """Store (encrypted) or clear a user's phone number."""
    clean = clean_text(phone, field="phone", max_length=PHONE_MAX) if phone else None
    await User.update(
        {User.phone: await sealed_phone(user_id, clean), User.updated_at: datetime.now(UTC)}
    ).where(User.id == user_id)


async def set_contact_visibility(user_id: uuid.UUID, visibility: str) -> UserRecord:
    """The user's own choice of who sees their contact data; raises BadUserInput."""
    if visibility not in {choice.value for choice in ContactVisibility}:
        raise BadUserInput("Must be organisation or private.", field="visibility")
    await User.update(
        {User.contact_visibility: visibility, User.updated_at: datetime.now(UTC)}
    ).where(User.id == user_id)
    record = await get_user(user_id)
    if record is None:
        raise NotFound()
    return record


async def organisations_by_ids(
    organisation_ids: Sequence[uuid.UUID],
) -> dict[uuid.UUID, OrganisationRecord]:
    if not organisation_ids:
        return {}
    rows = await Organisation.select().where(Organisation.id.is_in(list(organisation_ids)))
    return {row["id"]: OrganisationRecord.from_row(row) for row in rows}
