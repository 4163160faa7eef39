"""Limiters on this run's backend: Redis when OPENDESK_TEST_REDIS_URL is set, else memory.

Every limiter gets a fresh key namespace, so tests never see each other's counts.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Mapping

import pytest
from redis.asyncio import Redis

from api.limits import LimitClass, Limiter, RateLimitConfig
from api.limits.redis_window import OneTripRedisStorage
from api.limits.setup import shared_storage
from tests.conftest import BACKENDS

SMALL_RATES: Mapping[LimitClass, str] = dict.fromkeys(LimitClass, "3/minute")

LimiterFactory = Callable[..., Limiter]


def random_ipv4() -> str:
    # 198.18.0.0/15 (benchmarking range): a fresh address per test keeps shared-Redis
    # counts of different tests apart.
    return f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def redis_storage(client: Redis, url: str) -> OneTripRedisStorage:
    """The product's own shared storage (api.limits.setup), in a fresh namespace."""
    return shared_storage(client, url, f"opendesk-test-{secrets.token_hex(4)}")


def record_store_commands(limiter: Limiter, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Redis commands ``limiter`` sends from now on (names, in order); Redis only."""
    shared = limiter._shared
    assert shared is not None
    storage = shared.storage
    assert isinstance(storage, OneTripRedisStorage)
    connection = storage.bridge.get_connection()  # type: ignore[attr-defined]
    commands: list[str] = []
    original = connection.execute_command

    async def counted(*args: object, **options: object) -> object:
        commands.append(str(args[0]))
        return await original(*args, **options)

    monkeypatch.setattr(connection, "execute_command", counted)
    return commands


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis | None]:
    if BACKENDS.redis_url is None:
        yield None
        return
    client = Redis.from_url(BACKENDS.redis_url, socket_timeout=2, socket_connect_timeout=2)
    yield client
    await client.aclose()


@pytest.fixture
def make_limiter(redis_client: Redis | None) -> LimiterFactory:
    """``make_limiter(rates=None, **config_options)`` on this run's backend."""

    def factory(rates: Mapping[LimitClass, str] | None = None, **options: object) -> Limiter:
        config = RateLimitConfig.build({**SMALL_RATES, **(rates or {})}, **options)  # type: ignore[arg-type]
        shared = (
            redis_storage(redis_client, BACKENDS.redis_url)
            if redis_client is not None and BACKENDS.redis_url
            else None
        )
        return Limiter(config, shared)

    return factory
