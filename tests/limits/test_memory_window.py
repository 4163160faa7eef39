"""The per-process window store decides as the ``limits`` library's memory storage does,
on the same clock; refunds stop at zero; expired counters do not pile up."""

from __future__ import annotations

import time

import pytest
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from api.limits.memory_window import MemoryWindowStore
from api.limits.redis_window import window_stats

ITEM = parse("10/minute")
EXPIRY = ITEM.get_expiry()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_each_hit_decides_and_reads_the_window_as_the_library_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(1_800_000_015.25)  # 15.25 s into a minute window
    # The library reads time.time() itself: both run on the same fake clock.
    monkeypatch.setattr(time, "time", clock)
    ours = MemoryWindowStore(clock=clock)
    library = SlidingWindowCounterRateLimiter(MemoryStorage())
    key = ITEM.key_for("test", "client")

    # (seconds later, cost): fill a window, overflow it, carry into the next (weighted),
    # then long enough for both windows to have expired.
    steps = [(0, 3), (1, 4), (2, 5), (3, 3), (50, 1), (6, 4), (5, 3), (10, 2), (200, 10)]
    for delay, cost in steps:
        clock.now += delay
        acquired, window = ours.acquire_with_window(key, ITEM.amount, EXPIRY, cost)
        expected_acquired = await library.hit(ITEM, "test", "client", cost=cost)
        expected = await library.get_window_stats(ITEM, "test", "client")
        stats = window_stats(ITEM, window, now=clock.now)

        assert (acquired, stats.remaining) == (expected_acquired, expected.remaining), clock.now
        assert stats.reset_time == pytest.approx(expected.reset_time), clock.now


def test_a_refund_gives_back_at_most_what_the_current_window_holds() -> None:
    clock = Clock(1_800_000_000.0)
    store = MemoryWindowStore(clock=clock)
    store.acquire_with_window("k", 10, EXPIRY, 4)

    assert store.refund("k", EXPIRY, 3) == 3
    assert store.refund("k", EXPIRY, 5) == 1  # only 1 left to give
    clock.now += EXPIRY  # the window moved on; the new one holds nothing to give back
    assert store.refund("k", EXPIRY, 5) == 0

    acquired, window = store.acquire_with_window("k", 10, EXPIRY, 10)
    assert acquired
    assert (window.previous_count, window.current_count) == (0, 10)


def test_clear_forgets_both_windows() -> None:
    clock = Clock(1_800_000_030.0)
    store = MemoryWindowStore(clock=clock)
    store.acquire_with_window("k", 10, EXPIRY, 10)
    clock.now += EXPIRY
    store.acquire_with_window("k", 10, EXPIRY, 2)

    store.clear("k", EXPIRY)

    acquired, window = store.acquire_with_window("k", 10, EXPIRY, 10)
    assert acquired
    assert (window.previous_count, window.current_count) == (0, 10)


def test_expired_counters_are_swept_not_kept() -> None:
    clock = Clock(1_800_000_000.0)
    store = MemoryWindowStore(clock=clock, sweep_interval=1.0)
    for client in range(1_000):
        store.acquire_with_window(f"client-{client}", 10, EXPIRY, 1)
    assert len(store) == 1_000

    clock.now += 2 * EXPIRY + 1  # every counter has outlived its two windows
    store.acquire_with_window("late", 10, EXPIRY, 1)

    assert len(store) == 1


@pytest.mark.parametrize("amount", [0, -1])
def test_a_hit_must_charge_something(amount: int) -> None:
    with pytest.raises(ValueError, match="refund"):
        MemoryWindowStore().acquire_with_window("k", 10, EXPIRY, amount)
