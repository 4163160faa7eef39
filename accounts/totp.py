"""Time-based one-time passwords (RFC 6238): 6 digits, 30-second steps, HMAC-SHA1.

These are the parameters every authenticator app understands. What callers may rely on:

* :func:`verify_totp` accepts a code for the current step or one step either side
  (clock drift), never further, and never a step at or before ``last_used_step``; so
  a code is good once. It compares in constant time and returns the matched step.
* The seams this module leaves to the caller:
  - **encryption at rest**: :func:`new_secret` returns the plain base32 secret; the
    caller encrypts it (``privacy.crypto``, bound to the user's row) before storing
    and decrypts it just before calling :func:`verify_totp`. It is never logged.
  - **replay across requests**: the caller stores the returned step as the user's
    ``last_used_step`` with a compare-and-set (``UPDATE … WHERE last_used_step IS
    NULL OR last_used_step < :step``) and treats "no row updated" as a failure, so
    two concurrent logins cannot both spend one code.
  - **guessing**: three acceptable codes in a million per try; the caller rate-limits
    and locks out attempts per account.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from typing import Final

import pyotp

DIGITS: Final = 6
STEP_SECONDS: Final = 30
ALLOWED_DRIFT_STEPS: Final = 1
_CODE_FORMAT: Final = re.compile(r"[0-9]{6}", re.ASCII)
_SECRET_FORMAT: Final = re.compile(r"[A-Z2-7]{16,}=*", re.ASCII)


def new_secret() -> str:
    """A fresh random base32 secret of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    """The ``otpauth://totp/…`` URI to show as a QR code while enrolling."""
    _check_secret(secret)
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account_name, issuer_name=issuer
    )


def time_step(now: datetime) -> int:
    """The RFC 6238 time step that ``now`` (timezone-aware) falls in."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return int(now.timestamp()) // STEP_SECONDS


def verify_totp(
    secret: str,
    code: str,
    *,
    last_used_step: int | None,
    now: datetime,
) -> int | None:
    """The time step ``code`` is valid for, or ``None`` if it is refused.

    ``code`` must be exactly six ASCII digits (spaces, as apps display "123 456", are
    removed first). Refused: a wrong code, a code more than one step away from
    ``now``, and a code for a step at or before ``last_used_step`` (a replay).
    Raises ``ValueError`` for a malformed secret or a naive ``now``.
    """
    _check_secret(secret)
    current = time_step(now)
    candidate = code.replace(" ", "")
    if not _CODE_FORMAT.fullmatch(candidate):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    matched: int | None = None
    # Compare against every window step, without early exit, so timing reveals nothing.
    for step in range(current - ALLOWED_DRIFT_STEPS, current + ALLOWED_DRIFT_STEPS + 1):
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected.encode(), candidate.encode()) and matched is None:
            matched = step
    if matched is None or (last_used_step is not None and matched <= last_used_step):
        return None
    return matched


def _check_secret(secret: str) -> None:
    if not _SECRET_FORMAT.fullmatch(secret):
        raise ValueError("TOTP secret must be base32 of at least 80 bits")
