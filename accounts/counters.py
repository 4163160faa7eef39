"""Shared expiring counters and locks: Redis when configured, else in-process.

Every increment is atomic in Redis (INCR + EXPIRE NX in one MULTI), so several server
processes counting the same key never lose an increment.
"""

from __future__ import annotations

import math
import time
from typing import Protocol

from redis.asyncio import Redis


class CounterStore(Protocol):
    async def incr(self, key: str, window_seconds: int) -> int:
        """Add one; the key expires ``window_seconds`` after its first increment."""
        ...

    async def reset(self, *keys: str) -> None: ...

    async def release(self, key: str) -> None:
        """Take back one earlier increment (never below zero)."""
        ...

    async def expire(self, key: str, seconds: int) -> None:
        """Make ``key`` expire ``seconds`` from now."""
        ...

    async def lock(self, key: str, seconds: int) -> None: ...

    async def locked_for(self, key: str) -> int:
        """Seconds left on the lock ``key`` (0 when not locked)."""
        ...


class MemoryCounterStore:
    def __init__(self) -> None:
        self._values: dict[str, tuple[float, int]] = {}

    def _live(self, key: str) -> tuple[float, int] | None:
        entry = self._values.get(key)
        if entry is not None and entry[0] <= time.monotonic():
            del self._values[key]
            return None
        return entry

    async def incr(self, key: str, window_seconds: int) -> int:
        entry = self._live(key)
        expires, value = entry if entry else (time.monotonic() + window_seconds, 0)
        self._values[key] = (expires, value + 1)
        return value + 1

    async def reset(self, *keys: str) -> None:
        for key in keys:
            self._values.pop(key, None)

    async def release(self, key: str) -> None:
        entry = self._live(key)
        if entry is not None:
            self._values[key] = (entry[0], max(entry[1] - 1, 0))

    async def expire(self, key: str, seconds: int) -> None:
        entry = self._live(key)
        if entry is not None:
            self._values[key] = (time.monotonic() + seconds, entry[1])

    async def lock(self, key: str, seconds: int) -> None:
        self._values[key] = (time.monotonic() + seconds, 1)

    async def locked_for(self, key: str) -> int:
        entry = self._live(key)
        return 0 if entry is None else max(1, math.ceil(entry[0] - time.monotonic()))


class RedisCounterStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}:counter:{key}"

    async def incr(self, key: str, window_seconds: int) -> int:
        full_key = self._key(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(full_key)
            pipe.expire(full_key, window_seconds, nx=True)
            value, _ = await pipe.execute()
        return int(value)

    async def reset(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(self._key(key) for key in keys))

    async def release(self, key: str) -> None:
        # DECR only an existing counter: a missing one has nothing to take back.
        full_key = self._key(key)
        if await self._redis.exists(full_key):
            value = await self._redis.decr(full_key)
            if int(value) < 0:
                await self._redis.set(full_key, 0, keepttl=True)

    async def expire(self, key: str, seconds: int) -> None:
        await self._redis.expire(self._key(key), max(seconds, 1))

    async def lock(self, key: str, seconds: int) -> None:
        await self._redis.set(self._key(key), 1, ex=max(seconds, 1))

    async def locked_for(self, key: str) -> int:
        ttl = await self._redis.ttl(self._key(key))
        return max(int(ttl), 0)
