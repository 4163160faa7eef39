"""CSRF tokens: bound to one session, signed under a KEK-derived key, rotatable."""

from __future__ import annotations

from api.edge import KeyringCSRFKeys, issue_csrf_token, verify_csrf_token
from api.edge.csrf_tokens import session_binding
from privacy.crypto import KeyFamily, Keyring

SESSION = session_binding("ods_session-a")
OTHER = session_binding("ods_session-b")


def test_a_token_verifies_for_its_own_session_only() -> None:
    keys = KeyringCSRFKeys(Keyring.generate())
    token = issue_csrf_token(keys, SESSION)

    assert verify_csrf_token(keys, token, SESSION)
    assert not verify_csrf_token(keys, token, OTHER)
    assert not verify_csrf_token(keys, token, session_binding(None))


def test_tampered_malformed_and_foreign_key_tokens_fail() -> None:
    keys = KeyringCSRFKeys(Keyring.generate())
    token = issue_csrf_token(keys, SESSION)
    version, nonce, mac = token.split(".")
    flipped = ("A" if nonce[0] != "A" else "B") + nonce[1:]
    # Same nonce bytes, spelled with base64's four spare bits set in the last character.
    respelled = nonce[:-1] + {"A": "B", "Q": "R", "g": "h", "w": "x"}[nonce[-1]]

    assert not verify_csrf_token(keys, f"{version}.{flipped}.{mac}", SESSION)
    assert not verify_csrf_token(keys, f"{version}.{respelled}.{mac}", SESSION)
    assert not verify_csrf_token(keys, f"ff.{nonce}.{mac}", SESSION)  # unknown key version
    assert not verify_csrf_token(keys, "", SESSION)
    assert not verify_csrf_token(keys, token + "x", SESSION)
    assert not verify_csrf_token(KeyringCSRFKeys(Keyring.generate()), token, SESSION)


def test_tokens_survive_a_kek_rotation() -> None:
    keyring = Keyring.generate()
    token = issue_csrf_token(KeyringCSRFKeys(keyring), SESSION)
    rotated = KeyringCSRFKeys(keyring.rotate(KeyFamily.KEK))

    assert verify_csrf_token(rotated, token, SESSION)
    assert issue_csrf_token(rotated, SESSION).split(".")[0] != token.split(".")[0]


def test_the_purpose_key_is_not_the_kek() -> None:
    keyring = Keyring.generate()
    version = keyring.active_version(KeyFamily.KEK)

    assert KeyringCSRFKeys(keyring).key(version) != keyring.key_bytes(KeyFamily.KEK, version)
