"""One Redis round trip for all of a request's limit decisions: each sliding-window hit
and the window it leaves, plus any refunds waiting, in one Lua script.

``limits``' Redis storage answers a hit with a bare yes/no; the window's state (for the
``RateLimit`` headers, ``Retry-After`` and cost budgets) is a second call, and each
limit is its own call: a request checked against its client address, its principal and
its query cost, then refunded, would make seven round trips.
:class:`OneTripRedisStorage` is the library's ``RedisStorage`` (same keys, prefix and
scripts for everything else: clear, window stats) plus
:meth:`~OneTripRedisStorage.acquire_many`, which first applies refunds, then runs the
library's acquire logic for each charge in order, reading the window after each, and
stops at the first refusal. Written here because the library has no call that returns
both (its ``hit`` drops the counts it has just read) nor one for several limits;
the acquire below is its ``acquire_sliding_window.lua`` with the read of
``sliding_window.lua`` appended, and a test compares both ways on the same keys.

All keys of one call go to one Redis: the product runs on a single Redis (or a primary
with replicas), not Redis Cluster, where keys of different limits may live on different
nodes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem
from limits.aio.storage import RedisStorage
from limits.util import WindowStats

__all__ = ("OneTripRedisStorage", "StoreCharge", "Window", "window_stats")

# KEYS: each refund's current window, then each charge's previous and current windows.
# ARGV: the number of refunds, the number of charges, each refund's amount, then each
# charge's limit, expiry (s) and amount.
# Refunds give back at most what the current window holds: a refund that arrives after
# the window moved on must not push the new one below zero (that would hand out budget
# nobody spent). Charges are made in order; the first refused one ends the script.
# Returns, per charge made: acquired (0/1), previous count, previous TTL (ms), current
# count, current TTL (ms).
_REFUND_AND_ACQUIRE = """
local refunds = tonumber(ARGV[1])
local charges = tonumber(ARGV[2])

for i = 1, refunds do
    local current = tonumber(redis.call('get', KEYS[i])) or 0
    local amount = math.min(tonumber(ARGV[2 + i]), current)
    if amount > 0 then
        redis.call('decrby', KEYS[i], amount)
    end
end

local function window(previous_key, current_key)
    local previous_count = tonumber(redis.call('get', previous_key)) or 0
    local previous_ttl = tonumber(redis.call('pttl', previous_key)) or 0
    local current_count = tonumber(redis.call('get', current_key)) or 0
    local ttl = tonumber(redis.call('pttl', current_key)) or 0
    if previous_ttl < 0 then previous_ttl = 0 end
    if ttl < 0 then ttl = 0 end
    return previous_count, previous_ttl, current_count, ttl
end

local answers = {}
for c = 0, charges - 1 do
    local previous_key = KEYS[refunds + 2 * c + 1]
    local current_key = KEYS[refunds + 2 * c + 2]
    local base = 2 + refunds + 3 * c
    local limit = tonumber(ARGV[base + 1])
    local expiry = tonumber(ARGV[base + 2]) * 1000
    local amount = tonumber(ARGV[base + 3])

    local current_ttl = tonumber(redis.call('pttl', current_key))
    if current_ttl > 0 and current_ttl < expiry then
        redis.call('rename', current_key, previous_key)
        redis.call('set', current_key, 0, 'PX', current_ttl + expiry)
    end

    local previous_count, previous_ttl, current_count, ttl = window(previous_key, current_key)
    local acquired = 0
    if amount <= limit then
        local weighted_count = math.floor(previous_count * previous_ttl / expiry) + current_count
        if (weighted_count + amount) <= limit then
            if redis.call('exists', current_key) == 1 then
                redis.call('incrby', current_key, amount)
            else
                redis.call('set', current_key, amount, 'PX', expiry * 2)
            end
            acquired = 1
            previous_count, previous_ttl, current_count, ttl = window(previous_key, current_key)
        end
    end
    for _, value in ipairs({acquired, previous_count, previous_ttl, current_count, ttl}) do
        answers[#answers + 1] = value
    end
    if acquired == 0 then
        break
    end
end
return answers
"""


@dataclass(frozen=True, slots=True)
class StoreCharge:
    """``amount`` on the window ``key`` (a ``limits`` item key) of ``limit`` per ``expiry``."""

    key: str
    limit: int
    expiry: int
    amount: int


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
    _script: Any = None

    async def acquire_many(
        self, charges: Sequence[StoreCharge], refunds: Mapping[str, int]
    ) -> list[tuple[bool, Window]]:
        """Give back ``refunds`` ({item key: amount}; never below zero), then acquire each
        charge in order (as ``acquire_sliding_window_entry``) until one is refused, in one
        round trip. Returns, per charge made, whether it was acquired and its window as it
        is afterwards; the refused charge, if any, is the last."""
        bridge: Any = self.bridge
        if self._script is None:
            self._script = bridge.get_connection().register_script(_REFUND_AND_ACQUIRE)
        keys = [bridge.prefixed_key(self._current_window_key(key)) for key in refunds]
        arguments: list[int] = [len(refunds), len(charges), *refunds.values()]
        for charge in charges:
            keys.append(bridge.prefixed_key(self._previous_window_key(charge.key)))
            keys.append(bridge.prefixed_key(self._current_window_key(charge.key)))
            arguments.extend((charge.limit, charge.expiry, charge.amount))
        answers = await self._script(keys, arguments)
        return [
            (
                bool(answers[i]),
                Window(
                    previous_count=int(answers[i + 1]),
                    previous_expires_in=max(0.0, float(answers[i + 2])) / 1000,
                    current_count=int(answers[i + 3]),
                    current_expires_in=max(0.0, float(answers[i + 4])) / 1000,
                ),
            )
            for i in range(0, len(answers), 5)
        ]

    async def acquire_with_window(
        self, key: str, limit: int, expiry: int, amount: int
    ) -> tuple[bool, Window]:
        """One charge alone: :meth:`acquire_many` with nothing else."""
        ((acquired, window),) = await self.acquire_many(
            [StoreCharge(key, limit, expiry, amount)], {}
        )
        return acquired, window
