"""Authenticated encryption of one column value: AES-256-GCM bound to its cell.

A value is encrypted under a subject's :class:`~privacy.crypto.data_keys.DataKey` with a
fresh random 96-bit nonce. The associated data binds the ciphertext to the envelope
format, the key id and the cell it belongs to (table, column, row id), so a ciphertext
copied to another row or column, or relabelled with another key id, fails to decrypt.

Token format (ASCII, fits a TEXT column): ``v1.<key_id>.<base64url(nonce || ciphertext
|| tag)>``. The ``v1`` prefix lets a later format be introduced without guessing.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy.crypto._encoding import (
    TOKEN_ID_PATTERN,
    b64url_decode,
    b64url_encode,
    length_prefixed,
)
from privacy.crypto.data_keys import DataKey
from privacy.crypto.errors import DecryptionError

FORMAT_V1 = "v1"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_AAD_LABEL = b"opendesk/envelope/v1"


def encrypt_value(plaintext: str, *, key: DataKey, table: str, column: str, row_id: str) -> str:
    """Encrypt ``plaintext`` for the cell (table, column, row_id); returns an ASCII token.

    Two encryptions of the same value differ (random nonce). Raises ValueError if a cell
    coordinate is empty or ``plaintext`` is not encodable as UTF-8 (lone surrogates).
    """
    aad = _associated_data(key.key_id, table, column, row_id)
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key.material).encrypt(nonce, plaintext.encode("utf-8"), aad)
    return f"{FORMAT_V1}.{key.key_id}.{b64url_encode(nonce + sealed)}"


def decrypt_value(token: str, *, key: DataKey, table: str, column: str, row_id: str) -> str:
    """The plaintext of ``token`` if it was made with ``key`` for exactly this cell.

    Raises DecryptionError (one message, no detail) on every failure: malformed or
    truncated token, other key, other cell, any modified character. Never returns a
    partial value. Raises ValueError only for an empty cell coordinate (a caller bug).
    """
    aad = _associated_data(key.key_id, table, column, row_id)
    key_id, payload = _split(token)
    if key_id != key.key_id or len(payload) < _NONCE_BYTES + _TAG_BYTES:
        raise DecryptionError
    nonce, sealed = payload[:_NONCE_BYTES], payload[_NONCE_BYTES:]
    try:
        plaintext = AESGCM(key.material).decrypt(nonce, sealed, aad)
        return plaintext.decode("utf-8")
    except (InvalidTag, UnicodeDecodeError):
        raise DecryptionError from None


def read_key_id(token: str) -> str:
    """The key id a token names, so the caller can fetch that data key.

    Unauthenticated until :func:`decrypt_value` succeeds: use it to choose a key, never
    to make a decision. Raises DecryptionError if the token is malformed.
    """
    key_id, _ = _split(token)
    return key_id


def _split(token: str) -> tuple[str, bytes]:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != FORMAT_V1 or not TOKEN_ID_PATTERN.fullmatch(parts[1]):
        raise DecryptionError
    try:
        return parts[1], b64url_decode(parts[2])
    except ValueError:
        raise DecryptionError from None


def _associated_data(key_id: str, table: str, column: str, row_id: str) -> bytes:
    if not (table and column and row_id):
        # An empty coordinate would let values move between cells that share the rest.
        raise ValueError("table, column and row_id must all be non-empty")
    return length_prefixed(_AAD_LABEL, key_id, table, column, row_id)
