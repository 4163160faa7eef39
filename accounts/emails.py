"""One way to validate and normalise an email address, used for storage and lookup."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from core.errors import BadUserInput

EMAIL_MAX = 254


def normalise_email(email: str, *, field: str = "email") -> str:
    """Syntax-checked (no DNS), NFKC-normalised and case-folded; raises BadUserInput."""
    candidate = unicodedata.normalize("NFKC", email).strip()
    if not candidate or len(candidate) > EMAIL_MAX:
        raise BadUserInput("Not a valid email address.", field=field)
    try:
        validated = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        raise BadUserInput("Not a valid email address.", field=field) from None
    return validated.normalized.casefold()
