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
