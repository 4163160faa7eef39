"""IETF rate-limit headers (draft-ietf-httpapi-ratelimit-headers) and Retry-After.

``RateLimit-Policy: "ip";q=300;w=60, "user";q=600;w=60`` states each applicable quota;
``RateLimit: "ip";r=299;t=42, ...`` the remaining units and seconds until reset. Both
are Structured Field lists, one member per limit that applied to the request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from api.limits.limiter import LimitDecision

__all__ = ("rate_limit_headers",)


def rate_limit_headers(
    decisions: Sequence[LimitDecision], *, now: float | None = None
) -> list[tuple[bytes, bytes]]:
    """Raw ASGI header pairs for ``decisions`` (empty when there are none).

    ``Retry-After`` is added when any decision refused, with the longest wait.
    """
    if not decisions:
        return []
    now = time.time() if now is None else now
    policies = ", ".join(
        f'"{d.limit_class.value}";q={d.limit};w={d.window_seconds}' for d in decisions
    )
    states = ", ".join(
        f'"{d.limit_class.value}";r={d.remaining};t={max(0, math.ceil(d.reset_at - now))}'
        for d in decisions
    )
    headers = [
        (b"ratelimit-policy", policies.encode("ascii")),
        (b"ratelimit", states.encode("ascii")),
    ]
    refused = [d.retry_after for d in decisions if not d.allowed]
    if refused:
        headers.append((b"retry-after", str(max(refused)).encode("ascii")))
    return headers
