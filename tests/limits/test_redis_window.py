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
from api.limits.redis_window import StoreCharge, window_stats
from tests.conftest import BACKENDS
from tests.limits.conftest import LimiterFactory, record_store_commands, redis_storage

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
    await limiter.hit(LimitClass.USER, key="warm-up")  # loads the script once
    commands = record_store_commands(limiter, monkeypatch)
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

    await storage.acquire_many([], {key: 2})
    _, partly = await storage.acquire_with_window(key, 10, ITEM.get_expiry(), 1)
    # As if the window had moved on meanwhile: more than it holds comes back.
    ((_, beyond),) = await storage.acquire_many(
        [StoreCharge(key, 10, ITEM.get_expiry(), 1)], {key: 5}
    )

    assert partly.current_count == 2  # 3 - 2 + 1
    assert beyond.current_count == 1  # 2 - 2 (not 5) + 1: never below zero


async def test_refunds_and_charges_in_one_trip_stop_at_the_first_refusal(
    redis_client: Redis,
) -> None:
    assert BACKENDS.redis_url is not None
    storage = redis_storage(redis_client, BACKENDS.redis_url)
    first, full, never = (ITEM.key_for("test", secrets.token_hex(4)) for _ in range(3))
    expiry = ITEM.get_expiry()
    await storage.acquire_with_window(full, 10, expiry, 10)
    await storage.acquire_with_window(first, 10, expiry, 4)

    answers = await storage.acquire_many(
        [
            StoreCharge(first, 10, expiry, 1),
            StoreCharge(full, 10, expiry, 1),
            StoreCharge(never, 10, expiry, 1),
        ],
        {first: 2},
    )

    assert [acquired for acquired, _ in answers] == [True, False]  # the third not made
    assert answers[0][1].current_count == 3  # 4 - 2 (refund first) + 1
    assert answers[1][1].current_count == 10
    assert await storage.get_sliding_window(never, expiry) == (0, 0.0, 0, 0.0)
