"""Connections the app opens at start-up and closes at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from redis.asyncio import Redis

from api.database import bind_engine, engine_from_url
from api.keys import load_app_keyring
from api.settings import Settings
from privacy.crypto import Keyring


@dataclass(slots=True)
class Resources:
    engine: Engine  # type: ignore[type-arg]
    redis: Redis | None
    keyring: Keyring

    @classmethod
    def from_settings(cls, settings: Settings) -> Resources:
        """Raises KeyringError when the keys are unusable: nothing starts without them."""
        engine = engine_from_url(
            settings.database_url, timeout_seconds=settings.database_timeout_seconds
        )
        redis = (
            Redis.from_url(
                settings.redis_url,
                socket_timeout=2.0,
                socket_connect_timeout=2.0,
                health_check_interval=30,
            )
            if settings.redis_url
            else None
        )
        return cls(engine=engine, redis=redis, keyring=load_app_keyring(settings))

    async def open(self) -> None:
        bind_engine(self.engine)
        if isinstance(self.engine, PostgresEngine):
            await self.engine.start_connection_pool(min_size=1, max_size=10)

    async def close(self) -> None:
        if isinstance(self.engine, PostgresEngine) and self.engine.pool is not None:
            await self.engine.close_connection_pool()
        if self.redis is not None:
            await self.redis.aclose()
