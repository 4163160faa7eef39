"""Opaque random tokens (sessions, CSRF, one-time links) and partner API keys.

What callers may rely on:

* every token carries 256 bits from :mod:`secrets`, URL-safe base64 without padding;
* only :func:`token_digest` (SHA-256, hex) is stored. A fast hash is right here: the
  input is 256 random bits, so there is nothing to brute-force, and lookup by digest
  must be cheap. Look up by digest; compare digests with :func:`tokens_equal`;
* API keys look like ``odk_<prefix>_<secret>``: ``prefix`` is 12 lowercase hex
  characters, public, and shown in the UI so people can tell keys apart; ``secret`` is
  43 URL-safe characters. :func:`parse_api_key` accepts exactly that shape, nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Final

TOKEN_BYTES: Final = 32
API_KEY_SCHEME: Final = "odk"
API_KEY_PREFIX_BYTES: Final = 6
_TOKEN_PREFIX: Final = re.compile(r"[a-z0-9]{0,16}_?", re.ASCII)
_API_KEY: Final = re.compile(r"odk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})", re.ASCII)


def new_token(prefix: str = "") -> str:
    """``prefix`` followed by 256 random bits, URL-safe (e.g. ``new_token("ses_")``).

    The prefix (lowercase letters and digits, optional trailing ``_``) only labels the
    token for people and secret scanners; it adds no secrecy.
    """
    if not _TOKEN_PREFIX.fullmatch(prefix):
        raise ValueError("token prefix must be up to 16 lowercase letters or digits")
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """SHA-256 of the token's UTF-8 bytes, 64 hex digits: what the database stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    """Constant-time equality of two tokens or digests (time depends on length only)."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def new_api_key() -> tuple[str, str, str]:
    """``(full_key, prefix, digest)``: show ``full_key`` once; store prefix and digest.

    ``digest`` is :func:`token_digest` of the full key. A clash of prefixes is
    possible (48 bits); the caller's unique index on it should trigger a retry.
    """
    prefix = secrets.token_hex(API_KEY_PREFIX_BYTES)
    full_key = f"{API_KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(TOKEN_BYTES)}"
    return full_key, prefix, token_digest(full_key)


def parse_api_key(presented: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` if ``presented`` is exactly an API key's shape, else ``None``.

    No trimming, no case folding: a key that was mangled in transit is refused. A
    well-formed key is not yet a valid one: look the prefix up and compare
    ``token_digest(presented)`` with the stored digest using :func:`tokens_equal`.
    """
    match = _API_KEY.fullmatch(presented)
    if match is None:
        return None
    return match.group(1), match.group(2)
