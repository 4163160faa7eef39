"""TOTP secrets at rest: sealed under the user's own data key, bound to their cell.

Like the contact data, a secret is an envelope (privacy.crypto.column) under the
subject's data key, bound to (users, column, user id); erasing the user destroys the key
and with it every copy of the secret. Secrets sealed before this (under a purpose key
derived from the KEK with HKDF; their key id is the KEK version) still open, and are
sealed again under the data key the next time they are written.
"""

from __future__ import annotations

import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from piccolo.columns import Column

from privacy.crypto import (
    DataKey,
    DecryptionError,
    KeyFamily,
    Keyring,
    KeyringError,
    read_key_id,
)
from privacy.crypto.column import open_cell, seal_cell
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
