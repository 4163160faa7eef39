"""MFA recovery codes: ten single-use codes, stored only as argon2id hashes.

A code is 20 characters of RFC 4648 base32 (100 bits), shown as
``xxxxx-xxxxx-xxxxx-xxxxx`` in lower case. Because each code carries 100 bits of
randomness, a slow hash adds nothing against guessing; the hash is salted argon2id
with low cost (:data:`RECOVERY_CODE_ARGON2`) so that a database leak does not hand out
usable codes, and checking all ten stays cheap. Hashing still runs off the event loop,
through the same :class:`~accounts.passwords.PasswordHasher` as passwords.

The caller marks a used code by replacing its hash with ``None`` (keeping the indexes
of the others stable), atomically with the login it allowed.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from typing import Final

from accounts.passwords import Argon2Config, PasswordHasher

CODE_COUNT: Final = 10
GROUPS: Final = 4
GROUP_LENGTH: Final = 5
ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base32, lower case
# Digits that are not in the alphabet but are easily mistaken for letters that are.
_LOOKALIKES: Final = str.maketrans({"0": "o", "1": "l", "8": "b"})
_SEPARATORS: Final = str.maketrans("", "", "- \t")
_CODE_LENGTH: Final = GROUPS * GROUP_LENGTH

# 100-bit random codes need no key stretching: t=1, 4 MiB, 1 lane keeps ten checks cheap.
RECOVERY_CODE_ARGON2: Final = Argon2Config(time_cost=1, memory_cost=4096, parallelism=1)


def new_recovery_code_hasher(*, max_concurrency: int | None = None) -> PasswordHasher:
    """The hasher to pass to the functions below; build one at start-up and share it."""
    return PasswordHasher(RECOVERY_CODE_ARGON2, max_concurrency=max_concurrency)


def normalise_code(code: str) -> str | None:
    """The canonical 20-character form of ``code``, or ``None`` if it cannot be one.

    Case, dashes, spaces and the look-alike digits 0/1/8 are forgiven.
    """
    canonical = code.translate(_SEPARATORS).lower().translate(_LOOKALIKES)
    if len(canonical) != _CODE_LENGTH or not all(char in ALPHABET for char in canonical):
        return None
    return canonical


def _display(canonical: str) -> str:
    groups = (canonical[i : i + GROUP_LENGTH] for i in range(0, _CODE_LENGTH, GROUP_LENGTH))
    return "-".join(groups)


async def generate_recovery_codes(
    hasher: PasswordHasher, *, count: int = CODE_COUNT
) -> tuple[list[str], list[str]]:
    """``(plain, hashed)``: codes to show the user once, and their hashes to store.

    ``hashed[i]`` is the hash of ``plain[i]``. The plain codes must not be stored.
    """
    canonical = [
        "".join(secrets.choice(ALPHABET) for _ in range(_CODE_LENGTH)) for _ in range(count)
    ]
    hashed = await asyncio.gather(*(hasher.hash(code) for code in canonical))
    return [_display(code) for code in canonical], list(hashed)


async def find_matching_code(
    code: str, hashes: Sequence[str | None], *, hasher: PasswordHasher
) -> int | None:
    """The index in ``hashes`` of the entry ``code`` matches, or ``None``.

    ``None`` entries (used codes) never match. Every remaining hash is checked, with
    no early exit, so the time taken does not depend on which code was entered.
    """
    canonical = normalise_code(code)
    if canonical is None:
        return None
    results = await asyncio.gather(
        *(hasher.verify(stored, canonical) for stored in hashes if stored is not None)
    )
    live_indexes = [index for index, stored in enumerate(hashes) if stored is not None]
    for index, result in zip(live_indexes, results, strict=True):
        if result.ok:
            return index
    return None
