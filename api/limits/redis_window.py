"""One Redis round trip per limit decision: the sliding-window hit and the window it
leaves, in one Lua script.

``limits``' Redis storage answers a hit with a bare yes/no; the window's state (for the
``RateLimit`` headers, ``Retry-After`` and cost budgets) is a second call, so every
decision cost two round trips. :class:`OneTripRedisStorage` is the library's
``RedisStorage`` (same keys, prefix and scripts for everything else: refunds, clear,
window stats) plus :meth:`~OneTripRedisStorage.acquire_with_window`, which runs the
library's acquire logic and then reads the window in the same script. Written here
because the library has no call returning both (its ``hit`` drops the counts it has
just read); the script below is its ``acquire_sliding_window.lua`` with the read of
``sliding_window.lua`` appended, and a test compares both ways on the same keys.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem
from limits.aio.storage import RedisStorage
from limits.util import WindowStats

__all__ = ("OneTripRedisStorage", "Window", "window_stats")

# KEYS: previous window, current window. ARGV: limit, expiry (s), amount.
# Returns {acquired (0/1), previous count, previous TTL (ms), current count, current TTL (ms)}.
_ACQUIRE_AND_READ = """
local limit = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2]) * 1000
local amount = tonumber(ARGV[3])

local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end

local function window()
    local previous_count = tonumber(redis.call('get', KEYS[1])) or 0
    local previous_ttl = tonumber(redis.call('pttl', KEYS[1])) or 0
    local current_count = tonumber(redis.call('get', KEYS[2])) or 0
    local ttl = tonumber(redis.call('pttl', KEYS[2])) or 0
    if previous_ttl < 0 then previous_ttl = 0 end
    if ttl < 0 then ttl = 0 end
    return previous_count, previous_ttl, current_count, ttl
end

local previous_count, previous_ttl, current_count, ttl = window()
local acquired = 0
if amount <= limit then
    local weighted_count = math.floor(previous_count * previous_ttl / expiry) + current_count
    if (weighted_count + amount) <= limit then
        if redis.call('exists', KEYS[2]) == 1 then
            redis.call('incrby', KEYS[2], amount)
        else
            redis.call('set', KEYS[2], amount, 'PX', expiry * 2)
        end
        acquired = 1
        previous_count, previous_ttl, current_count, ttl = window()
    end
end
return {acquired, previous_count, previous_ttl, current_count, ttl}
"""


# KEYS: current window. ARGV: amount. Gives back at most what the current window holds:
# a refund that arrives after the window moved on must not push the new one below zero
# (that would hand out budget nobody spent).
_REFUND = """
local current = tonumber(redis.call('get', KEYS[1])) or 0
local amount = math.min(tonumber(ARGV[1]), current)
if amount > 0 then
    redis.call('decrby', KEYS[1], amount)
end
return amount
"""


@dataclass(frozen=True, slots=True)
class Window:
    """A sliding window's two counters and their remaining lives (seconds)."""

    previous_count: int
    previous_expires_in: float
    current_count: int
    current_expires_in: float


def window_stats(item: RateLimitItem, window: Window, now: float | None = None) -> WindowStats:
    """What ``SlidingWindowCounterRateLimiter.get_window_stats`` computes from a window."""
    expiry = item.get_expiry()
    weighted = window.previous_count * window.previous_expires_in / expiry + window.current_count
    remaining = max(0, item.amount - math.floor(weighted))
    now = time.time() if now is None else now
    if not (window.previous_count or window.current_count):
        return WindowStats(now, remaining)
    previous_reset_in = current_reset_in = math.inf
    if window.previous_count:
        previous_reset_in = window.previous_expires_in % (expiry / window.previous_count)
    if window.current_count:
        # A key read in the millisecond it was set lives exactly 2 x expiry: its window
        # ends in a full expiry, not now (the library, a moment later, reads 59.999 s).
        current_reset_in = window.current_expires_in % expiry or expiry
    return WindowStats(now + min(previous_reset_in, current_reset_in), remaining)


class OneTripRedisStorage(RedisStorage):
    _acquire_and_read: Any = None
    _refund: Any = None

    async def refund(self, key: str, amount: int) -> int:
        """Give back up to ``amount`` to ``key``'s current window, never below zero;
        returns how much was given back."""
        bridge: Any = self.bridge
        if self._refund is None:
            self._refund = bridge.get_connection().register_script(_REFUND)
        given = await self._refund([bridge.prefixed_key(self._current_window_key(key))], [amount])
        return int(given)

    async def acquire_with_window(
        self, key: str, limit: int, expiry: int, amount: int
    ) -> tuple[bool, Window]:
        """Acquire ``amount`` on ``key`` (as ``acquire_sliding_window_entry``) and return
        whether it was acquired together with the window as it is afterwards."""
        bridge: Any = self.bridge
        if self._acquire_and_read is None:
            self._acquire_and_read = bridge.get_connection().register_script(_ACQUIRE_AND_READ)
        keys = [
            bridge.prefixed_key(self._previous_window_key(key)),
            bridge.prefixed_key(self._current_window_key(key)),
        ]
        acquired, previous, previous_ttl, current, current_ttl = await self._acquire_and_read(
            keys, [limit, expiry, amount]
        )
        window = Window(
            previous_count=int(previous),
            previous_expires_in=max(0.0, float(previous_ttl)) / 1000,
            current_count=int(current),
            current_expires_in=max(0.0, float(current_ttl)) / 1000,
        )
        return bool(acquired), window
