"""Rate limits and IP blocks: one limiter, one block list, one edge hook.

Callers elsewhere use :class:`Limiter` (``await limiter.hit(LimitClass.LOGIN, key=...)``
→ :class:`LimitDecision`), a request's :class:`RequestCharges` (what it owes, settled in
one store round trip) and ``block_ip`` / ``unblock_ip`` / ``list_ip_blocks``.
"""

from api.limits.config import FailureMode, LimitClass, LimitPolicy, RateLimitConfig
from api.limits.headers import rate_limit_headers
from api.limits.ip_blocks import IpBlockList, block_ip, list_ip_blocks, unblock_ip
from api.limits.limiter import STORE_FAILURES, Charge, LimitDecision, Limiter
from api.limits.middleware import RateLimitMiddleware, record_decision
from api.limits.principal import (
    PrincipalRateLimited,
    charge_principal,
    enforce_principal_limit,
    principal_limit_key,
    rate_limited_response,
)
from api.limits.request_charges import RequestCharges, request_charges
from api.limits.setup import RateLimiting, rate_limit_config

__all__ = (
    "STORE_FAILURES",
    "Charge",
    "FailureMode",
    "IpBlockList",
    "LimitClass",
    "LimitDecision",
    "LimitPolicy",
    "Limiter",
    "PrincipalRateLimited",
    "RateLimitConfig",
    "RateLimitMiddleware",
    "RateLimiting",
    "RequestCharges",
    "block_ip",
    "charge_principal",
    "enforce_principal_limit",
    "list_ip_blocks",
    "principal_limit_key",
    "rate_limit_config",
    "rate_limit_headers",
    "rate_limited_response",
    "record_decision",
    "request_charges",
    "unblock_ip",
)
