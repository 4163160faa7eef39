"""THE SEAM for TOTP secrets at rest, until per-subject data keys land (encryption issue).

Secrets are AES-256-GCM envelopes bound to (users, column, user id), under a key derived
with HKDF from the active KEK for this one purpose (key separation: the KEK itself never
encrypts data). Replace ``_purpose_key`` with the subject's data key when it exists.
"""

from __future__ import annotations

import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privacy.crypto import (
    DataKey,
    DecryptionError,
    KeyFamily,
    Keyring,
    KeyringError,
    decrypt_value,
    encrypt_value,
    read_key_id,
)

_TABLE = "users"
_INFO = b"opendesk/totp-secret/v1"


def _purpose_key(keyring: Keyring, version: int) -> DataKey:
    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        keyring.key_bytes(KeyFamily.KEK, version)
    )
    return DataKey(key_id=f"{version:016x}", material=material)


def seal(secret: str, *, keyring: Keyring, user_id: uuid.UUID, column: str) -> str:
    key = _purpose_key(keyring, keyring.active_version(KeyFamily.KEK))
    return encrypt_value(secret, key=key, table=_TABLE, column=column, row_id=str(user_id))


def unseal(sealed: str, *, keyring: Keyring, user_id: uuid.UUID, column: str) -> str:
    """Raises privacy.crypto.DecryptionError when the value was tampered with or moved."""
    try:
        key = _purpose_key(keyring, int(read_key_id(sealed), 16))
    except (ValueError, KeyringError):
        raise DecryptionError from None
    return decrypt_value(sealed, key=key, table=_TABLE, column=column, row_id=str(user_id))
