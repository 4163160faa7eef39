"""Tokens and API keys: 256-bit, stored as SHA-256, strict key format."""

from __future__ import annotations

import base64
import hashlib

import pytest

from accounts.tokens import new_api_key, new_token, parse_api_key, token_digest, tokens_equal


def test_token_carries_256_random_bits() -> None:
    token = new_token()
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert len(raw) == 32
    assert token != new_token()


def test_token_prefix_is_kept_and_validated() -> None:
    assert new_token("ses_").startswith("ses_")
    for bad in ("Ses_", "a-b", "x" * 17, "ses__"):
        with pytest.raises(ValueError, match="prefix"):
            new_token(bad)


def test_token_digest_is_sha256_hex() -> None:
    token = new_token()
    assert token_digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert len(token_digest(token)) == 64


def test_tokens_equal_compares_exactly() -> None:
    token = new_token()
    assert tokens_equal(token, token[:])
    assert not tokens_equal(token, token[:-1])
    assert not tokens_equal(token, new_token())
    assert tokens_equal("ünïcode", "ünïcode")


def test_new_api_key_round_trips_through_parse() -> None:
    full_key, prefix, digest = new_api_key()
    assert full_key.startswith(f"odk_{prefix}_")
    assert digest == token_digest(full_key)
    parsed = parse_api_key(full_key)
    assert parsed is not None
    assert parsed[0] == prefix
    assert full_key.endswith(parsed[1])


def test_api_key_secret_may_contain_underscores() -> None:
    key = "odk_0123456789ab_" + "_" * 43
    assert parse_api_key(key) == ("0123456789ab", "_" * 43)


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "odk__",
        "ODK_0123456789ab_" + "A" * 43,
        "odk_0123456789AB_" + "A" * 43,
        "odk_0123456789a_" + "A" * 44,
        "odk_0123456789ab_" + "A" * 42,
        "odk_0123456789ab_" + "A" * 44,
        "odk_0123456789ab_" + "A" * 42 + "=",
        " odk_0123456789ab_" + "A" * 43,
        "odk_0123456789ab_" + "A" * 43 + "\n",
        "Bearer odk_0123456789ab_" + "A" * 43,
        "odx_0123456789ab_" + "A" * 43,
    ],
)
def test_malformed_api_keys_are_refused(presented: str) -> None:
    assert parse_api_key(presented) is None
