"""Every limit class at, under and over its limit; refunds; keys; switches."""

from __future__ import annotations

import ipaddress

import pytest

from api.limits import FailureMode, LimitClass, RateLimitConfig
from api.limits import limiter as limiter_module
from api.limits.setup import rate_limit_config
from api.settings import Settings
from tests.limits.conftest import SMALL_RATES, LimiterFactory


@pytest.mark.parametrize("limit_class", list(LimitClass))
async def test_each_limit_allows_up_to_its_size_then_refuses(
    make_limiter: LimiterFactory, limit_class: LimitClass
) -> None:
    limiter = make_limiter()

    under = [await limiter.hit(limit_class, key="k") for _ in range(2)]
    at = await limiter.hit(limit_class, key="k")
    over = await limiter.hit(limit_class, key="k")

    assert [d.allowed for d in under] == [True, True]
    assert [d.remaining for d in under] == [2, 1]
    assert at.allowed
    assert at.remaining == 0
    assert at.retry_after == 0
    assert not over.allowed
    assert over.remaining == 0
    assert 1 <= over.retry_after <= 60
    assert over.limit == 3
    assert over.window_seconds == 60
    assert not over.degraded


async def test_keys_and_classes_are_counted_apart(make_limiter: LimiterFactory) -> None:
    limiter = make_limiter()
    for _ in range(3):
        await limiter.hit(LimitClass.LOGIN, key="alice")

    assert not (await limiter.hit(LimitClass.LOGIN, key="alice")).allowed
    assert (await limiter.hit(LimitClass.LOGIN, key="bob")).allowed
    assert (await limiter.hit(LimitClass.TOTP, key="alice")).allowed


async def test_a_costly_hit_is_refused_whole_and_charges_nothing(
    make_limiter: LimiterFactory,
) -> None:
    limiter = make_limiter({LimitClass.COST: "10/minute"})

    first = await limiter.hit(LimitClass.COST, key="u", cost=8)
    refused = await limiter.hit(LimitClass.COST, key="u", cost=5)
    fits = await limiter.hit(LimitClass.COST, key="u", cost=2)

    assert first.allowed
    assert first.remaining == 2
    assert not refused.allowed
    assert fits.allowed
    assert fits.remaining == 0


async def test_a_refund_gives_points_back_to_the_window(make_limiter: LimiterFactory) -> None:
    limiter = make_limiter({LimitClass.COST: "10/minute"})
    charged = await limiter.hit(LimitClass.COST, key="u", cost=8)
    assert not (await limiter.hit(LimitClass.COST, key="u", cost=5)).allowed

    await limiter.refund(charged, 6)  # the query cost 2, not 8

    after = await limiter.hit(LimitClass.COST, key="u", cost=5)
    assert after.allowed
    assert after.remaining == 3


async def test_a_refused_decision_refunds_nothing(make_limiter: LimiterFactory) -> None:
    limiter = make_limiter({LimitClass.COST: "10/minute"})
    await limiter.hit(LimitClass.COST, key="u", cost=10)
    refused = await limiter.hit(LimitClass.COST, key="u", cost=1)

    await limiter.refund(refused, 5)

    assert not (await limiter.hit(LimitClass.COST, key="u", cost=1)).allowed


async def test_a_class_may_be_named_by_value(make_limiter: LimiterFactory) -> None:
    limiter = make_limiter()

    decision = await limiter.hit("login", key="k")

    assert decision.limit_class is LimitClass.LOGIN
    with pytest.raises(ValueError, match="nope"):
        await limiter.hit("nope", key="k")
    with pytest.raises(ValueError, match="cost"):
        await limiter.hit(LimitClass.LOGIN, key="k", cost=0)


async def test_disabled_limits_allow_everything(make_limiter: LimiterFactory) -> None:
    limiter = make_limiter(enabled=False)

    decisions = [await limiter.hit(LimitClass.LOGIN, key="k") for _ in range(10)]

    assert all(d.allowed for d in decisions)


def test_ipv6_clients_are_counted_per_configured_prefix() -> None:
    config = RateLimitConfig.build(SMALL_RATES, ipv6_prefix=64)

    first = config.client_key(ipaddress.ip_address("2001:db8:1:2::1"))
    same_subscriber = config.client_key(ipaddress.ip_address("2001:db8:1:2:ffff::9"))
    other = config.client_key(ipaddress.ip_address("2001:db8:1:3::1"))

    assert first == same_subscriber == "2001:db8:1:2::/64"
    assert other != first
    assert config.client_key(ipaddress.ip_address("198.51.100.7")) == "198.51.100.7"


def test_every_limit_class_has_a_setting_and_the_documented_failure_mode(
    settings: Settings,
) -> None:
    config = rate_limit_config(settings)

    closed = {c for c, p in config.policies.items() if p.failure_mode is FailureMode.CLOSED}
    assert set(config.policies) == set(LimitClass)
    assert closed == {
        LimitClass.LOGIN,
        LimitClass.PASSWORD_RESET,
        LimitClass.TOTP,
        LimitClass.REGISTRATION,
        LimitClass.REVEAL,
    }
    for limit_class in LimitClass:
        assert config.policies[limit_class].rate == getattr(
            settings, f"rate_limit_{limit_class.value}"
        )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RATE_LIMIT_LOGIN", "lots"),
        ("RATE_LIMIT_FAIL_CLOSED", '["nope"]'),
        ("RATE_LIMIT_ALLOWLIST", '["0.0.0.0/0"]'),
    ],
)
def test_a_bad_limit_setting_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    from api.settings import SettingsError, load_settings

    monkeypatch.setenv(f"OPENDESK_{variable}", value)

    with pytest.raises(SettingsError, match=f"OPENDESK_{variable}"):
        load_settings()


@pytest.mark.parametrize("limit_class", list(LimitClass))
def test_policy_keys_are_the_librarys_keys(limit_class: LimitClass) -> None:
    # Redis holds counters under the library's keys (shared with its other calls).
    policy = RateLimitConfig.build(dict.fromkeys(LimitClass, "7/hour")).policies[limit_class]

    for key in ("ip:2001:db8::/64", "user:42", "subject:" + "a" * 32, ""):
        assert policy.item_key(key) == policy.item.key_for(limit_class.value, key)


async def test_remembered_refusals_stay_bounded(
    make_limiter: LimiterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limiter_module, "KNOWN_REFUSALS_MAX", 20)
    limiter = make_limiter({LimitClass.IP: "1/minute"})

    for client in range(50):
        key = f"ip:198.51.100.{client}"
        await limiter.hit(LimitClass.IP, key=key)
        refused = await limiter.hit(LimitClass.IP, key=key)
        assert not refused.allowed
        assert limiter.known_refusal(LimitClass.IP, key) is not None  # the newest stays

    assert len(limiter._known_refusals) <= 20
    assert limiter.known_refusal(LimitClass.IP, "ip:198.51.100.0") is None  # the oldest went
