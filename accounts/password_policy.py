"""Which new passwords we accept: NIST SP 800-63B rev. 4, section 3.1.1.2.

Rules, and only these (no composition rules, no forced rotation):

* length, counted in Unicode code points after NFKC: at least 15 for accounts whose
  password is their only factor, at least 8 with MFA, at most 128 (NIST: allow >= 64);
* every printable character and the space are allowed; control characters and lone
  surrogates are refused (they cannot be typed reliably or encoded);
* not on the offline list of common and breached passwords (case-insensitive);
* not containing the user's email local part, a word of their display name, or the
  service's own name;
* a zxcvbn score of at least 3, with the user's details as hints. zxcvbn rates any
  8-character password at 10**8 guesses (score 2), so with the default score the
  practical floor with MFA is 9 characters; lower ``min_zxcvbn_score`` to change that.

:func:`check_password` returns every violation found, each with a stable ``code`` for
clients and a message for people. No message ever contains the password or any part
of it. It is CPU-bound (zxcvbn up to tens of milliseconds): from async code call it
through ``asyncio.to_thread``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from zxcvbn import zxcvbn

from accounts.common_passwords import is_common_password
from accounts.passwords import normalise_password

# zxcvbn's cost grows with length; a prefix this long that scores well is strong enough,
# and one that scores badly makes the whole password suspect anyway.
_ZXCVBN_MAX_CHARS: Final = 64
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cs"})  # control characters, surrogates
_WORD_SPLIT: Final = re.compile(r"[\s._+\-@,;:'\"()]+")


class ViolationCode(StrEnum):
    """Stable codes clients may switch on; add new ones, never rename."""

    TOO_SHORT = "TOO_SHORT"
    TOO_LONG = "TOO_LONG"
    INVALID_CHARACTERS = "INVALID_CHARACTERS"
    COMMON_PASSWORD = "COMMON_PASSWORD"  # noqa: S105 - a violation code, not a password
    CONTAINS_PERSONAL_INFO = "CONTAINS_PERSONAL_INFO"
    TOO_WEAK = "TOO_WEAK"


@dataclass(frozen=True, slots=True)
class PolicyViolation:
    """One broken rule; ``message`` is safe to show and to log."""

    code: ViolationCode
    message: str


@dataclass(frozen=True, slots=True)
class PasswordPolicyConfig:
    """Tunable limits; the defaults are NIST's figures. Stricter is allowed, looser not."""

    min_length_single_factor: int = 15
    min_length_with_mfa: int = 8
    max_length: int = 128
    min_zxcvbn_score: int = 3
    min_personal_fragment: int = 4  # shorter name parts ("Al", "Li") are too common
    context_words: tuple[str, ...] = ("opendesk",)

    def __post_init__(self) -> None:
        if self.min_length_with_mfa < 8 or self.min_length_single_factor < 15:
            raise ValueError("minimum lengths may not go below NIST's 8 (MFA) / 15")
        if self.max_length < 64 or self.max_length < self.min_length_single_factor:
            raise ValueError("max_length must be at least 64 and above the minimums")
        if not 0 <= self.min_zxcvbn_score <= 4:
            raise ValueError("min_zxcvbn_score must be between 0 and 4")


DEFAULT_POLICY: Final = PasswordPolicyConfig()


def check_password(
    password: str,
    *,
    has_mfa: bool,
    user_inputs: Sequence[str] = (),
    config: PasswordPolicyConfig = DEFAULT_POLICY,
) -> list[PolicyViolation]:
    """Every rule ``password`` breaks, in a fixed order; an empty list means accepted.

    ``user_inputs`` are the account's own details (email, display name, …); they are
    split into words, and words of ``min_personal_fragment`` code points or more must
    not appear in the password. TOO_WEAK is only judged when no other rule is broken,
    so the user is not told twice that "password123456789" is a poor choice.
    """
    normalised = normalise_password(password)
    length = len(normalised)
    violations: list[PolicyViolation] = []

    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in normalised):
        violations.append(
            PolicyViolation(
                ViolationCode.INVALID_CHARACTERS,
                "Password must not contain control characters such as tabs or line breaks.",
            )
        )
    minimum = config.min_length_with_mfa if has_mfa else config.min_length_single_factor
    if length < minimum:
        reason = "" if has_mfa else f" (or {config.min_length_with_mfa} with two-factor sign-in)"
        violations.append(
            PolicyViolation(
                ViolationCode.TOO_SHORT,
                f"Password must be at least {minimum} characters long{reason}.",
            )
        )
    if length > config.max_length:
        violations.append(
            PolicyViolation(
                ViolationCode.TOO_LONG,
                f"Password must be at most {config.max_length} characters long.",
            )
        )
    if is_common_password(normalised):
        violations.append(
            PolicyViolation(
                ViolationCode.COMMON_PASSWORD,
                "This password is too common or has appeared in a data breach; choose another.",
            )
        )
    fragments = personal_fragments(user_inputs, config)
    folded = normalised.casefold()
    if any(fragment in folded for fragment in fragments):
        violations.append(
            PolicyViolation(
                ViolationCode.CONTAINS_PERSONAL_INFO,
                "Password must not contain your name, your email address or the "
                "name of this service.",
            )
        )
    if not violations and not _strong_enough(normalised, fragments, config):
        violations.append(
            PolicyViolation(
                ViolationCode.TOO_WEAK,
                "Password is too easy to guess; a few unrelated words make a strong "
                "and memorable password.",
            )
        )
    return violations


def personal_fragments(user_inputs: Iterable[str], config: PasswordPolicyConfig) -> set[str]:
    """Case-folded words a password may not contain: from the inputs and service name.

    An email contributes its whole local part and the local part's words; a display
    name its words and its whole. Fragments shorter than the configured minimum are
    dropped.
    """
    fragments: set[str] = set()
    for raw in [*user_inputs, *config.context_words]:
        text = normalise_password(raw).casefold().strip()
        local = text.rpartition("@")[0] if "@" in text else text
        candidates = {local, local.replace(" ", ""), *_WORD_SPLIT.split(local)}
        fragments.update(c for c in candidates if len(c) >= config.min_personal_fragment)
    return fragments


def _strong_enough(normalised: str, fragments: set[str], config: PasswordPolicyConfig) -> bool:
    prefix = normalised[:_ZXCVBN_MAX_CHARS]
    result = zxcvbn(prefix, user_inputs=sorted(fragments), max_length=_ZXCVBN_MAX_CHARS)
    score: int = result["score"]
    return score >= config.min_zxcvbn_score
