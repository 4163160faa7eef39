"""The one place the rate limiting is built from :class:`api.settings.Settings`."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from api.edge._asgi import ASGIApp
from api.limits.config import LimitClass, RateLimitConfig
from api.limits.ip_blocks import IpBlockList
from api.limits.limiter import Limiter
from api.limits.middleware import RateLimitMiddleware
from api.limits.redis_window import OneTripRedisStorage
from api.settings import Settings

__all__ = ("RateLimiting", "rate_limit_config")


def rate_limit_config(settings: Settings) -> RateLimitConfig:
    """Raises ValueError for a malformed rate or network (settings validate both first)."""
    rates = {
        limit_class: getattr(settings, f"rate_limit_{limit_class.value}")
        for limit_class in LimitClass
    }
    return RateLimitConfig.build(
        rates,
        fail_closed=frozenset(LimitClass(name) for name in settings.rate_limit_fail_closed),
        allowlist=settings.rate_limit_allowlist,
        enabled=settings.rate_limits_enabled,
        ipv6_prefix=settings.rate_limit_ipv6_prefix,
        storage_timeout_seconds=settings.rate_limit_storage_timeout_seconds,
        storage_retry_seconds=settings.rate_limit_storage_retry_seconds,
    )


def shared_storage(redis: Redis, redis_url: str, prefix: str) -> OneTripRedisStorage:
    """A ``limits`` Redis storage on the app's own connection pool (no second pool)."""
    return OneTripRedisStorage(
        f"async+{redis_url}",
        implementation="redispy",
        key_prefix=f"{prefix}:limits",
        # Documented by limits (use_basic pops it), though its **options are typed as scalars.
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]
    )


@dataclass(slots=True)
class RateLimiting:
    """The process's limiter and block list, and the edge hook that applies them."""

    limiter: Limiter
    ip_blocks: IpBlockList

    @classmethod
    def from_settings(cls, settings: Settings, redis: Redis | None) -> RateLimiting:
        config = rate_limit_config(settings)
        storage = (
            shared_storage(redis, settings.redis_url, settings.redis_prefix)
            if redis is not None and settings.redis_url
            else None
        )
        return cls(
            limiter=Limiter(config, storage),
            ip_blocks=IpBlockList(refresh_seconds=settings.ip_blocks_refresh_seconds),
        )

    def edge_hook(self, app: ASGIApp) -> ASGIApp:
        """For ``wrap_edge(..., after_client_ip=[rate_limiting.edge_hook])``."""
        return RateLimitMiddleware(app, limiter=self.limiter, ip_blocks=self.ip_blocks)
