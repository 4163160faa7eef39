"""TOTP secrets at rest: sealed under the user's own data key, bound to their cell.

Like the contact data, a secret is an envelope (privacy.crypto.column) under the
subject's data key, bound to (users, column, user id); erasing the user destroys the key
and with it every copy of the secret. Secrets sealed before this (under a purpose key
derived from the KEK with HKDF; their key id is the KEK version) still open; each is
sealed again under the data key the next time it is used (second_factor), and
``opendesk keys rotate`` moves the rest (:func:`legacy_secrets`) and counts them in
``keys status``.
"""

from __future__ import annotations

import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from piccolo.columns import Column

from accounts.tables import User
from privacy.crypto import (
    DataKey,
    DecryptionError,
    KeyFamily,
    Keyring,
    KeyringError,
    read_key_id,
)
from privacy.crypto.column import open_cell, seal_cell
from privacy.keys_in_use import current_keyring
from privacy.subject_keys import data_key_for, data_keys_for

_LEGACY_INFO = b"opendesk/totp-secret/v1"


async def seal(secret: str, *, user_id: uuid.UUID, column: Column) -> str:
    """The secret's envelope for ``column`` of the user's row (creates the data key)."""
    key = await data_key_for(user_id)
    return seal_cell(column, key=key, row_id=str(user_id), value=secret)


async def unseal(sealed: str, *, keyring: Keyring, user_id: uuid.UUID, column: Column) -> str:
    """Raises privacy.crypto.DecryptionError when the value was tampered with or moved,
    or the user's data key is gone (erased)."""
    try:
        key_id = read_key_id(sealed)
    except ValueError:
        raise DecryptionError from None
    key = (await data_keys_for([user_id])).get(user_id)
    if key is None or key.key_id != key_id:
        key = _legacy_key(keyring, key_id)
    return open_cell(column, key=key, row_id=str(user_id), token=sealed)


def _legacy_key(keyring: Keyring, key_id: str) -> DataKey:
    """The HKDF purpose key secrets were sealed under before they moved to data keys."""
    try:
        version = int(key_id, 16)
        material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LEGACY_INFO).derive(
            keyring.key_bytes(KeyFamily.KEK, version)
        )
    except (ValueError, KeyringError):
        raise DecryptionError from None
    return DataKey(key_id=key_id, material=material)


def _under_data_key(sealed: str, key: DataKey | None) -> bool:
    try:
        return key is not None and read_key_id(sealed) == key.key_id
    except ValueError:
        return False


async def resealed_if_legacy(
    secret: str, sealed: str, *, user_id: uuid.UUID, column: Column
) -> str | None:
    """A fresh envelope under the user's data key when ``sealed`` is still under the
    old purpose key (``secret`` is its plaintext); None when it needs nothing."""
    keys = await data_keys_for([user_id])
    if _under_data_key(sealed, keys.get(user_id)):
        return None
    return await seal(secret, user_id=user_id, column=column)


_SEALED_COLUMNS = (User.totp_secret_sealed, User.totp_pending_sealed)


async def legacy_secrets(batch_size: int = 500, *, reseal: bool = False) -> int:
    """How many TOTP secrets are still under the old purpose key; with ``reseal``, seal
    each again under its user's data key (compare-and-set per cell: a secret changed
    meanwhile is left alone) and return how many moved. Unreadable ones are skipped."""
    keyring = current_keyring()
    found = 0
    last: uuid.UUID | None = None
    while True:
        query = User.select(User.id, *_SEALED_COLUMNS).where(
            User.totp_secret_sealed.is_not_null() | User.totp_pending_sealed.is_not_null()
        )
        if last is not None:
            query = query.where(User.id > last)
        rows = await query.order_by(User.id).limit(batch_size)
        if not rows:
            return found
        keys = await data_keys_for([row["id"] for row in rows])
        for row in rows:
            for column in _SEALED_COLUMNS:
                token = row[column._meta.name]
                if not token or _under_data_key(token, keys.get(row["id"])):
                    continue
                if not reseal:
                    found += 1
                    continue
                try:
                    secret = await unseal(token, keyring=keyring, user_id=row["id"], column=column)
                except DecryptionError:
                    continue
                fresh = await seal(secret, user_id=row["id"], column=column)
                moved = (
                    await User.update({column: fresh})
                    .where((User.id == row["id"]) & (column == token))
                    .returning(User.id)
                )
                found += len(moved)
        last = rows[-1]["id"]
