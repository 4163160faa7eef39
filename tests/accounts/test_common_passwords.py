"""The Golomb-coded set: every listed entry is found, few others are, corrupt files refused."""

from __future__ import annotations

import random

import pytest

from accounts.common_passwords import CommonPasswordSet, encode, is_common_password


@pytest.fixture(scope="module")
def words() -> list[str]:
    generator = random.Random(20260314)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789!ß€"
    return ["".join(generator.choices(alphabet, k=12)) for _ in range(5000)]


def test_every_encoded_entry_is_found(words: list[str]) -> None:
    listed = CommonPasswordSet(encode(words, block_size=16))
    assert all(word in listed for word in words)
    assert all(word.upper() in listed for word in words[:100])


def test_unlisted_entries_are_rarely_found(words: list[str]) -> None:
    listed = CommonPasswordSet(encode(words[:2500]))
    false_hits = sum(word in listed for word in words[2500:])
    # Expected rate 2**-13 -> ~0.3 of 2500; 5 allows for chance while catching a broken set.
    assert false_hits <= 5


def test_empty_set_contains_nothing() -> None:
    assert "password" not in CommonPasswordSet(encode([]))


def test_truncated_file_is_refused(words: list[str]) -> None:
    blob = encode(words)
    with pytest.raises(ValueError, match="truncated"):
        CommonPasswordSet(blob[:-1])
    with pytest.raises(ValueError, match="magic"):
        CommonPasswordSet(b"garbage" + blob)


def test_encoding_is_deterministic(words: list[str]) -> None:
    assert encode(words) == encode(reversed(words))


@pytest.mark.parametrize("listed", ["password123456789", "iloveyou", "qwertyuiop", "Password1234"])
def test_shipped_list_finds_known_common_passwords(listed: str) -> None:
    assert is_common_password(listed)


def test_shipped_list_misses_a_random_passphrase() -> None:
    assert not is_common_password("plinth marmalade oscillate vintner")
