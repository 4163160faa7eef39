"""What never reaches a log line: personal data and secrets, by field name and by shape.

One structlog processor (:func:`redact_event`, last before rendering, after exception
formatting so that tracebacks are covered too) and one stdlib ``logging.Filter`` (for
the libraries' own loggers) apply the same two rules:

* a field whose name says it holds a secret or contact data (``password``, ``token``,
  ``email``, ``authorization`` …) is replaced whole by ``[redacted]``, at any depth;
* in every other string, values that look like one are replaced: email addresses,
  bearer credentials, our API keys (the prefix stays: it names the key without being it),
  sealed values and wrapped keys, phone numbers in international form, and
  ``password=…``-style pairs.

Identifiers the logs need stay: request ids, operation hashes (hex), user and key ids
(UUIDs), client networks. Code should not log personal data in the first place; this is
the net under it.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any, Final

__all__ = ("REDACTED", "RedactingFilter", "redact_event", "redact_text")

REDACTED: Final = "[redacted]"

# Field names (lower-case, "-" as "_") whose values are always withheld.
_SECRET_FIELDS: Final = frozenset(
    {
        "password",
        "new_password",
        "current_password",
        "passphrase",
        "secret",
        "totp",
        "totp_secret",
        "code",
        "recovery_code",
        "token",
        "session_token",
        "access_token",
        "refresh_token",
        "csrf_token",
        "x_csrf_token",
        "api_key",
        "key",
        "authorization",
        "cookie",
        "set_cookie",
        "email",
        "phone",
        "variables",
    }
)

_PATTERNS: Final = (
    # Our API keys: odk_<12-char prefix>_<secret>; keep the prefix.
    (re.compile(r"\b(odk_[A-Za-z0-9]{12}_)[A-Za-z0-9_-]{8,}"), r"\1" + REDACTED),
    # Other bearer/basic credentials (ours were handled just above).
    (re.compile(r"(?i:\b(bearer|basic)\s+(?!odk_)[A-Za-z0-9._~+/=-]{8,})"), r"\1 " + REDACTED),
    # Sealed values (v1.<key id>.<payload>) and wrapped data keys (w1.<v>.<id>.<payload>).
    # The part before the payload is bounded: unbounded, every "v1." in a long run of
    # them rescanned the rest of the run (quadratic time in the length of a log field).
    (re.compile(r"\b[vw]1\.[A-Za-z0-9._-]{0,64}?[A-Za-z0-9_-]{20,}"), REDACTED),
    # A local part of any length where one can start; else, after a separator, of at
    # most 64 characters (an address right after another one, "a@b.org%20c@d.org",
    # whose run the first match took part of). Tried from every position of a long run
    # of local-part characters, an unbounded scan for "@" was quadratic in its length.
    (
        re.compile(
            r"(?:(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+|(?<![A-Za-z0-9])[A-Za-z0-9._%+-]{1,64})"
            r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
        ),
        "[email]",
    ),
    (re.compile(r"\+\d[\d ().-]{6,}\d"), "[phone]"),
    (
        re.compile(
            r"(?i:\b(password|passwd|secret|token|api_key|totp)(\s*[=:]\s*)"
            r"(\"[^\"]*\"|'[^']*'|[^\s,;&]+))"
        ),
        r"\1\2" + REDACTED,
    ),
)


# Matches wherever any of the patterns does (their flags are scoped, (?i:…), so that they
# combine): one search tells that none applies, as for nearly every string a log line
# holds (paths, ids, event names), instead of six substitutions.
_ANY_PATTERN: Final = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in _PATTERNS))


def _may_match(text: str) -> bool:
    """False only when no pattern can match ``text``: each needs one of these substrings
    (case-insensitively for the words). Nearly every string a log line holds (paths,
    ids, event names) has none and skips even the one search, which tries its
    alternatives at every position (≈2 µs for a 30-character path; this ≈0.5 µs).

    Non-ASCII text always takes the search: case-insensitive matching has non-ASCII
    equivalents of ASCII letters (U+017F long s matches "s", U+0131 dotless i "i",
    U+212A Kelvin sign "k").
    """
    if not text.isascii():
        return True
    if "@" in text or "+" in text or "odk_" in text or "v1." in text or "w1." in text:
        return True
    lowered = text.lower()
    return (
        "bearer" in lowered
        or "basic" in lowered
        or "passw" in lowered
        or "secret" in lowered
        or "token" in lowered
        or "api_key" in lowered
        or "totp" in lowered
    )


def redact_text(text: str) -> str:
    if not _may_match(text) or _ANY_PATTERN.search(text) is None:
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@functools.lru_cache(maxsize=1024)
def _is_secret_field(name: object) -> bool:
    # Cached: a process logs the same few dozen field names over and over.
    return isinstance(name, str) and name.lower().replace("-", "_") in _SECRET_FIELDS


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, int | float):  # bool is an int
        return value
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_secret_field(key) else _redact(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redact(item) for item in value)
    return value


def redact_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    """The structlog processor."""
    if _plainly_clean(event):
        return event
    for name, value in list(event.items()):
        event[name] = REDACTED if _is_secret_field(name) else _redact(value)
    return event


def _plainly_clean(event: MutableMapping[str, Any]) -> bool:
    """True when no field of ``event`` can need redacting, judged in one pass, as for
    nearly every line (the access log's: method, path, status, ids, address): no secret
    field name, only flat values, and none of the patterns' markers in all their text
    at once (:func:`_may_match`; joining can only add markers, never hide one, so a
    line it passes has no field the per-field check would change). ≈ 1/3 of the
    per-field check's time."""
    texts: list[str] = []
    for name, value in event.items():
        if _is_secret_field(name):
            return False
        kind = type(value)
        if kind is str:
            texts.append(value)
        elif value is not None and kind is not int and kind is not float and kind is not bool:
            return False
    return not _may_match("\n".join(texts))


class RedactingFilter(logging.Filter):
    """For stdlib loggers (uvicorn, piccolo, httpx…): the message is formatted, redacted,
    and kept without its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        record.msg, record.args = redacted, None
        return True
