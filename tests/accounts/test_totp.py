"""TOTP: ±1 step of drift, one use per step, strict code format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from accounts.totp import new_secret, provisioning_uri, time_step, verify_totp

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


@pytest.fixture
def secret() -> str:
    return new_secret()


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def test_new_secret_is_160_bit_base32() -> None:
    secret = new_secret()
    assert len(secret) == 32
    assert secret != new_secret()


def test_provisioning_uri_names_account_and_issuer(secret: str) -> None:
    uri = urlparse(provisioning_uri(secret, "jane@example.com", "OpenDesk"))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    query = parse_qs(uri.query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["OpenDesk"]


def test_current_code_returns_current_step(secret: str) -> None:
    assert verify_totp(secret, code_at(secret, NOW), last_used_step=None, now=NOW) == time_step(NOW)


@pytest.mark.parametrize("drift", [-1, 1])
def test_one_step_of_drift_is_accepted(secret: str, drift: int) -> None:
    code = code_at(secret, NOW + timedelta(seconds=30 * drift))
    assert verify_totp(secret, code, last_used_step=None, now=NOW) == time_step(NOW) + drift


@pytest.mark.parametrize("drift", [-2, 2])
def test_drift_of_two_steps_is_refused(secret: str, drift: int) -> None:
    code = code_at(secret, NOW + timedelta(seconds=30 * drift))
    assert verify_totp(secret, code, last_used_step=None, now=NOW) is None


def test_replayed_totp_code_is_refused(secret: str) -> None:
    code = code_at(secret, NOW)
    step = verify_totp(secret, code, last_used_step=None, now=NOW)
    assert step is not None
    assert verify_totp(secret, code, last_used_step=step, now=NOW) is None
    assert verify_totp(secret, code, last_used_step=step, now=NOW + timedelta(seconds=30)) is None


def test_older_code_after_a_newer_one_is_refused(secret: str) -> None:
    newer_step = verify_totp(secret, code_at(secret, NOW), last_used_step=None, now=NOW)
    older = code_at(secret, NOW - timedelta(seconds=30))
    assert verify_totp(secret, older, last_used_step=newer_step, now=NOW) is None


def test_next_step_code_is_accepted_after_current_one(secret: str) -> None:
    step = verify_totp(secret, code_at(secret, NOW), last_used_step=None, now=NOW)
    later = NOW + timedelta(seconds=30)
    assert verify_totp(secret, code_at(secret, later), last_used_step=step, now=later) == step + 1  # type: ignore[operator]


def test_wrong_code_is_refused(secret: str) -> None:
    right = code_at(secret, NOW)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert verify_totp(secret, wrong, last_used_step=None, now=NOW) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:5],
        lambda c: c + "0",
        lambda c: "\uff10" + c[1:],  # fullwidth zero
        lambda c: c.replace(c[0], "x", 1),
        lambda c: "",
    ],
)
def test_code_must_be_exactly_six_ascii_digits(secret: str, mangle: object) -> None:
    code = mangle(code_at(secret, NOW))  # type: ignore[operator]
    assert verify_totp(secret, code, last_used_step=None, now=NOW) is None


def test_spaces_as_apps_display_them_are_ignored(secret: str) -> None:
    code = code_at(secret, NOW)
    spaced = f"{code[:3]} {code[3:]}"
    assert verify_totp(secret, spaced, last_used_step=None, now=NOW) == time_step(NOW)


def test_naive_time_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_totp(secret, "123456", last_used_step=None, now=datetime(2026, 1, 1))


def test_malformed_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="base32"):
        verify_totp("not a secret!", "123456", last_used_step=None, now=NOW)
