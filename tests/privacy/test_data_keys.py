from __future__ import annotations

import pickle
from dataclasses import dataclass, field

import pytest

from privacy.crypto import (
    DataKey,
    DecryptionError,
    KeyFamily,
    KeyProvider,
    Keyring,
    LocalKeyProvider,
    WrappedDataKey,
    create_data_key,
    decrypt_value,
    encrypt_value,
    generate_data_key,
    rewrap,
    unwrap_data_key,
    wrap_data_key,
)

CELL = {"table": "users", "column": "email", "row_id": "7"}


def test_wrapped_data_key_unwraps_to_the_same_key(keyring: Keyring) -> None:
    data_key, wrapped = create_data_key(subject_id="user-7", provider=keyring)

    unwrapped = unwrap_data_key(wrapped, provider=keyring)

    assert unwrapped.key_id == data_key.key_id
    assert unwrapped.material == data_key.material
    assert wrapped.kek_version == 1
    assert data_key.material not in wrapped.wrapped


def test_token_round_trip_keeps_the_key_usable(keyring: Keyring) -> None:
    data_key, wrapped = create_data_key(subject_id="user-7", provider=keyring)

    token = wrapped.to_token()
    parsed = WrappedDataKey.from_token(token, subject_id="user-7")

    assert token.isascii()
    assert token.startswith(f"w1.1.{data_key.key_id}.")
    assert unwrap_data_key(parsed, provider=keyring).material == data_key.material


def test_wrapped_key_copied_to_another_subject_fails(keyring: Keyring) -> None:
    _, wrapped = create_data_key(subject_id="user-7", provider=keyring)
    stolen = WrappedDataKey.from_token(wrapped.to_token(), subject_id="user-8")

    with pytest.raises(DecryptionError):
        unwrap_data_key(stolen, provider=keyring)


def test_wrapped_key_under_another_key_id_fails(keyring: Keyring) -> None:
    _, wrapped = create_data_key(subject_id="user-7", provider=keyring)
    relabelled = WrappedDataKey("user-7", "someotherkeyid", wrapped.kek_version, wrapped.wrapped)

    with pytest.raises(DecryptionError):
        unwrap_data_key(relabelled, provider=keyring)


def test_every_flipped_byte_of_a_wrapped_key_is_detected(keyring: Keyring) -> None:
    _, wrapped = create_data_key(subject_id="user-7", provider=keyring)

    for index in range(len(wrapped.wrapped)):
        tampered = bytearray(wrapped.wrapped)
        tampered[index] ^= 0x01
        forged = WrappedDataKey("user-7", wrapped.key_id, wrapped.kek_version, bytes(tampered))
        with pytest.raises(DecryptionError):
            unwrap_data_key(forged, provider=keyring)


def test_truncated_wrapped_key_fails(keyring: Keyring) -> None:
    _, wrapped = create_data_key(subject_id="user-7", provider=keyring)

    for length in range(len(wrapped.wrapped)):
        short = WrappedDataKey("user-7", wrapped.key_id, 1, wrapped.wrapped[:length])
        with pytest.raises(DecryptionError):
            unwrap_data_key(short, provider=keyring)


def test_wrapped_key_relabelled_with_another_kek_version_fails(keyring: Keyring) -> None:
    _, wrapped = create_data_key(subject_id="user-7", provider=keyring)
    rotated = keyring.rotate(KeyFamily.KEK)
    relabelled = WrappedDataKey("user-7", wrapped.key_id, 2, wrapped.wrapped)

    with pytest.raises(DecryptionError):
        unwrap_data_key(relabelled, provider=rotated)


def test_unknown_kek_version_fails_with_the_generic_error(keyring: Keyring) -> None:
    _, wrapped = create_data_key(subject_id="user-7", provider=keyring.rotate(KeyFamily.KEK))

    with pytest.raises(DecryptionError):
        unwrap_data_key(wrapped, provider=keyring)


@pytest.mark.parametrize(
    "token",
    ["", "w1", "w1.1.kid", "w2.1.kid.AAAA", "w1.x.kid.AAAA", "w1.1.k!d.AAAA", "w1.1.kid.A=A"],
)
def test_malformed_wrapped_token_fails(token: str) -> None:
    with pytest.raises(DecryptionError):
        WrappedDataKey.from_token(token, subject_id="user-7")


def test_after_kek_rotation_old_data_decrypts_and_new_keys_use_the_new_version(
    keyring: Keyring,
) -> None:
    data_key, wrapped = create_data_key(subject_id="user-7", provider=keyring)
    ciphertext = encrypt_value("alice@example.com", key=data_key, **CELL)
    rotated = keyring.rotate(KeyFamily.KEK)

    # Old wrapping still unwraps with the rotated keyring (old KEK version kept).
    assert unwrap_data_key(wrapped, provider=rotated).material == data_key.material
    # Re-wrapping moves it to the new KEK; the data ciphertext needs no change.
    rewrapped = rewrap(wrapped, rotated)
    assert rewrapped.kek_version == 2
    assert rewrapped.wrapped != wrapped.wrapped
    recovered = unwrap_data_key(rewrapped, provider=rotated)
    assert decrypt_value(ciphertext, key=recovered, **CELL) == "alice@example.com"
    # New keys are wrapped under the new version.
    _, fresh = create_data_key(subject_id="user-9", provider=rotated)
    assert fresh.kek_version == 2


def test_rewrapped_key_no_longer_needs_the_old_kek(keyring: Keyring) -> None:
    data_key, wrapped = create_data_key(subject_id="user-7", provider=keyring)
    rotated = keyring.rotate(KeyFamily.KEK)
    rewrapped = rewrap(wrapped, rotated)
    only_new = Keyring(
        {
            KeyFamily.KEK: {2: rotated.key_bytes(KeyFamily.KEK, 2)},
            KeyFamily.BLIND_INDEX: {1: rotated.key_bytes(KeyFamily.BLIND_INDEX, 1)},
        },
        {KeyFamily.KEK: 2, KeyFamily.BLIND_INDEX: 1},
    )

    assert unwrap_data_key(rewrapped, provider=only_new).material == data_key.material
    with pytest.raises(DecryptionError):
        unwrap_data_key(wrapped, provider=only_new)


def test_rewrap_of_a_current_key_returns_it_unchanged(keyring: Keyring) -> None:
    _, wrapped = create_data_key(subject_id="user-7", provider=keyring)

    assert rewrap(wrapped, keyring) is wrapped


def test_data_key_repr_hides_the_material(data_key: DataKey) -> None:
    shown = repr(data_key) + str(data_key)

    assert data_key.key_id in shown
    assert data_key.material.hex() not in shown
    assert repr(data_key.material) not in shown


def test_data_key_cannot_be_pickled(data_key: DataKey) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(data_key)


def test_generated_data_keys_are_distinct() -> None:
    keys = [generate_data_key() for _ in range(50)]

    assert len({k.key_id for k in keys}) == 50
    assert len({k.material for k in keys}) == 50


@pytest.mark.parametrize(("key_id", "material"), [("", bytes(32)), ("a.b", bytes(32)), ("k", b"x")])
def test_malformed_data_key_is_refused(key_id: str, material: bytes) -> None:
    with pytest.raises(ValueError, match="key"):
        DataKey(key_id, material)


def test_empty_subject_is_a_caller_error(keyring: Keyring) -> None:
    with pytest.raises(ValueError, match="subject_id"):
        create_data_key(subject_id="", provider=keyring)


@dataclass
class _RecordingProvider:
    """A stand-in for an external KMS: delegates, and records what it was asked."""

    inner: LocalKeyProvider
    contexts: list[bytes] = field(default_factory=list)

    def active_kek_version(self) -> int:
        return self.inner.active_kek_version()

    def wrap_key(self, plaintext_key: bytes, *, context: bytes) -> tuple[int, bytes]:
        self.contexts.append(context)
        return self.inner.wrap_key(plaintext_key, context=context)

    def unwrap_key(self, wrapped_key: bytes, *, kek_version: int, context: bytes) -> bytes:
        self.contexts.append(context)
        return self.inner.unwrap_key(wrapped_key, kek_version=kek_version, context=context)


def test_an_external_key_provider_can_be_plugged_in(keyring: Keyring) -> None:
    provider = _RecordingProvider(LocalKeyProvider(keyring))
    assert isinstance(provider, KeyProvider)

    data_key = generate_data_key()
    wrapped = wrap_data_key(data_key, subject_id="user-7", provider=provider)
    unwrapped = unwrap_data_key(wrapped, provider=provider)

    assert unwrapped.material == data_key.material
    assert len(provider.contexts) == 2
    assert provider.contexts[0] == provider.contexts[1]
    assert b"user-7" in provider.contexts[0]


def test_local_provider_repr_hides_keys(keyring: Keyring) -> None:
    shown = repr(LocalKeyProvider(keyring))

    assert keyring.key_bytes(KeyFamily.KEK, 1).hex() not in shown
    assert "v1" in shown
