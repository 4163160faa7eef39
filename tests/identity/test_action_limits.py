"""The per-action limits (login, TOTP, reset) count per network and per pseudonymised
subject, and refuse with RATE_LIMITED."""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace
from typing import Any

import pytest

from core.errors import RateLimited
from schema.context import RequestContext
from schema.identity_fields import _limit


class RecordingLimiter:
    def __init__(self, allow: bool = True) -> None:
        self.keys: list[tuple[str, str]] = []
        self.allow = allow

    def client_key(self, address: Any) -> str:
        return str(address)

    async def hit(self, limit_class: str, *, key: str, cost: int = 1) -> Any:
        self.keys.append((limit_class, key))
        return SimpleNamespace(allowed=self.allow, retry_after=42)

    async def hit_each(self, limit_class: str, *, keys: Any) -> list[Any]:
        decisions = []
        for key in keys:  # in order, until the first refusal, as api.limits.Limiter
            decisions.append(await self.hit(limit_class, key=key))
            if not self.allow:
                break
        return decisions

    async def refund(self, decision: Any, cost: int) -> None:
        return None


async def test_subject_keys_never_carry_the_email_in_clear() -> None:
    limiter = RecordingLimiter()
    context = RequestContext(rate_limiter=limiter, client_ip=ipaddress.ip_address("192.0.2.1"))

    await _limit(context, "totp", subject="alice@example.com")

    assert [cls for cls, _key in limiter.keys] == ["totp", "totp"]
    assert limiter.keys[0][1] == "ip:192.0.2.1"
    assert "alice" not in limiter.keys[1][1]
    assert limiter.keys[1][1].startswith("subject:")


async def test_over_the_limit_is_rate_limited_with_retry_after() -> None:
    context = RequestContext(
        rate_limiter=RecordingLimiter(allow=False), client_ip=ipaddress.ip_address("192.0.2.1")
    )

    with pytest.raises(RateLimited) as refused:
        await _limit(context, "login")

    assert refused.value.extensions == {"code": "RATE_LIMITED", "retryAfter": 42}
