"""Per-principal request limits: per user, and per partner API key (its own limit).

Applied once the principal is known; anonymous callers are covered by the per-IP limit
at the edge. The GraphQL context owes the request (:func:`charge_principal`, settled with
the query's cost in one store round trip); plain routes settle it before they act
(:func:`enforce_principal_limit`). A refusal is HTTP 429 with the same body and headers
as the per-IP refusal.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from api.edge import IPAddress
from api.limits.config import LimitClass
from api.limits.limiter import LimitDecision, Limiter
from api.limits.request_charges import request_charges
from permissions.principal import Principal

__all__ = (
    "PrincipalRateLimited",
    "charge_principal",
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


def charge_principal(
    limiter: Limiter, principal: Principal, client_ip: IPAddress, scope: Any
) -> None:
    """Owe one request for ``principal`` (settled later with the request's other charges);
    raises PrincipalRateLimited at once, with no I/O, when this process already knows the
    principal is over its limit. Allowlisted client addresses are never limited.
    """
    target = principal_limit_key(principal)
    if target is None or limiter.config.is_allowlisted(client_ip):
        return
    refused = request_charges(scope, limiter).add(*target)
    if refused is not None:
        raise PrincipalRateLimited(refused)


async def enforce_principal_limit(
    limiter: Limiter, principal: Principal, client_ip: IPAddress, scope: Any
) -> None:
    """Count one request for ``principal`` now, with whatever else the request owes (one
    store round trip); raises PrincipalRateLimited when the request is over a limit.

    The decisions are recorded on the request, so their ``RateLimit`` headers go out
    with the answer.
    """
    charge_principal(limiter, principal, client_ip, scope)
    charges = request_charges(scope, limiter)
    await charges.settle()
    if charges.refusal is not None:
        raise PrincipalRateLimited(charges.refusal)


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
