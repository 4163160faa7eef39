"""Who holds the key-encryption keys: the local keyring now, an external KMS later.

Data keys (see :mod:`privacy.crypto.data_keys`) are only ever stored wrapped. A
:class:`KeyProvider` wraps and unwraps them; :class:`LocalKeyProvider` does it with the
``kek`` family of a :class:`~privacy.crypto.keyring.Keyring`. A KMS-backed provider
(e.g. Vault transit) implements the same three methods; since those are network calls,
callers on the event loop should run them in a worker thread and cache unwrapped keys.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy.crypto._encoding import length_prefixed
from privacy.crypto.errors import DecryptionError, KeyringError
from privacy.crypto.keyring import KeyFamily, Keyring

_NONCE_BYTES = 12
_WRAP_LABEL = b"opendesk/kek-wrap/v1"


@runtime_checkable
class KeyProvider(Protocol):
    """Wraps data keys under versioned key-encryption keys (KEKs).

    Contract for implementations:

    * ``wrap_key`` uses the active KEK and returns ``(kek_version, wrapped_bytes)``;
    * ``unwrap_key`` with the same ``context`` and version returns the original bytes and
      raises :class:`DecryptionError` for anything else (other context, unknown version,
      tampered bytes);
    * ``context`` is authenticated, not secret: a wrapped key moved to another context
      must fail to unwrap.
    """

    def active_kek_version(self) -> int:
        """The KEK version ``wrap_key`` uses now."""
        ...

    def wrap_key(self, plaintext_key: bytes, *, context: bytes) -> tuple[int, bytes]:
        """Wrap ``plaintext_key`` under the active KEK, bound to ``context``."""
        ...

    def unwrap_key(self, wrapped_key: bytes, *, kek_version: int, context: bytes) -> bytes:
        """Inverse of ``wrap_key``; raises DecryptionError on any failure."""
        ...


class LocalKeyProvider:
    """A :class:`KeyProvider` backed by the ``kek`` family of a local keyring.

    Wrapping is AES-256-GCM with a random 96-bit nonce; the associated data is the
    caller's context plus the KEK version, so a wrapped key relabelled with another
    version fails to unwrap instead of being tried under the wrong key.
    """

    __slots__ = ("_keyring",)

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def active_kek_version(self) -> int:
        return self._keyring.active_version(KeyFamily.KEK)

    def wrap_key(self, plaintext_key: bytes, *, context: bytes) -> tuple[int, bytes]:
        version = self.active_kek_version()
        kek = AESGCM(self._keyring.key_bytes(KeyFamily.KEK, version))
        nonce = os.urandom(_NONCE_BYTES)
        wrapped = kek.encrypt(nonce, plaintext_key, _associated_data(context, version))
        return version, nonce + wrapped

    def unwrap_key(self, wrapped_key: bytes, *, kek_version: int, context: bytes) -> bytes:
        try:
            kek = AESGCM(self._keyring.key_bytes(KeyFamily.KEK, kek_version))
        except KeyringError:
            raise DecryptionError from None
        nonce, wrapped = wrapped_key[:_NONCE_BYTES], wrapped_key[_NONCE_BYTES:]
        if len(nonce) != _NONCE_BYTES:
            raise DecryptionError
        try:
            return kek.decrypt(nonce, wrapped, _associated_data(context, kek_version))
        except InvalidTag:
            raise DecryptionError from None

    def __repr__(self) -> str:
        return f"LocalKeyProvider(kek active v{self.active_kek_version()})"


def _associated_data(context: bytes, kek_version: int) -> bytes:
    return length_prefixed(_WRAP_LABEL, context, kek_version)
