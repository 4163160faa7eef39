"""Recovery codes: 100-bit codes, argon2id hashes, forgiving input, used codes never match."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from accounts.passwords import Argon2Config, PasswordHasher
from accounts.recovery_codes import (
    ALPHABET,
    RECOVERY_CODE_ARGON2,
    find_matching_code,
    generate_recovery_codes,
    normalise_code,
)

CODE_SHAPE = re.compile(r"[a-z2-7]{5}(-[a-z2-7]{5}){3}")


@pytest.fixture
async def hasher() -> AsyncIterator[PasswordHasher]:
    hasher = PasswordHasher(Argon2Config(time_cost=1, memory_cost=64, parallelism=1))
    yield hasher
    hasher.close()


async def test_ten_distinct_codes_of_at_least_80_bits(hasher: PasswordHasher) -> None:
    plain, hashed = await generate_recovery_codes(hasher)
    assert len(plain) == len(hashed) == 10
    assert len(set(plain)) == 10
    for code in plain:
        assert CODE_SHAPE.fullmatch(code)
    bits_per_code = 20 * (len(ALPHABET).bit_length() - 1)
    assert bits_per_code >= 80


async def test_codes_are_stored_as_salted_argon2id(hasher: PasswordHasher) -> None:
    plain, hashed = await generate_recovery_codes(hasher)
    for code, stored in zip(plain, hashed, strict=True):
        assert stored.startswith("$argon2id$")
        assert code.replace("-", "") not in stored


def test_production_params_are_low_cost_argon2id() -> None:
    assert RECOVERY_CODE_ARGON2.memory_cost < Argon2Config().memory_cost
    assert RECOVERY_CODE_ARGON2.time_cost == 1


async def test_each_code_matches_its_own_index(hasher: PasswordHasher) -> None:
    plain, hashed = await generate_recovery_codes(hasher)
    for index in (0, 4, 9):
        assert await find_matching_code(plain[index], hashed, hasher=hasher) == index


@pytest.mark.parametrize(
    "mangle",
    [str.upper, lambda c: c.replace("-", ""), lambda c: c.replace("-", " "), lambda c: f"  {c} "],
)
async def test_case_dashes_and_spaces_are_forgiven(hasher: PasswordHasher, mangle: object) -> None:
    plain, hashed = await generate_recovery_codes(hasher)
    entered = mangle(plain[3])  # type: ignore[operator]
    assert await find_matching_code(entered, hashed, hasher=hasher) == 3


def test_lookalike_digits_map_to_letters() -> None:
    assert normalise_code("018aa-aaaaa-aaaaa-aaaaa") == "olbaaaaaaaaaaaaaaaaa"
    assert normalise_code("OLBAA-aaaaa-aaaaa-aaaaa") == "olbaaaaaaaaaaaaaaaaa"


async def test_used_code_never_matches(hasher: PasswordHasher) -> None:
    plain, hashed = await generate_recovery_codes(hasher)
    remaining: list[str | None] = list(hashed)
    remaining[2] = None
    assert await find_matching_code(plain[2], remaining, hasher=hasher) is None
    assert await find_matching_code(plain[7], remaining, hasher=hasher) == 7


@pytest.mark.parametrize(
    "entered", ["", "abcde", "aaaaa-aaaaa-aaaaa-aaaa9", "aaaaa-aaaaa-aaaaa-aaaaaa"]
)
async def test_malformed_or_unknown_code_matches_nothing(
    hasher: PasswordHasher, entered: str
) -> None:
    _, hashed = await generate_recovery_codes(hasher)
    assert await find_matching_code(entered, hashed, hasher=hasher) is None
