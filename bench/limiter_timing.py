"""The limiter's own cost per request, in one process, enabled vs disabled.

Run as ``python -m bench.limiter_timing RUNS [REDIS_URL PREFIX]`` (the bench pins it
with ``taskset``); prints one JSON line of microseconds per request-equivalent for each
run: the calls one signed-in GraphQL request makes on :class:`api.limits.Limiter` —
the per-address, per-user and cost-budget charges in one batch, then the refund —
with limits out of reach, in process memory or, given a Redis URL, in Redis. Runs
alternate the order (off, on, separate; then reversed). ``separate`` makes the same
charges one call each (the product before the batch: four round trips to Redis).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from redis.asyncio import Redis

from api.limits import Charge, LimitClass, Limiter, rate_limit_config
from api.limits.setup import shared_storage
from api.settings import load_settings

REQUESTS_PER_RUN = 500


CHARGES = (
    Charge(LimitClass.IP, "ip:127.0.0.1"),
    Charge(LimitClass.USER, "user:bench"),
    Charge(LimitClass.COST, "user:bench", 10),
)


async def _run(limiter: Limiter, *, separate: bool = False) -> float:
    began = time.perf_counter()
    for _ in range(REQUESTS_PER_RUN):
        if separate:
            decisions = [await limiter.hit_many([charge]) for charge in CHARGES][-1]
        else:
            decisions = await limiter.hit_many(CHARGES)
        await limiter.refund(decisions[-1], 5)
        if separate:
            await limiter.flush_refunds()  # the refund as its own round trip
    return (time.perf_counter() - began) / REQUESTS_PER_RUN * 1e6


async def measure(runs: int, redis_url: str | None, prefix: str) -> dict[str, list[float]]:
    redis = Redis.from_url(redis_url) if redis_url else None
    limiters = {}
    for enabled in (False, True):
        settings = load_settings(
            rate_limits_enabled=enabled,
            redis_url=redis_url,
            redis_prefix=f"{prefix}-{enabled}".lower(),
            rate_limit_ip="1000000000/minute",
            rate_limit_user="1000000000/minute",
            rate_limit_cost="1000000000000/hour",
        )
        storage = (
            shared_storage(redis, redis_url, settings.redis_prefix)
            if redis is not None and redis_url
            else None
        )
        limiters["on" if enabled else "off"] = Limiter(rate_limit_config(settings), storage)
    timings: dict[str, list[float]] = {"off": [], "on": [], "separate": []}
    modes = [("off", False), ("on", False), ("separate", True)]
    try:
        for name, separate in modes:
            await _run(limiters[name if name == "off" else "on"], separate=separate)  # warm-up
        for index in range(runs):
            for name, separate in modes if index % 2 == 0 else modes[::-1]:
                limiter = limiters["off" if name == "off" else "on"]
                timings[name].append(await _run(limiter, separate=separate))
            await limiters["on"].flush_refunds()
    finally:
        if redis is not None:
            # This run's keys only (its own prefix).
            keys = [key async for key in redis.scan_iter(match=f"{prefix.lower()}-*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
    return timings


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    redis_url = sys.argv[2] if len(sys.argv) > 2 else None
    prefix = sys.argv[3] if len(sys.argv) > 3 else "bench-limiter"
    sys.stdout.write(json.dumps(asyncio.run(measure(runs, redis_url, prefix))) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
