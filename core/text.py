"""Normalising and validating free-text input: one function every service uses."""

from __future__ import annotations

import unicodedata

from core.errors import BadUserInput

# Control characters other than tab/newline have no business in user text and are a
# common vehicle for log injection and terminal escapes.
_ALLOWED_CONTROL = frozenset("\t\n")


def clean_text(
    value: str, *, field: str, max_length: int, min_length: int = 1, multiline: bool = False
) -> str:
    """Return ``value`` NFC-normalised and stripped, or raise BadUserInput naming ``field``."""
    normalised = unicodedata.normalize("NFC", value).strip()
    if "\r" in normalised:
        normalised = normalised.replace("\r\n", "\n").replace("\r", "\n")
    for character in normalised:
        if character in _ALLOWED_CONTROL and multiline:
            continue
        category = unicodedata.category(character)
        if category in ("Cc", "Cs") or (
            category == "Cf"
            and character in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        ):
            raise BadUserInput("Contains characters that are not allowed.", field=field)
    if len(normalised) < min_length:
        raise BadUserInput(f"Must be at least {min_length} characters.", field=field)
    if len(normalised) > max_length:
        raise BadUserInput(f"Must be at most {max_length} characters.", field=field)
    return normalised
