from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy.crypto import DataKey, DecryptionError, decrypt_value, encrypt_value, read_key_id

CELL = {"table": "users", "column": "email", "row_id": "42"}
B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# Crypto is fast, but a loaded CI machine must not turn into a failing "deadline".
crypto_settings = settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@crypto_settings
@given(plaintext=st.text())
def test_any_text_round_trips(data_key: DataKey, plaintext: str) -> None:
    token = encrypt_value(plaintext, key=data_key, **CELL)

    assert decrypt_value(token, key=data_key, **CELL) == plaintext


@crypto_settings
@given(plaintext=st.text(min_size=1))
def test_token_is_ascii_and_does_not_contain_the_plaintext(
    data_key: DataKey, plaintext: str
) -> None:
    token = encrypt_value(plaintext, key=data_key, **CELL)

    assert token.isascii()
    assert token.startswith(f"v1.{data_key.key_id}.")
    if len(plaintext) >= 4:
        assert plaintext not in token


def test_same_plaintext_encrypts_differently_each_time(data_key: DataKey) -> None:
    tokens = {encrypt_value("alice@example.com", key=data_key, **CELL) for _ in range(20)}

    assert len(tokens) == 20


@pytest.mark.parametrize(
    "other_cell",
    [
        {**CELL, "row_id": "43"},
        {**CELL, "column": "phone"},
        {**CELL, "table": "contacts"},
        # Same concatenation, different split: must still be a different cell.
        {"table": "users", "column": "email4", "row_id": "2"},
        {"table": "usersemail", "column": "4", "row_id": "2"},
    ],
)
def test_ciphertext_moved_to_another_cell_fails(
    data_key: DataKey, other_cell: dict[str, str]
) -> None:
    token = encrypt_value("alice@example.com", key=data_key, **CELL)

    with pytest.raises(DecryptionError):
        decrypt_value(token, key=data_key, **other_cell)


def test_swapping_values_between_rows_fails(data_key: DataKey) -> None:
    alice = encrypt_value("alice", key=data_key, table="users", column="name", row_id="1")

    with pytest.raises(DecryptionError):
        decrypt_value(alice, key=data_key, table="users", column="name", row_id="2")


def test_every_flipped_payload_bit_is_detected(data_key: DataKey) -> None:
    token = encrypt_value("secret", key=data_key, **CELL)
    prefix, payload = token.rsplit(".", 1)
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))

    for index in range(len(raw)):
        for bit in (0x01, 0x80):
            tampered = bytearray(raw)
            tampered[index] ^= bit
            encoded = base64.urlsafe_b64encode(bytes(tampered)).decode().rstrip("=")
            with pytest.raises(DecryptionError):
                decrypt_value(f"{prefix}.{encoded}", key=data_key, **CELL)


def test_every_changed_character_is_detected(data_key: DataKey) -> None:
    token = encrypt_value("secret", key=data_key, **CELL)

    for index, char in enumerate(token):
        replacement = "A" if char != "A" else "B"
        tampered = token[:index] + replacement + token[index + 1 :]
        with pytest.raises(DecryptionError):
            decrypt_value(tampered, key=data_key, **CELL)


def test_every_truncation_is_detected(data_key: DataKey) -> None:
    token = encrypt_value("secret", key=data_key, **CELL)

    for length in range(len(token)):
        with pytest.raises(DecryptionError):
            decrypt_value(token[:length], key=data_key, **CELL)


def test_wrong_key_with_the_same_id_fails(data_key: DataKey) -> None:
    token = encrypt_value("secret", key=data_key, **CELL)
    impostor = DataKey(data_key.key_id, bytes(32))

    with pytest.raises(DecryptionError):
        decrypt_value(token, key=impostor, **CELL)


def test_token_relabelled_with_another_key_id_fails(data_key: DataKey) -> None:
    token = encrypt_value("secret", key=data_key, **CELL)
    relabelled_key = DataKey("other", data_key.material)
    relabelled = token.replace(f".{data_key.key_id}.", ".other.", 1)

    with pytest.raises(DecryptionError):
        decrypt_value(relabelled, key=relabelled_key, **CELL)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "v1",
        "v1..",
        "v1.kid.",
        "v2.kid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.k!d.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.kid.AAAA=",
        "v1.kid.AA AA",
        "v1.kid.A",
        "plaintext@example.com",
        "v1.kid.AAAA.extra",
    ],
)
def test_malformed_token_fails_with_the_generic_error(data_key: DataKey, token: str) -> None:
    key = DataKey("kid", data_key.material)

    with pytest.raises(DecryptionError) as raised:
        decrypt_value(token, key=key, **CELL)

    assert str(raised.value) == "decryption failed"


def test_non_canonical_base64_spelling_is_refused(data_key: DataKey) -> None:
    # The 28-byte payload of an empty value needs 38 characters; the last one carries 4
    # unused bits, so some alternatives decode to the same bytes: those must fail too.
    token = encrypt_value("", key=data_key, **CELL)
    prefix, payload = token.rsplit(".", 1)
    last = payload[-1]
    alternatives = [c for c in B64URL_ALPHABET if c != last]
    for alternative in alternatives:
        with pytest.raises(DecryptionError):
            decrypt_value(f"{prefix}.{payload[:-1]}{alternative}", key=data_key, **CELL)


@pytest.mark.parametrize("empty", ["table", "column", "row_id"])
def test_empty_cell_coordinate_is_a_caller_error(data_key: DataKey, empty: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        encrypt_value("x", key=data_key, **{**CELL, empty: ""})


def test_read_key_id_names_the_key_of_a_token(data_key: DataKey) -> None:
    token = encrypt_value("x", key=data_key, **CELL)

    assert read_key_id(token) == data_key.key_id
    with pytest.raises(DecryptionError):
        read_key_id("garbage")
