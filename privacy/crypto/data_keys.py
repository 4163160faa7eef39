"""Per-data-subject data keys (DEKs), stored only wrapped under a KEK.

Each data subject (a user) gets a random 256-bit data key that encrypts that subject's
personal values (see :mod:`privacy.crypto.envelope`). The database stores the *wrapped*
data key next to the subject, never the plain one.

Crypto-shredding contract (implemented by the database layer): deleting every stored
:class:`WrappedDataKey` of a subject makes all of that subject's ciphertexts permanently
unreadable, including copies in backups, as long as no plain data key was persisted
anywhere (do not cache plain keys beyond a request or in shared stores). KEK rotation
uses :func:`rewrap`, which changes the wrapping only: ciphertexts made with the data
key stay valid.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import NoReturn

from privacy.crypto._encoding import (
    TOKEN_ID_PATTERN,
    b64url_decode,
    b64url_encode,
    length_prefixed,
)
from privacy.crypto.errors import DecryptionError
from privacy.crypto.key_provider import KeyProvider, LocalKeyProvider
from privacy.crypto.keyring import Keyring

DATA_KEY_BYTES = 32
_WRAPPED_PREFIX = "w1"
_CONTEXT_LABEL = b"opendesk/data-key/v1"


@dataclass(frozen=True, slots=True, eq=False)
class DataKey:
    """A plain data key: ``key_id`` names it inside ciphertexts, ``material`` is secret.

    ``repr`` shows the id only. Construct with :func:`generate_data_key` or
    :func:`unwrap_data_key`; raises ValueError on a malformed id or key length.
    """

    key_id: str
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not TOKEN_ID_PATTERN.fullmatch(self.key_id):
            raise ValueError("key_id must be 1-64 characters of [A-Za-z0-9_-]")
        if len(self.material) != DATA_KEY_BYTES:
            raise ValueError(f"data key material must be {DATA_KEY_BYTES} bytes")

    def __reduce__(self) -> NoReturn:
        raise TypeError("DataKey cannot be pickled")


@dataclass(frozen=True, slots=True)
class WrappedDataKey:
    """A data key wrapped for ``subject_id`` under KEK ``kek_version``; safe to store.

    ``subject_id`` is not part of :meth:`to_token`: the caller supplies it again from
    the row the token was read from, so a wrapped key copied to another subject's row
    fails to unwrap.
    """

    subject_id: str
    key_id: str
    kek_version: int
    wrapped: bytes = field(repr=False)

    def to_token(self) -> str:
        """ASCII form for a TEXT column: ``w1.<kek_version>.<key_id>.<base64url>``."""
        return f"{_WRAPPED_PREFIX}.{self.kek_version}.{self.key_id}.{b64url_encode(self.wrapped)}"

    @classmethod
    def from_token(cls, token: str, *, subject_id: str) -> WrappedDataKey:
        """Parse :meth:`to_token` output; raises DecryptionError if malformed."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != _WRAPPED_PREFIX:
            raise DecryptionError
        _, version_text, key_id, encoded = parts
        if not (version_text.isascii() and version_text.isdigit()) or len(version_text) > 9:
            raise DecryptionError
        if not TOKEN_ID_PATTERN.fullmatch(key_id):
            raise DecryptionError
        try:
            wrapped = b64url_decode(encoded)
        except ValueError:
            raise DecryptionError from None
        return cls(subject_id, key_id, int(version_text), wrapped)


def generate_data_key() -> DataKey:
    """A fresh random data key with a fresh random 16-character id."""
    return DataKey(secrets.token_hex(8), secrets.token_bytes(DATA_KEY_BYTES))


def wrap_data_key(
    data_key: DataKey, *, subject_id: str, provider: KeyProvider | Keyring
) -> WrappedDataKey:
    """Wrap ``data_key`` under the active KEK, bound to ``subject_id`` and its key id."""
    key_provider = _as_provider(provider)
    kek_version, wrapped = key_provider.wrap_key(
        data_key.material, context=_context(subject_id, data_key.key_id)
    )
    return WrappedDataKey(subject_id, data_key.key_id, kek_version, wrapped)


def create_data_key(
    *, subject_id: str, provider: KeyProvider | Keyring
) -> tuple[DataKey, WrappedDataKey]:
    """A fresh data key for ``subject_id``: the plain key to use now, the wrapped one to store."""
    data_key = generate_data_key()
    return data_key, wrap_data_key(data_key, subject_id=subject_id, provider=provider)


def unwrap_data_key(wrapped: WrappedDataKey, *, provider: KeyProvider | Keyring) -> DataKey:
    """The plain data key; raises DecryptionError on any failure (wrong subject, unknown
    KEK version, tampering)."""
    material = _as_provider(provider).unwrap_key(
        wrapped.wrapped,
        kek_version=wrapped.kek_version,
        context=_context(wrapped.subject_id, wrapped.key_id),
    )
    if len(material) != DATA_KEY_BYTES:
        raise DecryptionError
    return DataKey(wrapped.key_id, material)


def rewrap(wrapped: WrappedDataKey, provider: KeyProvider | Keyring) -> WrappedDataKey:
    """``wrapped`` re-wrapped under the active KEK (the same object if it already is).

    The data key itself is unchanged, so its ciphertexts need no re-encryption. Raises
    DecryptionError if ``wrapped`` cannot be unwrapped.
    """
    key_provider = _as_provider(provider)
    if wrapped.kek_version == key_provider.active_kek_version():
        return wrapped
    data_key = unwrap_data_key(wrapped, provider=key_provider)
    return wrap_data_key(data_key, subject_id=wrapped.subject_id, provider=key_provider)


def _as_provider(provider: KeyProvider | Keyring) -> KeyProvider:
    return LocalKeyProvider(provider) if isinstance(provider, Keyring) else provider


def _context(subject_id: str, key_id: str) -> bytes:
    if not subject_id:
        # An empty subject would bind every wrapped key to the same context.
        raise ValueError("subject_id must not be empty")
    return length_prefixed(_CONTEXT_LABEL, subject_id, key_id)
