from __future__ import annotations

import base64
import json
import os
import pickle
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from privacy.crypto import (
    KeyFamily,
    Keyring,
    KeyringError,
    generate_development_keyring,
    load_keyring,
    rotate_key_file,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _all_key_bytes(keyring: Keyring) -> list[bytes]:
    return [
        keyring.key_bytes(family, version)
        for family in KeyFamily
        for version in keyring.versions(family)
    ]


def test_generated_key_file_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "keys.json"

    generate_development_keyring(path)

    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700


def test_generated_key_file_loads_back_to_the_same_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"

    generated = generate_development_keyring(path)
    loaded = load_keyring(path)

    assert _all_key_bytes(loaded) == _all_key_bytes(generated)
    for family in KeyFamily:
        assert loaded.active_version(family) == 1
        assert len(loaded.key_bytes(family, 1)) == 32


def test_generating_again_returns_the_existing_keyring_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = generate_development_keyring(path)
    content = path.read_bytes()

    second = generate_development_keyring(path)

    assert path.read_bytes() == content
    assert _all_key_bytes(second) == _all_key_bytes(first)


def test_generate_never_overwrites_a_file_created_by_a_concurrent_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys.json"
    winner = Keyring.generate()
    real_generate = Keyring.generate

    def generate_while_another_process_writes_the_file() -> Keyring:
        # The other process wins the race between our existence check and our write.
        path.write_text(winner.to_key_file_json())
        path.chmod(0o600)
        return real_generate()

    monkeypatch.setattr(Keyring, "generate", generate_while_another_process_writes_the_file)

    result = generate_development_keyring(path)

    assert _all_key_bytes(result) == _all_key_bytes(winner)
    assert _all_key_bytes(load_keyring(path)) == _all_key_bytes(winner)


def test_generating_leaves_no_temporary_files(tmp_path: Path) -> None:
    generate_development_keyring(tmp_path / "keys.json")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json"]


def test_each_generated_keyring_has_distinct_keys() -> None:
    keys = _all_key_bytes(Keyring.generate()) + _all_key_bytes(Keyring.generate())

    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602, 0o620])
def test_key_file_accessible_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keys.json"
    generate_development_keyring(path)
    path.chmod(mode)

    with pytest.raises(KeyringError, match=r"mode is 0\d{3}; it must be 0600 or stricter"):
        load_keyring(path)


def test_key_file_0400_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    generate_development_keyring(path)
    path.chmod(0o400)

    assert load_keyring(path).active_version(KeyFamily.KEK) == 1


def test_existing_loose_key_file_is_refused_by_generate(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    generate_development_keyring(path)
    path.chmod(0o644)

    with pytest.raises(KeyringError, match="0600"):
        generate_development_keyring(path)


def test_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="key file not found"):
        load_keyring(tmp_path / "absent.json")


def test_directory_instead_of_key_file_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "keys.json"
    directory.mkdir(mode=0o700)

    with pytest.raises(KeyringError):
        load_keyring(directory)


def test_repr_and_str_show_versions_but_no_key_material(keyring: Keyring) -> None:
    rotated = keyring.rotate(KeyFamily.KEK)
    shown = repr(rotated) + str(rotated) + f"{rotated}"

    assert "kek: versions [1, 2] active 2" in shown
    for key in _all_key_bytes(rotated):
        for spelling in (
            key.hex(),
            repr(key),
            base64.urlsafe_b64encode(key).decode().rstrip("="),
            base64.b64encode(key).decode().rstrip("="),
        ):
            assert spelling not in shown


def test_keyring_cannot_be_pickled(keyring: Keyring) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(keyring)


def test_rotate_adds_a_new_active_version_and_keeps_the_old(keyring: Keyring) -> None:
    rotated = keyring.rotate(KeyFamily.BLIND_INDEX)

    assert rotated.versions(KeyFamily.BLIND_INDEX) == (1, 2)
    assert rotated.active_version(KeyFamily.BLIND_INDEX) == 2
    assert rotated.key_bytes(KeyFamily.BLIND_INDEX, 1) == keyring.key_bytes(
        KeyFamily.BLIND_INDEX, 1
    )
    assert rotated.key_bytes(KeyFamily.BLIND_INDEX, 2) != keyring.key_bytes(
        KeyFamily.BLIND_INDEX, 1
    )
    # Other families and the original keyring are untouched.
    assert rotated.versions(KeyFamily.KEK) == (1,)
    assert keyring.versions(KeyFamily.BLIND_INDEX) == (1,)


def test_rotate_key_file_persists_the_new_version_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    original = generate_development_keyring(path)

    rotated = rotate_key_file(path, KeyFamily.KEK)
    reloaded = load_keyring(path)

    assert reloaded.active_version(KeyFamily.KEK) == 2
    assert reloaded.key_bytes(KeyFamily.KEK, 2) == rotated.key_bytes(KeyFamily.KEK, 2)
    assert reloaded.key_bytes(KeyFamily.KEK, 1) == original.key_bytes(KeyFamily.KEK, 1)
    assert _mode(path) == 0o600


def test_rotating_two_families_is_one_write(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    generate_development_keyring(path)
    before = path.stat().st_ino

    rotate_key_file(path, KeyFamily.KEK, KeyFamily.BLIND_INDEX)
    reloaded = load_keyring(path)

    # A crash can never leave one family rotated and the other not.
    assert path.stat().st_ino != before
    assert reloaded.active_version(KeyFamily.KEK) == 2
    assert reloaded.active_version(KeyFamily.BLIND_INDEX) == 2
    with pytest.raises(ValueError, match="at least one"):
        rotate_key_file(path)


def test_rotate_key_file_refuses_a_loose_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    generate_development_keyring(path)
    path.chmod(0o644)

    with pytest.raises(KeyringError, match="0600"):
        rotate_key_file(path, KeyFamily.KEK)


def test_concurrent_rotations_lose_no_version(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    generate_development_keyring(path)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: rotate_key_file(path, KeyFamily.KEK), range(16)))

    final = load_keyring(path)
    assert final.versions(KeyFamily.KEK) == tuple(range(1, 18))
    # Every rotation's new key is the one that ended up in the file under its version.
    for result in results:
        version = result.active_version(KeyFamily.KEK)
        assert final.key_bytes(KeyFamily.KEK, version) == result.key_bytes(KeyFamily.KEK, version)


def test_keyring_from_json_string_round_trips(keyring: Keyring) -> None:
    text = keyring.to_key_file_json()

    assert _all_key_bytes(Keyring.from_json(text)) == _all_key_bytes(keyring)


def _document(keyring: Keyring) -> dict[str, object]:
    document: dict[str, object] = json.loads(keyring.to_key_file_json())
    return document


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["families"].pop("kek"), "family 'kek'"),
        (lambda d: d["families"].update(hmac={}), "unknown key families: hmac"),
        (lambda d: d.update(format=2), '"format": 1'),
        (lambda d: d["families"]["kek"].update(active=3), "active version is not one of"),
        (lambda d: d["families"]["kek"].update(active=True), "active must be an int"),
        (lambda d: d["families"]["kek"]["keys"].update({"1": "AAAA"}), "must be 32 bytes"),
        (lambda d: d["families"]["kek"]["keys"].update({"x": "AAAA"}), "non-numeric version"),
        (lambda d: d["families"]["kek"]["keys"].update({"0": "A" * 43}), "positive int"),
        (lambda d: d["families"]["kek"]["keys"].update({"1": "not base64!"}), "not base64url"),
        (lambda d: d["families"]["kek"].update(keys={}), "no 'kek' keys"),
    ],
)
def test_malformed_keyring_is_refused_with_a_clear_message(
    keyring: Keyring, mutate: object, message: str
) -> None:
    document = _document(keyring)
    mutate(document)  # type: ignore[operator]

    with pytest.raises(KeyringError, match=message) as raised:
        Keyring.from_json(json.dumps(document))

    for key in _all_key_bytes(keyring):
        assert base64.urlsafe_b64encode(key).decode().rstrip("=") not in str(raised.value)


def test_invalid_json_error_does_not_echo_the_input(keyring: Keyring) -> None:
    text = keyring.to_key_file_json()[:-5]

    with pytest.raises(KeyringError, match="not valid JSON") as raised:
        Keyring.from_json(text)

    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__
    assert text[20:60] not in str(raised.value)


def test_unknown_version_lookup_is_a_keyring_error(keyring: Keyring) -> None:
    with pytest.raises(KeyringError, match="no kek key v7"):
        keyring.key_bytes(KeyFamily.KEK, 7)


def test_key_file_is_written_without_a_window_of_loose_permissions(tmp_path: Path) -> None:
    # Even with a permissive umask the file never exists with group/other bits.
    old_umask = os.umask(0)
    try:
        path = tmp_path / "keys.json"
        generate_development_keyring(path)
    finally:
        os.umask(old_umask)

    assert _mode(path) == 0o600
