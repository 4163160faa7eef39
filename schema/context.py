"""The per-request GraphQL context: who is asking, from where, and the request's loaders."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Protocol

from strawberry.types import Info as StrawberryInfo

from accounts.services.identity import Identity
from desk.services.attachments import AttachmentPolicy
from permissions.principal import ANONYMOUS, Principal
from schema.guards.budget import ChargeSettler, RateLimiter
from schema.loaders import Loaders


class SessionCookie(Protocol):
    """Writes the session cookie on this request's response (owned by the HTTP layer)."""

    def set(self, token: str) -> None: ...

    def clear(self) -> None: ...


@dataclass(slots=True)
class RequestContext:
    """Built by the HTTP layer for each request; resolvers read, never replace, the principal."""

    principal: Principal = ANONYMOUS
    client_ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    request_id: str | None = None
    max_page_size: int = 100
    loaders: Loaders = field(default_factory=lambda: Loaders(ANONYMOUS))
    introspection_allowed: bool = False
    # The HTTP response being built (cookies, headers); opaque to the schema layer.
    http_response: Any = None
    # The request's field-policy view (audiences, memoised relations); made on first use
    # by permissions.enforcement.view_of.
    field_policy: Any = None
    # The process's rate limiter (api.limits.Limiter), for per-action limits in resolvers.
    rate_limiter: RateLimiter | None = None
    # What the request owes the limiter (api.limits.RequestCharges), settled with the
    # query's cost by CostBudget in one store round trip.
    rate_limit_charges: ChargeSettler | None = None
    # Per root mutation field (by response key) charged per-action limits: its refusal,
    # or None when allowed; left by CostBudget, taken by schema.action_limits.
    action_verdicts: dict[str, Any] = field(default_factory=dict)
    # Merged into extensions.cost by CostLimit (the budget writes budgetRemaining, resetAt).
    cost_extensions: dict[str, Any] = field(default_factory=dict)
    # The operation's cost as CostLimit computed it, taken by CostBudget right after
    # (adjacent guards of one operation: computed once, not twice).
    requested_cost: int | None = None
    # The operation's result and the objects counted in it (schema.guards.cost,
    # result_objects): counted once for CostLimit's report and CostBudget's refund.
    counted_result: tuple[object, int] | None = None
    # Identity services and the browser session this request came with (if any).
    identity: Identity | None = None
    session_token: str | None = None
    user_agent: str = ""
    session_cookie: SessionCookie | None = None
    # Set by the HTTP layer around execution (schema.guards.time_limit): an
    # ``asyncio.Timeout`` and the loop time the request started at.
    execution_timeout: Any = None
    # True for each operation of a batched request (schema.guards.batching).
    in_batch: bool = False
    execution_started: float | None = None
    # Where uploads go and what they may be (desk.services.attachments.AttachmentPolicy).
    attachments: AttachmentPolicy | None = None

    @classmethod
    def for_principal(cls, principal: Principal, **values: object) -> RequestContext:
        return cls(principal=principal, loaders=Loaders(principal), **values)  # type: ignore[arg-type]

    def require_identity(self) -> Identity:
        if self.identity is None:
            raise RuntimeError("identity services are not configured for this context")
        return self.identity


Info = StrawberryInfo[RequestContext, None]
