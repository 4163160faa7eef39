"""Byte encodings shared by the crypto modules (private: not re-exported).

One place for the two things that are easy to get subtly wrong: unambiguous encoding of
several fields into associated data / MAC input, and strict base64url parsing.
"""

from __future__ import annotations

import base64
import binascii
import re

# Identifiers that travel inside ASCII tokens ("v1.<kid>.<b64>"): no dots, no padding.
TOKEN_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_B64URL_PATTERN = re.compile(r"[A-Za-z0-9_-]*")


def length_prefixed(label: bytes, *parts: str | bytes | int) -> bytes:
    """Encode ``label`` and ``parts`` so that distinct inputs never collide.

    Each part is prefixed with its 4-byte big-endian length; ints are encoded as 8-byte
    unsigned. Without the prefixes ("ab", "c") and ("a", "bc") would bind the same way.
    """
    chunks = [len(label).to_bytes(4, "big"), label]
    for part in parts:
        if isinstance(part, int):
            encoded = part.to_bytes(8, "big", signed=False)
        elif isinstance(part, str):
            encoded = part.encode("utf-8")
        else:
            encoded = part
        chunks.append(len(encoded).to_bytes(4, "big"))
        chunks.append(encoded)
    return b"".join(chunks)


def b64url_encode(raw: bytes) -> str:
    """Unpadded base64url (RFC 4648 section 5), ASCII only."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict inverse of :func:`b64url_encode`; raises ValueError on anything else.

    The standard decoder silently drops characters outside the alphabet and accepts
    non-canonical trailing bits; both are refused here so that a token has exactly one
    spelling.
    """
    if not _B64URL_PATTERN.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not unpadded base64url") from None
    if b64url_encode(raw) != text:
        raise ValueError("non-canonical base64url")
    return raw
