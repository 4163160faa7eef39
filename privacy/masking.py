"""Server-side masking of personal values for roles that may see a value only masked.

Every strategy is total: for any input it returns a string that reveals at most what the
strategy says (never the raw value, never an exception). Input it cannot parse is fully
redacted rather than guessed at. Masks use fixed-width filler (``•••``) so they do not
reveal the length of what they hide.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Callable
from enum import StrEnum

REDACTED = "[redacted]"
FILLER = "\u2022\u2022\u2022"  # •••

# Phone numbers: fewer digits than this are not masked but redacted, because two visible
# digits would be a large share of them; more than E.164's 15 plus an extension is not a
# phone number.
_PHONE_MIN_DIGITS = 7
_PHONE_MAX_DIGITS = 20
_PHONE_SEPARATORS = frozenset(" +-().,/\u00a0")
_PHONE_PREFIX = "\u2022" * 7
_MAX_INITIALS = 4
# The longest delegated TLD ("xn--vermgensberatung-pwb") has 24 characters; a longer
# "TLD" is a malformed address and showing it could reveal a private name.
_MAX_TLD_LENGTH = 24
_IPV4_PREFIX = 24
_IPV6_PREFIX = 48
# 6to4 addresses (2002::/16) embed a whole IPv4 address in bits 16-48; keep its /24 only.
_SIXTOFOUR_PREFIX = 16 + _IPV4_PREFIX


class MaskStrategy(StrEnum):
    """How a value is masked; the field policy names one per masked field."""

    EMAIL = "email"  # j•••@e•••.com
    PHONE = "phone"  # •••••••42
    NAME = "name"  # J. D.
    IP = "ip"  # 203.0.113.0/24, 2001:db8:1::/48
    TEXT = "text"  # [redacted]


def mask(value: str | None, strategy: MaskStrategy) -> str | None:
    """``value`` masked with ``strategy``; ``None`` stays ``None`` (absent, not hidden).

    Never raises and never returns the raw value: empty or unparseable input gives
    ``[redacted]``.
    """
    if value is None:
        return None
    try:
        return _STRATEGIES[strategy](value)
    except Exception:
        # Fail closed: a bug in a masker must not turn into an error that echoes the value.
        return REDACTED


def mask_email(value: str) -> str:
    """``j•••@e•••.com``: first character of the local part and of the domain, plus TLD."""
    local, at, domain = unicodedata.normalize("NFC", value.strip()).rpartition("@")
    labels = domain.split(".")
    if not at or not local or len(labels) < 2 or not all(labels):
        return REDACTED
    tld = labels[-1]
    if not tld.isalpha() and not (tld.startswith("xn--") and tld.replace("-", "").isalnum()):
        return REDACTED  # e.g. an IP literal, whose last octet must not be shown
    if len(tld) > _MAX_TLD_LENGTH:
        return REDACTED
    return f"{_first_visible(local)}{FILLER}@{_first_visible(labels[0])}{FILLER}.{tld.lower()}"


def mask_phone(value: str) -> str:
    """``•••••••42``: the last two digits after a fixed filler, whatever the length."""
    digits: list[str] = []
    for char in value.strip():
        if char.isdecimal():
            digits.append(str(unicodedata.decimal(char)))  # any script's digits, as ASCII
        elif char not in _PHONE_SEPARATORS:
            return REDACTED  # letters or symbols: not a phone number, may be anything
    if not _PHONE_MIN_DIGITS <= len(digits) <= _PHONE_MAX_DIGITS:
        return REDACTED
    return _PHONE_PREFIX + "".join(digits[-2:])


def mask_name(value: str) -> str:
    """``J. D.``: the initial of each word (at most four), upper-cased where possible.

    A name whose every word is a single letter would be shown whole, so it is redacted.
    """
    words = unicodedata.normalize("NFC", value).split()
    initials = [initial for word in words if (initial := _initial(word))]
    if not initials or all(_letter_count(word) <= 1 for word in words):
        return REDACTED
    return " ".join(f"{initial}." for initial in initials[:_MAX_INITIALS])


def mask_ip(value: str) -> str:
    """The network around an address: IPv4 /24, IPv6 /48 (IPv4-mapped IPv6 as IPv4)."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return REDACTED
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        else:
            prefix = _SIXTOFOUR_PREFIX if address.sixtofour is not None else _IPV6_PREFIX
            # Built from the integer so a zone id ("%eth0") is dropped, not echoed.
            return str(ipaddress.IPv6Network((int(address), prefix), strict=False))
    return str(ipaddress.IPv4Network((int(address), _IPV4_PREFIX), strict=False))


def mask_text(value: str) -> str:
    """Free text is never partially shown."""
    return REDACTED


def _first_visible(part: str) -> str:
    # One printable, non-combining character; anything else is shown as filler.
    first = part[0]
    if unicodedata.combining(first) or not first.isprintable() or first.isspace():
        return "\u2022"
    return first


def _initial(word: str) -> str:
    for char in word:
        if unicodedata.category(char).startswith("L"):
            upper = char.upper()
            return upper if len(upper) == 1 else char  # "ß".upper() is "SS"
    return ""


def _letter_count(word: str) -> int:
    return sum(1 for char in word if unicodedata.category(char).startswith("L"))


_STRATEGIES: dict[MaskStrategy, Callable[[str], str]] = {
    MaskStrategy.EMAIL: mask_email,
    MaskStrategy.PHONE: mask_phone,
    MaskStrategy.NAME: mask_name,
    MaskStrategy.IP: mask_ip,
    MaskStrategy.TEXT: mask_text,
}
