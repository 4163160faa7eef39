"""Blind indexes: find a row by an encrypted value without decrypting anything.

``HMAC-SHA256(blind_index key, purpose || normalised value)``, truncated to 16 bytes
and hex-encoded. The purpose (e.g. ``"user.email"``) separates domains, so equal values
in different columns do not produce equal indexes. Only equality can be searched.

Rotation: a :class:`BlindIndex` records the key version it was computed with. While a
column is being re-indexed, look up with every value of :func:`blind_index_candidates`;
store :func:`blind_index` (active version) whenever a row is written.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

from privacy.crypto._encoding import length_prefixed
from privacy.crypto.keyring import KeyFamily, Keyring

INDEX_BYTES = 16
_MAC_LABEL = b"opendesk/blind-index/v1"


@dataclass(frozen=True, slots=True)
class BlindIndex:
    """An index value (32 lowercase hex characters) and the key version that made it."""

    value: str
    key_version: int

    def matches(self, other: str) -> bool:
        """Constant-time comparison with a stored index value."""
        return hmac.compare_digest(self.value, other)


def normalise_identifier(value: str) -> str:
    """NFKC, trimmed, case-folded (e.g. an email address) so equal-looking values index alike.

    NFKC is applied again after case folding because folding can un-normalise text.
    """
    folded = unicodedata.normalize("NFKC", value).strip().casefold()
    return unicodedata.normalize("NFKC", folded)


def blind_index(
    value: str, *, keyring: Keyring, purpose: str, key_version: int | None = None
) -> BlindIndex:
    """The blind index of ``value`` for ``purpose``, under the active key by default.

    Deterministic for a (normalised value, purpose, key version). Raises ValueError for an
    empty purpose or a value that is empty after normalisation; KeyringError for an unknown
    ``key_version``.
    """
    if not purpose:
        raise ValueError("purpose must not be empty")
    normalised = normalise_identifier(value)
    if not normalised:
        raise ValueError("value is empty after normalisation; nothing to index")
    version = keyring.active_version(KeyFamily.BLIND_INDEX) if key_version is None else key_version
    key = keyring.key_bytes(KeyFamily.BLIND_INDEX, version)
    message = length_prefixed(_MAC_LABEL, purpose, normalised)
    digest = hmac.new(key, message, hashlib.sha256).digest()[:INDEX_BYTES]
    return BlindIndex(digest.hex(), version)


def blind_index_candidates(value: str, *, keyring: Keyring, purpose: str) -> list[BlindIndex]:
    """The index of ``value`` under every key version, active version first."""
    active = keyring.active_version(KeyFamily.BLIND_INDEX)
    versions = [active] + [v for v in keyring.versions(KeyFamily.BLIND_INDEX) if v != active]
    return [
        blind_index(value, keyring=keyring, purpose=purpose, key_version=version)
        for version in versions
    ]
