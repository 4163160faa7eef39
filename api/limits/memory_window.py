"""The per-process sliding-window store: the limiter's store without Redis (the embedded
default) and its fallback when Redis is unreachable (fail-open classes).

The same windows and arithmetic as ``limits``' ``MemoryStorage`` under its
sliding-window-counter strategy (windows aligned to the epoch, the previous one weighted
by its remaining overlap, counters living twice the window), answering like
:class:`~api.limits.redis_window.OneTripRedisStorage`: the hit and the window it leaves
in one call, and refunds that never take a window below zero.

Written here, not taken from the library, because its async ``MemoryStorage`` starts an
asyncio task on every increment that sweeps *every* key it holds — per request, work
that grows with the number of clients tracked, which is what a flood from many
addresses inflates — and a decision there is two calls (hit, then window stats) through
per-key locks. Here a decision is a few dictionary operations with no ``await`` (so no
lock is needed on the event loop), and expired counters are swept at most once per
``sweep_interval`` seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from api.limits.redis_window import Window

__all__ = ("MemoryWindowStore",)

SWEEP_INTERVAL_SECONDS = 1.0


class MemoryWindowStore:
    def __init__(
        self,
        *,
        sweep_interval: float = SWEEP_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Window key ("<key>/<window number>") -> [count, expires at (clock seconds)].
        self._counters: dict[str, list[float]] = {}
        self._sweep_interval = sweep_interval
        self._clock = clock
        self._next_sweep = clock() + sweep_interval

    def __len__(self) -> int:
        """Counters held (expired ones included until the next sweep)."""
        return len(self._counters)

    def acquire_with_window(
        self, key: str, limit: int, expiry: int, amount: int
    ) -> tuple[bool, Window]:
        """Acquire ``amount`` on ``key`` when the weighted count leaves room for it (as
        ``limits``' ``acquire_sliding_window_entry``); returns whether it was acquired
        and the window as it is afterwards."""
        if amount < 1:
            raise ValueError("amount must be >= 1; use refund() to give points back")
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        previous_key, current_key = _window_keys(key, expiry, now)
        previous = self._count(previous_key, now)
        current = self._count(current_key, now)
        previous_expires_in = 0.0 if previous == 0 else (1 - ((now - expiry) / expiry) % 1) * expiry
        weighted = previous * previous_expires_in / expiry + current
        acquired = amount <= limit and math.floor(weighted) + amount <= limit
        if acquired:
            counter = self._counters.get(current_key)
            if counter is None or counter[1] <= now:
                self._counters[current_key] = [amount, now + 2 * expiry]
            else:
                counter[0] += amount
            current += amount
        window = Window(
            previous_count=previous,
            previous_expires_in=previous_expires_in,
            current_count=current,
            current_expires_in=(1 - (now / expiry) % 1) * expiry + expiry,
        )
        return acquired, window

    def refund(self, key: str, expiry: int, amount: int) -> int:
        """Give back up to ``amount`` to ``key``'s current window, never below zero;
        returns how much. As with the Redis script, a refund arriving after the window
        moved on is taken from the new window (at most ``amount``, once per decision)."""
        _, current_key = _window_keys(key, expiry, self._clock())
        counter = self._counters.get(current_key)
        if counter is None or counter[1] <= self._clock():
            return 0
        given = max(0, min(amount, int(counter[0])))
        counter[0] -= given
        return given

    def clear(self, key: str, expiry: int) -> None:
        """Forget ``key``'s current and previous windows."""
        for window_key in _window_keys(key, expiry, self._clock()):
            self._counters.pop(window_key, None)

    def _count(self, window_key: str, now: float) -> int:
        counter = self._counters.get(window_key)
        if counter is None:
            return 0
        if counter[1] <= now:
            del self._counters[window_key]
            return 0
        return int(counter[0])

    def _sweep(self, now: float) -> None:
        expired = [name for name, (_, expires_at) in self._counters.items() if expires_at <= now]
        for name in expired:
            del self._counters[name]
        self._next_sweep = now + self._sweep_interval


def _window_keys(key: str, expiry: int, now: float) -> tuple[str, str]:
    """The previous and current windows' keys, as ``limits``' TimestampedSlidingWindow."""
    return f"{key}/{int((now - expiry) / expiry)}", f"{key}/{int(now / expiry)}"
