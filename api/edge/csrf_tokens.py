"""CSRF tokens: random, signed, and bound to the session cookie they were issued for.

A token is ``<key version hex>.<nonce>.<mac>`` with ``mac = HMAC-SHA256(purpose key,
nonce ‖ SHA-256(session cookie value))`` (an empty binding before sign-in). So:

* a token is only good with the session it was issued for: a token from another session,
  or one issued before sign-in and replayed after it, fails (the session cookie changes
  on login, so the token is re-issued with it);
* checking needs no store read: the edge checks every request before the app runs, and a
  lookup in the session record would double the session-store traffic and could not
  cover ``login`` (no session exists yet);
* the purpose key is derived with HKDF from the keyring's KEK (versioned, as
  ``accounts/secret_seal.py`` does): key separation from the KEK itself and from the
  blind-index keys, whose job (deterministic lookups) is a different one. Old KEK
  versions stay in the keyring after a rotation, so outstanding tokens keep working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Final, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privacy.crypto import KeyFamily, Keyring, KeyringError

__all__ = (
    "CSRFKeys",
    "KeyringCSRFKeys",
    "issue_csrf_token",
    "session_binding",
    "verify_csrf_token",
)

_HKDF_INFO: Final = b"opendesk/csrf-token/v1"
_MAC_CONTEXT: Final = b"opendesk-csrf\x00"
_NONCE_BYTES: Final = 16
_TOKEN_SHAPE: Final = re.compile(r"([0-9a-f]{1,8})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})")


class CSRFKeys(Protocol):
    """Where the signing keys come from; versioned so keys can rotate."""

    def active_version(self) -> int: ...

    def key(self, version: int) -> bytes:
        """Raises KeyError for an unknown version."""
        ...


class KeyringCSRFKeys:
    """CSRF signing keys derived (HKDF-SHA256) from each KEK version of ``keyring``."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._derived: dict[int, bytes] = {}

    def active_version(self) -> int:
        return self._keyring.active_version(KeyFamily.KEK)

    def key(self, version: int) -> bytes:
        if version not in self._derived:
            try:
                kek = self._keyring.key_bytes(KeyFamily.KEK, version)
            except KeyringError:
                raise KeyError(version) from None
            self._derived[version] = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO
            ).derive(kek)
        return self._derived[version]


def session_binding(session_cookie_value: str | None) -> bytes:
    """What a token is bound to: the SHA-256 of the session cookie, or b"" without one."""
    if not session_cookie_value:
        return b""
    return hashlib.sha256(session_cookie_value.encode("latin-1")).digest()


def issue_csrf_token(keys: CSRFKeys, binding: bytes) -> str:
    """A fresh token (128-bit nonce) for ``binding`` under the active key."""
    version = keys.active_version()
    nonce = secrets.token_bytes(_NONCE_BYTES)
    mac = _mac(keys.key(version), nonce, binding)
    return f"{version:x}.{_b64(nonce)}.{_b64(mac)}"


def verify_csrf_token(keys: CSRFKeys, token: str, binding: bytes) -> bool:
    """True only for a well-formed token signed for ``binding`` by a known key version.

    Constant-time on the MAC; never raises.
    """
    match = _TOKEN_SHAPE.fullmatch(token)
    if match is None:
        return False
    try:
        key = keys.key(int(match.group(1), 16))
        nonce = base64.urlsafe_b64decode(match.group(2) + "==")
    except (KeyError, ValueError):
        return False
    if _b64(nonce) != match.group(2):
        return False  # one spelling per token: base64's spare bits must be zero
    expected = _b64(_mac(key, nonce, binding))
    return hmac.compare_digest(expected, match.group(3))


def _mac(key: bytes, nonce: bytes, binding: bytes) -> bytes:
    # hmac.digest: the one-shot C path (hmac.new builds a Python HMAC object per call).
    return hmac.digest(key, _MAC_CONTEXT + nonce + binding, "sha256")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
