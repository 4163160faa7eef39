"""Time the product's password hasher at two argon2id parameter sets, in one process.

Run as ``python -m bench.argon2_timing RUNS`` (the bench pins it with ``taskset``);
prints one JSON line: for each set, the wall-clock milliseconds of each ``hash`` and of
each ``verify`` (of the correct password, as a successful login does). Runs alternate
the order of the two sets (AB, BA, …) like every other bench comparison. The work goes
through :class:`accounts.passwords.PasswordHasher` exactly as a login does (normalise,
thread pool, concurrency slot), one hash at a time.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time

from accounts.passwords import Argon2Config, PasswordHasher

# RFC 9106 §4 second recommended option: the product's default (api/settings.py).
DEFAULT = Argon2Config(time_cost=3, memory_cost=64 * 1024, parallelism=4)
# OWASP Password Storage Cheat Sheet, the lowest argon2id configuration it lists.
OWASP_MINIMUM = Argon2Config(time_cost=2, memory_cost=19 * 1024, parallelism=1)
SETS = {"default": DEFAULT, "owasp_minimum": OWASP_MINIMUM}


async def _once(hasher: PasswordHasher, password: str) -> tuple[float, float]:
    began = time.perf_counter()
    stored = await hasher.hash(password)
    hashed = time.perf_counter()
    result = await hasher.verify(stored, password)
    verified = time.perf_counter()
    if not result.ok:
        raise RuntimeError("the hasher did not verify its own hash")
    return (hashed - began) * 1000, (verified - hashed) * 1000


async def measure(runs: int) -> dict[str, dict[str, list[float]]]:
    hashers = {name: PasswordHasher(config, max_concurrency=1) for name, config in SETS.items()}
    password = secrets.token_urlsafe(16)
    timings: dict[str, dict[str, list[float]]] = {
        name: {"hash_ms": [], "verify_ms": []} for name in SETS
    }
    try:
        for hasher in hashers.values():  # warm-up: first allocation, thread start
            await _once(hasher, password)
        names = list(SETS)
        for index in range(runs):
            for name in names if index % 2 == 0 else names[::-1]:
                hash_ms, verify_ms = await _once(hashers[name], password)
                timings[name]["hash_ms"].append(hash_ms)
                timings[name]["verify_ms"].append(verify_ms)
    finally:
        for hasher in hashers.values():
            hasher.close()
    return timings


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    sys.stdout.write(json.dumps(asyncio.run(measure(runs))) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
