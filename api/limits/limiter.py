"""The one rate limiter: every limit in the service is decided here.

Built on the ``limits`` library's sliding-window-counter strategy (not moving window):

* O(1) state per key — two integers in Redis, whatever the limit — where a moving
  window keeps one list entry per unit of cost (a 10 000-point cost budget would be a
  10 000-entry list per principal, and a 500-point query 500 LPUSHes);
* a hit of any cost is one atomic Lua call (INCRBY), and a *negative* cost is an
  atomic refund through the same public API, which cost budgets need;
* the price is an approximation at window edges (the previous window is weighted by
  its remaining overlap, assuming its hits were spread evenly); within one window the
  count is exact, which is what the multi-process test pins.

A decision costs one round trip to Redis: the hit and the window it leaves, in one
script (:mod:`api.limits.redis_window`); without Redis, a few dictionary operations in
:mod:`api.limits.memory_window` (same windows and arithmetic, no ``await``). When
Redis fails, each limit class follows its :class:`FailureMode`; the limiter never raises
a storage error to its caller.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, replace

import redis.exceptions
import structlog
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from limits.util import WindowStats
from prometheus_client import Counter as MetricCounter

from api.edge import IPAddress
from api.limits.config import FailureMode, LimitClass, LimitPolicy, RateLimitConfig
from api.limits.memory_window import MemoryWindowStore
from api.limits.redis_window import OneTripRedisStorage, window_stats

__all__ = ("STORE_FAILURES", "LimitDecision", "Limiter")

_log = structlog.get_logger("api.limits")

STORE_FAILURES = MetricCounter(
    "opendesk_rate_limit_store_failures",
    "Rate-limit decisions taken without the shared store, by class and failure mode.",
    ["limit_class", "failure_mode"],
)

# What a store call may raise: Redis errors, socket errors, our own timeout.
_STORE_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.RedisError,
    StorageError,
    OSError,
    TimeoutError,
)


@dataclass(frozen=True, slots=True)
class LimitDecision:
    """The outcome of one hit.

    ``remaining`` is what is left in the window after this hit; ``reset_at`` (epoch
    seconds) is when more becomes available; ``retry_after`` (whole seconds, >= 1) is
    set only when refused. ``degraded`` is True when the shared store was unreachable
    and the decision was taken by the failure policy instead.
    """

    limit_class: LimitClass
    key: str
    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    retry_after: int
    window_seconds: int
    degraded: bool = False


class Limiter:
    """Decides hits for every :class:`LimitClass`; one instance per process.

    ``shared`` is the cross-process store (``limits.aio.storage.RedisStorage``);
    without it, decisions are per process (the embedded default), in a
    :class:`~api.limits.memory_window.MemoryWindowStore`.
    """

    def __init__(self, config: RateLimitConfig, shared: Storage | None = None) -> None:
        self.config = config
        self._fallback = MemoryWindowStore()
        self._shared = SlidingWindowCounterRateLimiter(shared) if shared is not None else None
        self._store_down_until = 0.0
        self._store_down = False
        # Per-class count of degraded decisions, for tests and diagnostics.
        self.degraded_decisions: Counter[LimitClass] = Counter()

    @property
    def is_shared(self) -> bool:
        return self._shared is not None

    def client_key(self, address: IPAddress) -> str:
        """The key a client address is counted under (IPv6: its configured prefix)."""
        return self.config.client_key(address)

    async def hit(self, limit_class: LimitClass | str, *, key: str, cost: int = 1) -> LimitDecision:
        """Charge ``cost`` to ``key`` under ``limit_class``; refused hits charge nothing.

        ``limit_class`` may be given by value ("login"): layers below ``api`` cannot
        import :class:`LimitClass`. Raises ValueError for an unknown class or a cost
        below 1; never raises for store trouble: an unreachable store gives a
        ``degraded`` decision following the class's failure mode.
        """
        if cost < 1:
            raise ValueError("cost must be >= 1; use refund() to give points back")
        policy = self.config.policies[LimitClass(limit_class)]
        if not self.config.enabled:
            return _unlimited(policy, key)
        if self._shared is None:
            return self._decide_in_memory(policy, key, cost)
        if time.monotonic() >= self._store_down_until:
            try:
                async with asyncio.timeout(self.config.storage_timeout_seconds):
                    decision = await _decide(self._shared, policy, key, cost)
            except _STORE_ERRORS as error:
                self._store_failed(error)
            else:
                self._store_answered()
                return decision
        return await self._degraded(policy, key, cost)

    async def refund(self, decision: LimitDecision, cost: int) -> None:
        """Give ``cost`` points back to the window ``decision`` charged (e.g. down to a
        query's actual cost), never below zero in either of the product's stores (after
        a window boundary, from the new window). Best effort: store trouble is logged,
        never raised."""
        if cost <= 0 or not decision.allowed or not self.config.enabled:
            return
        item = self.config.policies[decision.limit_class].item
        item_key = item.key_for(decision.limit_class.value, decision.key)
        if decision.degraded or self._shared is None:
            self._fallback.refund(item_key, item.get_expiry(), cost)
            return
        try:
            async with asyncio.timeout(self.config.storage_timeout_seconds):
                storage = self._shared.storage
                if isinstance(storage, OneTripRedisStorage):
                    await storage.refund(item_key, cost)
                else:
                    # A negative hit is an atomic decrement of the current window.
                    await self._shared.hit(
                        item, decision.limit_class.value, decision.key, cost=-cost
                    )
        except _STORE_ERRORS as error:
            _log.warning(
                "rate_limit_refund_failed", limit_class=decision.limit_class, error=str(error)
            )

    async def clear(self, limit_class: LimitClass, *, key: str) -> None:
        """Forget ``key``'s usage (e.g. after a successful login); best effort."""
        item = self.config.policies[limit_class].item
        self._fallback.clear(item.key_for(limit_class.value, key), item.get_expiry())
        if self._shared is None:
            return
        try:
            async with asyncio.timeout(self.config.storage_timeout_seconds):
                await self._shared.clear(item, limit_class.value, key)
        except _STORE_ERRORS as error:
            _log.warning("rate_limit_clear_failed", limit_class=limit_class, error=str(error))

    def _decide_in_memory(self, policy: LimitPolicy, key: str, cost: int) -> LimitDecision:
        item = policy.item
        allowed, window = self._fallback.acquire_with_window(
            item.key_for(policy.limit_class.value, key), item.amount, item.get_expiry(), cost
        )
        return _decision(policy, key, allowed, window_stats(item, window))

    async def _degraded(self, policy: LimitPolicy, key: str, cost: int) -> LimitDecision:
        self.degraded_decisions[policy.limit_class] += 1
        STORE_FAILURES.labels(policy.limit_class.value, policy.failure_mode.value).inc()
        if policy.failure_mode is FailureMode.OPEN:
            return replace(self._decide_in_memory(policy, key, cost), degraded=True)
        retry_after = max(1, math.ceil(self.config.storage_retry_seconds))
        return LimitDecision(
            limit_class=policy.limit_class,
            key=key,
            allowed=False,
            limit=policy.amount,
            remaining=0,
            reset_at=time.time() + retry_after,
            retry_after=retry_after,
            window_seconds=policy.window_seconds,
            degraded=True,
        )

    def _store_failed(self, error: BaseException) -> None:
        self._store_down_until = time.monotonic() + self.config.storage_retry_seconds
        # Logged once per probe (at most every storage_retry_seconds), not per request.
        _log.error(
            "rate_limit_store_unreachable",
            error=type(error).__name__,
            detail=str(error)[:200],
            retry_in_seconds=self.config.storage_retry_seconds,
            fail_closed=sorted(
                cls.value
                for cls, policy in self.config.policies.items()
                if policy.failure_mode is FailureMode.CLOSED
            ),
        )
        self._store_down = True

    def _store_answered(self) -> None:
        if self._store_down:
            self._store_down = False
            _log.warning("rate_limit_store_recovered")


async def _decide(
    strategy: SlidingWindowCounterRateLimiter, policy: LimitPolicy, key: str, cost: int
) -> LimitDecision:
    """A decision by the shared store."""
    storage = strategy.storage
    if isinstance(storage, OneTripRedisStorage):
        # One round trip: the hit and the window it leaves (api/limits/redis_window.py).
        item = policy.item
        allowed, window = await storage.acquire_with_window(
            item.key_for(policy.limit_class.value, key), item.amount, item.get_expiry(), cost
        )
        stats = window_stats(item, window)
    else:
        allowed = await strategy.hit(policy.item, policy.limit_class.value, key, cost=cost)
        stats = await strategy.get_window_stats(policy.item, policy.limit_class.value, key)
    return _decision(policy, key, allowed, stats)


def _decision(policy: LimitPolicy, key: str, allowed: bool, stats: WindowStats) -> LimitDecision:
    now = time.time()
    reset_at = max(float(stats.reset_time), now)
    return LimitDecision(
        limit_class=policy.limit_class,
        key=key,
        allowed=allowed,
        limit=policy.amount,
        remaining=max(0, int(stats.remaining)),
        reset_at=reset_at,
        retry_after=0 if allowed else max(1, math.ceil(reset_at - now)),
        window_seconds=policy.window_seconds,
    )


def _unlimited(policy: LimitPolicy, key: str) -> LimitDecision:
    return LimitDecision(
        limit_class=policy.limit_class,
        key=key,
        allowed=True,
        limit=policy.amount,
        remaining=policy.amount,
        reset_at=time.time() + policy.window_seconds,
        retry_after=0,
        window_seconds=policy.window_seconds,
    )
