from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.crypto import (
    KeyFamily,
    Keyring,
    KeyringError,
    blind_index,
    blind_index_candidates,
    normalise_identifier,
)

PURPOSE = "user.email"
# One keyring for the property tests (function-scoped fixtures do not mix with @given).
SHARED_KEYRING = Keyring.generate()


def test_index_is_32_hex_chars_with_the_active_version(keyring: Keyring) -> None:
    index = blind_index("alice@example.com", keyring=keyring, purpose=PURPOSE)

    assert re.fullmatch(r"[0-9a-f]{32}", index.value)
    assert index.key_version == 1


def test_index_is_deterministic(keyring: Keyring) -> None:
    first = blind_index("alice@example.com", keyring=keyring, purpose=PURPOSE)
    second = blind_index("alice@example.com", keyring=keyring, purpose=PURPOSE)

    assert first == second
    assert first.matches(second.value)


@pytest.mark.parametrize(
    "spelling",
    [
        "  Alice@Example.COM ",
        "ALICE@EXAMPLE.COM",
        "\uff41lice@example.com",  # fullwidth "a", NFKC folds it
        "alice@example.com\n",
    ],
)
def test_equivalent_spellings_index_alike(keyring: Keyring, spelling: str) -> None:
    expected = blind_index("alice@example.com", keyring=keyring, purpose=PURPOSE)

    assert blind_index(spelling, keyring=keyring, purpose=PURPOSE) == expected


def test_case_folding_goes_beyond_lowercasing(keyring: Keyring) -> None:
    assert blind_index("STRASSE@x.de", keyring=keyring, purpose=PURPOSE) == blind_index(
        "straße@x.de", keyring=keyring, purpose=PURPOSE
    )


def test_different_values_index_differently(keyring: Keyring) -> None:
    alice = blind_index("alice@example.com", keyring=keyring, purpose=PURPOSE)
    bob = blind_index("bob@example.com", keyring=keyring, purpose=PURPOSE)

    assert alice.value != bob.value
    assert not alice.matches(bob.value)


def test_purpose_separates_domains(keyring: Keyring) -> None:
    as_email = blind_index("alice@example.com", keyring=keyring, purpose="user.email")
    as_login = blind_index("alice@example.com", keyring=keyring, purpose="user.login")

    assert as_email.value != as_login.value


def test_purpose_and_value_boundary_is_unambiguous(keyring: Keyring) -> None:
    left = blind_index("bc", keyring=keyring, purpose="a")
    right = blind_index("c", keyring=keyring, purpose="ab")

    assert left.value != right.value


def test_different_keyrings_give_unrelated_indexes() -> None:
    first = blind_index("alice@example.com", keyring=Keyring.generate(), purpose=PURPOSE)
    second = blind_index("alice@example.com", keyring=Keyring.generate(), purpose=PURPOSE)

    assert first.value != second.value


def test_rotation_changes_the_index_and_keeps_old_ones_findable(keyring: Keyring) -> None:
    before = blind_index("alice@example.com", keyring=keyring, purpose=PURPOSE)
    rotated = keyring.rotate(KeyFamily.BLIND_INDEX)

    after = blind_index("alice@example.com", keyring=rotated, purpose=PURPOSE)
    candidates = blind_index_candidates("alice@example.com", keyring=rotated, purpose=PURPOSE)

    assert after.key_version == 2
    assert after.value != before.value
    assert candidates == [after, before]
    assert (
        blind_index("alice@example.com", keyring=rotated, purpose=PURPOSE, key_version=1) == before
    )


def test_unknown_key_version_is_refused(keyring: Keyring) -> None:
    with pytest.raises(KeyringError):
        blind_index("alice@example.com", keyring=keyring, purpose=PURPOSE, key_version=9)


@pytest.mark.parametrize("value", ["", "   ", "\u3000"])
def test_value_empty_after_normalisation_is_refused(keyring: Keyring, value: str) -> None:
    with pytest.raises(ValueError, match="nothing to index"):
        blind_index(value, keyring=keyring, purpose=PURPOSE)


def test_empty_purpose_is_refused(keyring: Keyring) -> None:
    with pytest.raises(ValueError, match="purpose"):
        blind_index("alice@example.com", keyring=keyring, purpose="")


def test_index_does_not_contain_the_value(keyring: Keyring) -> None:
    index = blind_index("0123456789abcdef", keyring=keyring, purpose=PURPOSE)

    assert "0123456789abcdef" not in index.value


@settings(deadline=None)
@given(value=st.text())
def test_normalisation_is_idempotent(value: str) -> None:
    once = normalise_identifier(value)

    assert normalise_identifier(once) == once


@settings(deadline=None)
@given(value=st.text().filter(lambda v: normalise_identifier(v) != ""))
def test_index_depends_only_on_the_normalised_value(value: str) -> None:
    assert blind_index(value, keyring=SHARED_KEYRING, purpose=PURPOSE) == blind_index(
        normalise_identifier(value), keyring=SHARED_KEYRING, purpose=PURPOSE
    )


def test_case_folded_text_is_normalised_again(keyring: Keyring) -> None:
    # "ß" + combining acute folds to "ss" + combining acute, which NFKC composes to "sś";
    # "SŚ" folds to that composed form directly. Both must index alike.
    assert normalise_identifier("ß\u0301") == normalise_identifier("S\u015a") == "s\u015b"
    assert blind_index("ß\u0301@x.de", keyring=keyring, purpose=PURPOSE) == blind_index(
        "S\u015a@x.de", keyring=keyring, purpose=PURPOSE
    )
