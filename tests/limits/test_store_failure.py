"""Redis unreachable: each class follows its documented failure mode, never an error,
and the shared store is used again once it answers.

Outage is simulated without touching the shared Redis server: a limiter pointed at a
closed port, or (for recovery) a TCP relay in front of the real Redis that is switched
off and on. On the memory backend, recovery is shown with a store that fails on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
from limits.aio.storage import MemoryStorage, RedisStorage
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from api.limits import FailureMode, LimitClass, Limiter, RateLimitConfig
from tests.conftest import BACKENDS
from tests.limits.conftest import SMALL_RATES

FAIL_CLOSED = {
    LimitClass.LOGIN,
    LimitClass.PASSWORD_RESET,
    LimitClass.TOTP,
    LimitClass.REGISTRATION,
    LimitClass.REVEAL,
}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens once the socket is closed


def _unreachable_limiter(**options: object) -> tuple[Limiter, Redis]:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    client = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    storage = RedisStorage(
        f"async+{url}", implementation="redispy", connection_pool=client.connection_pool
    )
    options.setdefault("storage_retry_seconds", 30.0)
    return Limiter(RateLimitConfig.build(SMALL_RATES, **options), storage), client  # type: ignore[arg-type]


def _failures(limit_class: LimitClass, mode: FailureMode) -> float:
    value = REGISTRY.get_sample_value(
        "opendesk_rate_limit_store_failures_total",
        {"limit_class": limit_class.value, "failure_mode": mode.value},
    )
    return value or 0.0


@pytest.mark.parametrize("limit_class", sorted(FAIL_CLOSED))
async def test_credential_limits_fail_closed_while_redis_is_unreachable(
    limit_class: LimitClass,
) -> None:
    limiter, client = _unreachable_limiter()
    before = _failures(limit_class, FailureMode.CLOSED)
    try:
        decision = await limiter.hit(limit_class, key="k")
    finally:
        await client.aclose()

    assert not decision.allowed
    assert decision.degraded
    assert decision.retry_after >= 1
    assert _failures(limit_class, FailureMode.CLOSED) == before + 1


@pytest.mark.parametrize("limit_class", sorted(set(LimitClass) - FAIL_CLOSED))
async def test_ordinary_limits_fail_open_to_an_in_process_limiter(
    limit_class: LimitClass,
) -> None:
    limiter, client = _unreachable_limiter()
    before = _failures(limit_class, FailureMode.OPEN)
    try:
        decisions = [await limiter.hit(limit_class, key="k") for _ in range(4)]
    finally:
        await client.aclose()

    # Still limited — by this process alone — and every decision is marked and counted.
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert all(d.degraded for d in decisions)
    assert _failures(limit_class, FailureMode.OPEN) == before + 4
    assert limiter.degraded_decisions[limit_class] == 4


async def test_an_outage_is_logged_once_per_probe_not_per_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    limiter, client = _unreachable_limiter()
    try:
        for _ in range(5):
            await limiter.hit(LimitClass.IP, key="k")
    finally:
        await client.aclose()

    assert capsys.readouterr().out.count("rate_limit_store_unreachable") == 1


class FlakyStorage(MemoryStorage):
    """A real limits store that raises ConnectionError while ``down``."""

    down = False

    async def acquire_sliding_window_entry(self, *args: object, **kwargs: object) -> bool:
        if self.down:
            raise ConnectionError("store down")
        return await super().acquire_sliding_window_entry(*args, **kwargs)  # type: ignore[arg-type]


class RedisRelay:
    """A TCP relay to the test Redis that can be switched off (closing every connection)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = _closed_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


@pytest.fixture
async def switchable_store() -> AsyncIterator[tuple[object, object, object]]:
    """(storage, take_down, bring_back) on this run's backend."""
    if BACKENDS.redis_url is None:
        storage = FlakyStorage()

        async def down() -> None:
            storage.down = True

        async def up() -> None:
            storage.down = False

        yield storage, down, up
        return
    from urllib.parse import urlsplit

    parts = urlsplit(BACKENDS.redis_url)
    relay = RedisRelay(parts.hostname or "127.0.0.1", parts.port or 6379)
    await relay.start()
    url = f"redis://127.0.0.1:{relay.port}{parts.path or '/0'}"
    client = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    storage = RedisStorage(
        f"async+{url}",
        implementation="redispy",
        key_prefix=f"opendesk-test-relay-{relay.port}",
        connection_pool=client.connection_pool,
    )
    yield storage, relay.stop, relay.start
    await client.aclose()
    if relay._server is not None:
        await relay.stop()


async def test_limits_return_to_the_shared_store_when_it_answers_again(
    switchable_store: tuple[object, object, object],
) -> None:
    storage, take_down, bring_back = switchable_store
    config = RateLimitConfig.build(SMALL_RATES, storage_retry_seconds=0.05)
    limiter = Limiter(config, storage)  # type: ignore[arg-type]
    assert (await limiter.hit(LimitClass.LOGIN, key="k")).allowed  # shared store: 1 of 3

    await take_down()  # type: ignore[operator]
    during = await limiter.hit(LimitClass.LOGIN, key="k")
    ordinary = await limiter.hit(LimitClass.IP, key="k")
    await bring_back()  # type: ignore[operator]
    await asyncio.sleep(0.1)  # past storage_retry_seconds: the next hit probes the store
    after = [await limiter.hit(LimitClass.LOGIN, key="k") for _ in range(3)]

    assert not during.allowed
    assert during.degraded
    assert ordinary.allowed
    assert ordinary.degraded
    # Back on the shared store, which still holds the hit from before the outage.
    assert [d.allowed for d in after] == [True, True, False]
    assert not any(d.degraded for d in after)
