"""Settings: validated once, a bad value is one line naming the variable."""

from __future__ import annotations

import pytest

from api.settings import SettingsError, load_settings

PRODUCTION_READY = {
    "env": "production",
    "database_url": "postgresql://app@db:5432/opendesk",
    "redis_url": "redis://cache:6379/0",
    "keys_file": "/run/secrets/opendesk-keys.json",
    "tls": True,
    "graphiql": "restricted",
}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OPENDESK_PORT", "not-a-port"),
        ("OPENDESK_PORT", "70000"),
        ("OPENDESK_ENV", "staging"),
        ("OPENDESK_DATABASE_URL", "mysql://db/opendesk"),
        ("OPENDESK_REDIS_URL", "http://cache"),
        ("OPENDESK_MAX_PAGE_SIZE", "0"),
        ("OPENDESK_GRAPHIQL", "sometimes"),
        ("OPENDESK_LOCKOUT_IP_THRESHOLD", "0"),
        ("OPENDESK_LOCKOUT_PAIR_THRESHOLD", "500"),
        ("OPENDESK_LOCKOUT_MAX_WAIT_SECONDS", "10"),
        ("OPENDESK_ERASURE_GRACE_DAYS", "-1"),
        ("OPENDESK_GRAPHQL_MAX_BATCH", "0"),
        ("OPENDESK_GRAPHQL_QUERY_TIMEOUT_SECONDS", "0"),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    message = str(raised.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message


def test_production_settings_with_real_services_load() -> None:
    settings = load_settings(**PRODUCTION_READY)

    assert settings.is_production


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"debug": True}, "OPENDESK_DEBUG"),
        ({"graphiql": "open"}, "OPENDESK_GRAPHIQL"),
        ({"database_url": "sqlite:///var/x.sqlite3"}, "OPENDESK_DATABASE_URL"),
        ({"redis_url": None}, "OPENDESK_REDIS_URL"),
        ({"keys_file": None}, "OPENDESK_KEYS_FILE"),
        ({"tls": False}, "OPENDESK_TLS"),
    ],
)
def test_production_refuses_each_development_default(
    override: dict[str, object], variable: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(**{**PRODUCTION_READY, **override})

    assert str(raised.value).startswith(f"{variable}: ")


def test_trusted_proxy_stands_in_for_tls_in_production() -> None:
    settings = load_settings(
        **{**PRODUCTION_READY, "tls": False, "trusted_proxies": ("10.0.0.0/8",)}
    )

    assert settings.trusted_proxies == ("10.0.0.0/8",)


def test_lockout_settings_reach_the_login_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.identity_setup import identity_config

    monkeypatch.setenv("OPENDESK_LOCKOUT_IP_THRESHOLD", "1000")
    monkeypatch.setenv("OPENDESK_LOCKOUT_MAX_WAIT_SECONDS", "600")

    lockout = identity_config(load_settings()).lockout

    assert lockout.ip_threshold == 1000
    assert lockout.max_wait_seconds == 600
    assert lockout.pair_threshold == 5
