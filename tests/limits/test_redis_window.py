"""The one-trip Redis decision agrees with the ``limits`` library's two calls, on the
library's own keys, and really is one round trip."""

from __future__ import annotations

import secrets
import time

import pytest
from limits import parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio import Redis

from api.limits import LimitClass
from api.limits.redis_window import OneTripRedisStorage, window_stats
from tests.conftest import BACKENDS
from tests.limits.conftest import LimiterFactory, redis_storage

pytestmark = pytest.mark.skipif(
    BACKENDS.redis_url is None, reason="the one-trip script runs in Redis only"
)

ITEM = parse("10/minute")


async def test_each_hit_answers_what_the_library_would_on_the_same_keys(
    redis_client: Redis,
) -> None:
    assert BACKENDS.redis_url is not None
    storage = redis_storage(redis_client, BACKENDS.redis_url)
    library = SlidingWindowCounterRateLimiter(storage)
    identifier = secrets.token_hex(4)
    key = ITEM.key_for("test", identifier)

    # Costs that fit, one that does not, a refund (negative), more that fit, too much.
    outcomes = []
    for cost in (1, 4, 3, 5, -3, 2, 11):
        acquired, window = await storage.acquire_with_window(key, 10, ITEM.get_expiry(), cost)
        now = time.time()
        stats = window_stats(ITEM, window, now=now)
        counters = await storage.get_sliding_window(key, ITEM.get_expiry())
        expected = await library.get_window_stats(ITEM, "test", identifier)

        assert (window.previous_count, window.current_count) == (counters[0], counters[2])
        assert stats.remaining == expected.remaining
        # Equal up to a whole window: the library itself answers "now" or "in 60 s" for a
        # key read in the very millisecond it was set (TTL exactly two windows).
        drift = (stats.reset_time - expected.reset_time) % ITEM.get_expiry()
        assert min(drift, ITEM.get_expiry() - drift) < 0.5
        outcomes.append(acquired)

    assert outcomes == [True, True, True, False, True, True, False]
    assert window.current_count == 7  # 1 + 4 + 3 - 3 + 2


async def test_a_decision_is_one_round_trip(
    make_limiter: LimiterFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = make_limiter()
    shared = limiter._shared
    assert shared is not None
    storage = shared.storage
    assert isinstance(storage, OneTripRedisStorage)
    connection = storage.bridge.get_connection()  # type: ignore[attr-defined]
    await limiter.hit(LimitClass.USER, key="warm-up")  # loads the script once
    commands: list[str] = []
    original = connection.execute_command

    async def counted(*args: object, **options: object) -> object:
        commands.append(str(args[0]))
        return await original(*args, **options)

    monkeypatch.setattr(connection, "execute_command", counted)
    allowed = await limiter.hit(LimitClass.USER, key="one-trip")
    refused = [await limiter.hit(LimitClass.USER, key="one-trip") for _ in range(3)][-1]

    assert allowed.allowed
    assert allowed.remaining == 2
    assert not refused.allowed
    assert refused.retry_after >= 1
    assert commands == ["EVALSHA"] * 4


async def test_a_refund_never_takes_a_window_below_zero(redis_client: Redis) -> None:
    assert BACKENDS.redis_url is not None
    storage = redis_storage(redis_client, BACKENDS.redis_url)
    key = ITEM.key_for("test", secrets.token_hex(4))
    await storage.acquire_with_window(key, 10, ITEM.get_expiry(), 3)

    partly = await storage.refund(key, 2)
    beyond = await storage.refund(key, 5)  # as if the window had moved on meanwhile
    _acquired, window = await storage.acquire_with_window(key, 10, ITEM.get_expiry(), 1)

    assert (partly, beyond) == (2, 1)
    assert window.current_count == 1  # 3 - 2 - 1 + 1: never below zero
