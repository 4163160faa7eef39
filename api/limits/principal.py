"""Per-principal request limits: per user, and per partner API key (its own limit).

Applied once the principal is known (when the GraphQL context is built); anonymous
callers are covered by the per-IP limit at the edge. A refusal is HTTP 429 with the
same body and headers as the per-IP refusal.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from api.edge import IPAddress
from api.limits.config import LimitClass
from api.limits.limiter import LimitDecision, Limiter
from api.limits.middleware import record_decision
from permissions.principal import Principal

__all__ = (
    "PrincipalRateLimited",
    "enforce_principal_limit",
    "principal_limit_key",
    "rate_limited_response",
)


class PrincipalRateLimited(Exception):
    """The principal is over its request limit; answered 429 by :func:`rate_limited_response`."""

    def __init__(self, decision: LimitDecision) -> None:
        super().__init__("Too many requests.")
        self.decision = decision


def principal_limit_key(principal: Principal) -> tuple[LimitClass, str] | None:
    """Which limit a principal's requests count against; None for anonymous callers."""
    if principal.kind == "partner" and principal.api_key_id is not None:
        return LimitClass.API_KEY, str(principal.api_key_id)
    if principal.kind in ("user", "partner") and principal.user_id is not None:
        return LimitClass.USER, str(principal.user_id)
    return None


async def enforce_principal_limit(
    limiter: Limiter, principal: Principal, client_ip: IPAddress, scope: Any
) -> None:
    """Count one request for ``principal``; raises PrincipalRateLimited when over.

    Allowlisted client addresses are never limited. The decision is recorded on the
    request, so its ``RateLimit`` headers go out with the answer.
    """
    target = principal_limit_key(principal)
    if target is None or limiter.config.is_allowlisted(client_ip):
        return
    limit_class, key = target
    decision = await limiter.hit(limit_class, key=key)
    record_decision(scope, decision)
    if not decision.allowed:
        raise PrincipalRateLimited(decision)


def rate_limited_response(
    request: Request[Any, Any, Any], exc: PrincipalRateLimited
) -> Response[dict[str, Any]]:
    """Litestar exception handler; the edge middleware adds Retry-After and RateLimit."""
    return Response(
        {
            "errors": [
                {
                    "message": "Too many requests.",
                    "extensions": {"code": "RATE_LIMITED", "retryAfter": exc.decision.retry_after},
                }
            ]
        },
        status_code=429,
    )
