"""Run N concurrent wrong-password logins against one account, as one server process would.

Used by test_lockout_across_processes: two of these share the run's database and Redis.
Prints how many attempts were refused by the throttle without a password check.
"""

from __future__ import annotations

import asyncio
import sys


async def main(email: str, client_ip: str, attempts: int, prefix: str) -> None:
    from redis.asyncio import Redis

    from accounts.services import authentication
    from accounts.services.authentication import LoginFailed
    from api.database import bind_engine, engine_from_url
    from api.identity_setup import build_identity
    from api.keys import install_app_keyring
    from api.settings import load_settings

    settings = load_settings().model_copy(update={"redis_prefix": prefix})
    engine = engine_from_url(settings.database_url)
    bind_engine(engine)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    identity = build_identity(settings, redis, install_app_keyring(settings))

    async def attempt(number: int) -> bool:
        try:
            await authentication.login(
                identity,
                email=email,
                password=f"wrong guess number {number}",
                client_ip=client_ip,
                user_agent="worker",
            )
        except LoginFailed:
            return False
        return True

    results = await asyncio.gather(*(attempt(n) for n in range(attempts)))
    print(sum(results))
    if redis is not None:
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
