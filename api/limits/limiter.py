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

Decisions are made in batches (:meth:`Limiter.hit_many`): one round trip to Redis for
all the limits a request is checked against, each hit with the window it leaves, in
one script (:mod:`api.limits.redis_window`); without Redis, a few dictionary operations
in :mod:`api.limits.memory_window` (same windows and arithmetic, no ``await``). Refunds
to Redis wait for the next batch (or, when none comes, a flush after
``REFUND_FLUSH_SECONDS``), so they cost no round trip of their own. Refusals of the
per-request limits are remembered until their window frees up
(:meth:`Limiter.known_refusal`), so a client known to be over its limit is turned away
without asking Redis. When Redis fails, each limit class follows its
:class:`FailureMode`; the limiter never raises a storage error to its caller.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import islice

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
from api.limits.redis_window import OneTripRedisStorage, StoreCharge, window_stats

__all__ = ("REQUEST_CLASSES", "STORE_FAILURES", "Charge", "LimitDecision", "Limiter")

_log = structlog.get_logger("api.limits")

STORE_FAILURES = MetricCounter(
    "opendesk_rate_limit_store_failures",
    "Rate-limit decisions taken without the shared store, by class and failure mode.",
    ["limit_class", "failure_mode"],
)

STORE_ROUND_TRIPS = MetricCounter(
    "opendesk_rate_limit_store_round_trips",
    "Calls to the shared rate-limit store (each carries a batch of hits and refunds).",
)

# The per-request limits: one point per request, never refunded nor cleared, so a
# refusal stands until its window frees up and may be remembered (known_refusal).
REQUEST_CLASSES = frozenset({LimitClass.IP, LimitClass.USER, LimitClass.API_KEY})

# How long a refund to the shared store may wait for a batch to ride with.
REFUND_FLUSH_SECONDS = 0.05

# Remembered refusals held at most (a flood from many addresses cannot grow it unbounded).
KNOWN_REFUSALS_MAX = 100_000

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


@dataclass(frozen=True, slots=True)
class Charge:
    """``cost`` points for ``key`` under ``limit_class``."""

    limit_class: LimitClass
    key: str
    cost: int = 1


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
        # Refunds waiting for the next store call: (class, key) -> points.
        self._pending_refunds: dict[tuple[LimitClass, str], int] = {}
        self._refund_flush: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()
        # Refusals of REQUEST_CLASSES limits, until their reset: (class, key) -> decision.
        self._known_refusals: dict[tuple[LimitClass, str], LimitDecision] = {}
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
        (decision,) = await self.hit_many([Charge(LimitClass(limit_class), key, cost)])
        return decision

    async def hit_all(self, charges: Sequence[tuple[str, str, int]]) -> list[LimitDecision]:
        """:meth:`hit_many` for callers outside ``api`` (``(class value, key, cost)``
        triples: layers below ``api`` cannot import :class:`LimitClass`)."""
        return await self.hit_many(
            [Charge(LimitClass(cls), key, cost) for cls, key, cost in charges]
        )

    async def hit_many(self, charges: Sequence[Charge]) -> list[LimitDecision]:
        """Make ``charges`` in order until one is refused: those before it stand, those
        after it are not made. One store round trip for all of them, carrying the refunds
        waiting. Returns a decision per charge made; a refused one is the last.

        Raises ValueError for a cost below 1 (before charging anything); never raises
        for store trouble (see :meth:`hit`).
        """
        if any(charge.cost < 1 for charge in charges):
            raise ValueError("cost must be >= 1; use refund() to give points back")
        if not self.config.enabled:
            return [_unlimited(self._policy(charge), charge.key) for charge in charges]
        if self._shared is None:
            decisions = self._decide_in_memory(charges)
        else:
            decisions = await self._decide_shared(self._shared, charges)
        if decisions and not decisions[-1].allowed:
            self._remember_refusal(decisions[-1])
        return decisions

    def known_refusal(self, limit_class: LimitClass, key: str) -> LimitDecision | None:
        """The refusal this process last received for a per-request limit
        (:data:`REQUEST_CLASSES`) if its window has not freed up yet; no I/O.

        Never refuses wrongly: those limits are never refunded, so until ``reset_at``
        the shared store would refuse too.
        """
        known = self._known_refusals.get((limit_class, key))
        if known is None:
            return None
        left = known.reset_at - time.time()
        if left <= 0:
            del self._known_refusals[(limit_class, key)]
            return None
        return replace(known, retry_after=max(1, math.ceil(left)))

    async def refund(self, decision: LimitDecision, cost: int) -> None:
        """Give ``cost`` points back to the window ``decision`` charged (e.g. down to a
        query's actual cost), never below zero in either of the product's stores (after
        a window boundary, from the new window). To the shared store the refund rides
        with the next batch (at most ``REFUND_FLUSH_SECONDS`` later). Best effort: store
        trouble is logged, never raised."""
        if cost <= 0 or not decision.allowed or not self.config.enabled:
            return
        if decision.degraded or self._shared is None:
            policy = self.config.policies[decision.limit_class]
            self._fallback.refund(policy.item_key(decision.key), policy.window_seconds, cost)
            return
        target = (decision.limit_class, decision.key)
        self._pending_refunds[target] = self._pending_refunds.get(target, 0) + cost
        if self._refund_flush is None:
            loop = asyncio.get_running_loop()
            self._refund_flush = loop.call_later(REFUND_FLUSH_SECONDS, self._start_refund_flush)

    async def flush_refunds(self) -> None:
        """Send the refunds waiting now (at shutdown; tests). Best effort, as refund()."""
        if self._refund_flush is not None:
            self._refund_flush.cancel()
            self._refund_flush = None
        if self._shared is None or not self._pending_refunds:
            return
        try:
            async with asyncio.timeout(self.config.storage_timeout_seconds):
                await self._send(self._shared, [])
        except _STORE_ERRORS as error:
            _log.warning("rate_limit_refund_failed", error=str(error))

    def _start_refund_flush(self) -> None:
        self._refund_flush = None
        task = asyncio.get_running_loop().create_task(self.flush_refunds())
        self._flushing.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._flushing.discard)

    async def clear(self, limit_class: LimitClass, *, key: str) -> None:
        """Forget ``key``'s usage (e.g. after a successful login); best effort."""
        policy = self.config.policies[limit_class]
        item = policy.item
        self._fallback.clear(policy.item_key(key), policy.window_seconds)
        self._known_refusals.pop((limit_class, key), None)
        if self._shared is None:
            return
        try:
            async with asyncio.timeout(self.config.storage_timeout_seconds):
                await self._shared.clear(item, limit_class.value, key)
        except _STORE_ERRORS as error:
            _log.warning("rate_limit_clear_failed", limit_class=limit_class, error=str(error))

    def _policy(self, charge: Charge) -> LimitPolicy:
        return self.config.policies[charge.limit_class]

    def _decide_in_memory(self, charges: Sequence[Charge]) -> list[LimitDecision]:
        decisions: list[LimitDecision] = []
        for charge in charges:
            decision = self._decide_one_in_memory(self._policy(charge), charge.key, charge.cost)
            decisions.append(decision)
            if not decision.allowed:
                break
        return decisions

    def _decide_one_in_memory(self, policy: LimitPolicy, key: str, cost: int) -> LimitDecision:
        item = policy.item
        allowed, window = self._fallback.acquire_with_window(
            policy.item_key(key), item.amount, item.get_expiry(), cost
        )
        return _decision(policy, key, allowed, window_stats(item, window))

    async def _decide_shared(
        self, shared: SlidingWindowCounterRateLimiter, charges: Sequence[Charge]
    ) -> list[LimitDecision]:
        if time.monotonic() >= self._store_down_until:
            try:
                async with asyncio.timeout(self.config.storage_timeout_seconds):
                    decisions = await self._send(shared, charges)
            except _STORE_ERRORS as error:
                self._store_failed(error)
            else:
                self._store_answered()
                return decisions
        return self._degraded(charges)

    async def _send(
        self, shared: SlidingWindowCounterRateLimiter, charges: Sequence[Charge]
    ) -> list[LimitDecision]:
        """One store call: the refunds waiting, then ``charges``. Refunds are taken off
        the queue first; a failed call loses them (logged by the caller), never repeats."""
        refunds, self._pending_refunds = self._pending_refunds, {}
        STORE_ROUND_TRIPS.inc()
        storage = shared.storage
        if isinstance(storage, OneTripRedisStorage):
            return await _decide_in_one_trip(storage, self.config, charges, refunds)
        # Any other ``limits`` storage (tests' failure doubles): the library's own calls.
        for (limit_class, key), cost in refunds.items():
            policy = self.config.policies[limit_class]
            # A negative hit is an atomic decrement of the current window.
            await shared.hit(policy.item, limit_class.value, key, cost=-cost)
        decisions: list[LimitDecision] = []
        for charge in charges:
            decision = await _decide(shared, self._policy(charge), charge.key, charge.cost)
            decisions.append(decision)
            if not decision.allowed:
                break
        return decisions

    def _degraded(self, charges: Sequence[Charge]) -> list[LimitDecision]:
        decisions: list[LimitDecision] = []
        for charge in charges:
            policy = self._policy(charge)
            self.degraded_decisions[policy.limit_class] += 1
            STORE_FAILURES.labels(policy.limit_class.value, policy.failure_mode.value).inc()
            if policy.failure_mode is FailureMode.OPEN:
                decision = self._decide_one_in_memory(policy, charge.key, charge.cost)
                decision = replace(decision, degraded=True)
            else:
                decision = _closed(policy, charge.key, self.config.storage_retry_seconds)
            decisions.append(decision)
            if not decision.allowed:
                break
        return decisions

    def _remember_refusal(self, decision: LimitDecision) -> None:
        if decision.limit_class not in REQUEST_CLASSES:
            return
        known = self._known_refusals
        if len(known) >= KNOWN_REFUSALS_MAX:
            # Full: drop the expired, and if all are current, the oldest tenth, so that
            # the scan is paid once per tenth of the table, not once per refusal. A
            # forgotten refusal costs one store call later, nothing else.
            now = time.time()
            for target in [t for t, d in known.items() if d.reset_at <= now]:
                del known[target]
            if len(known) >= KNOWN_REFUSALS_MAX:
                for target in list(islice(known, max(1, KNOWN_REFUSALS_MAX // 10))):
                    del known[target]
        known[(decision.limit_class, decision.key)] = decision

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


async def _decide_in_one_trip(
    storage: OneTripRedisStorage,
    config: RateLimitConfig,
    charges: Sequence[Charge],
    refunds: dict[tuple[LimitClass, str], int],
) -> list[LimitDecision]:
    """Refunds and charges in one script (api/limits/redis_window.py)."""
    refund_keys: dict[str, int] = {}
    for (limit_class, key), cost in refunds.items():
        refund_keys[config.policies[limit_class].item_key(key)] = cost
    policies = [config.policies[charge.limit_class] for charge in charges]
    answers = await storage.acquire_many(
        [
            StoreCharge(
                policy.item_key(charge.key),
                policy.amount,
                policy.window_seconds,
                charge.cost,
            )
            for policy, charge in zip(policies, charges, strict=True)
        ],
        refund_keys,
    )
    return [
        _decision(policy, charge.key, allowed, window_stats(policy.item, window))
        for policy, charge, (allowed, window) in zip(policies, charges, answers, strict=False)
    ]


async def _decide(
    strategy: SlidingWindowCounterRateLimiter, policy: LimitPolicy, key: str, cost: int
) -> LimitDecision:
    """A decision by a shared store other than the product's own (two library calls)."""
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


def _closed(policy: LimitPolicy, key: str, retry_seconds: float) -> LimitDecision:
    """A fail-closed class's refusal while the shared store is unreachable."""
    retry_after = max(1, math.ceil(retry_seconds))
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
