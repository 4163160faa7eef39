"""Users' contact data at rest: encrypted under the user's data key, found by blind index.

The one place that turns email/phone into ciphertext and back. Ciphertexts are bound to
(users, column, user id), so a value copied to another row or column does not decrypt;
an erased user's key is gone, so its contact data reads as None.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from piccolo.columns import Column

from accounts.records import UserRecord
from accounts.tables import User
from privacy.crypto import (
    DataKey,
    DecryptionError,
    KeyFamily,
    blind_index,
    blind_index_candidates,
)
from privacy.crypto.column import open_cell, seal_cell
from privacy.keys_in_use import current_keyring
from privacy.subject_keys import data_key_for, data_keys_for

EMAIL_PURPOSE = "users.email"


def email_lookup(normalised_email: str) -> tuple[str, int]:
    """The email's blind index under the active key, and that key's version."""
    index = blind_index(normalised_email, keyring=current_keyring(), purpose=EMAIL_PURPOSE)
    return index.value, index.key_version


def email_lookup_candidates(normalised_email: str) -> list[str]:
    """The index under every key version: lookups keep working while re-indexing."""
    return [
        index.value
        for index in blind_index_candidates(
            normalised_email, keyring=current_keyring(), purpose=EMAIL_PURPOSE
        )
    ]


async def sealed_contact(user_id: uuid.UUID, *, email: str, phone: str | None) -> dict[str, Any]:
    """Column values for a user's contact data (creates the user's data key if needed)."""
    key = await data_key_for(user_id)
    return {
        "email": _seal(key, User.email, user_id, email),
        "phone": _seal(key, User.phone, user_id, phone) if phone is not None else None,
    }


async def sealed_phone(user_id: uuid.UUID, phone: str | None) -> str | None:
    if phone is None:
        return None
    return _seal(await data_key_for(user_id), User.phone, user_id, phone)


def _seal(key: DataKey, column: Column, user_id: uuid.UUID, value: str) -> str:
    return seal_cell(column, key=key, row_id=str(user_id), value=value)


async def opened_contacts(
    rows: Sequence[dict[str, Any]],
) -> dict[uuid.UUID, tuple[str | None, str | None]]:
    """(email, phone) in clear for each row (needs ``id``, ``email``, ``phone``); None where
    the subject's key was destroyed or a value does not decrypt in its cell."""
    keys = await data_keys_for([row["id"] for row in rows])
    opened = {}
    for row in rows:
        key = keys.get(row["id"])
        opened[row["id"]] = (
            _open(key, User.email, row["id"], row["email"]),
            _open(key, User.phone, row["id"], row["phone"]),
        )
    return opened


async def open_contacts_of(
    records: Sequence[UserRecord],
) -> dict[uuid.UUID, tuple[str | None, str | None]]:
    """(email, phone) in clear for each record: those opened on load as they are, the
    sealed ones decrypted together (one data-key query for all of them)."""
    opened = {record.id: (record.email, record.phone) for record in records}
    sealed = [
        {"id": record.id, "email": record.sealed_contact[0], "phone": record.sealed_contact[1]}
        for record in records
        if record.sealed_contact is not None
    ]
    if sealed:
        opened.update(await opened_contacts(sealed))
    return opened


def _open(
    key: DataKey | None, column: Column, user_id: uuid.UUID, sealed: str | None
) -> str | None:
    if key is None or not sealed:
        return None
    try:
        return open_cell(column, key=key, row_id=str(user_id), token=sealed)
    except DecryptionError:
        return None


async def reindex_email_batch(batch_size: int) -> int:
    """Recompute up to ``batch_size`` email indexes still under an older blind-index key;
    returns how many. Each row is updated only if still on its old version (resumable)."""
    keyring = current_keyring()
    active = keyring.active_version(KeyFamily.BLIND_INDEX)
    rows = (
        await User.select(User.id, User.email, User.phone, User.email_lookup_version)
        .where(User.email_lookup_version != active)
        .limit(batch_size)
    )
    contacts = await opened_contacts(rows)
    for row in rows:
        email = contacts[row["id"]][0]
        # An erased user's address is unreadable: its index can only be retired.
        lookup = email_lookup(email)[0] if email else f"erased-{row['id'].hex}"[:32]
        await User.update({User.email_lookup: lookup, User.email_lookup_version: active}).where(
            (User.id == row["id"]) & (User.email_lookup_version == row["email_lookup_version"])
        )
    return len(rows)


async def user_id_for_email(normalised_email: str) -> uuid.UUID | None:
    row = (
        await User.select(User.id)
        .where(User.email_lookup.is_in(email_lookup_candidates(normalised_email)))
        .first()
    )
    return row["id"] if row else None
