"""Who calls a plain (non-GraphQL) route, counted against their request limit.

The download routes authenticate and rate-limit exactly as the GraphQL context does
(api/graphql.py build_context): verified credentials only, then the per-principal limit
(PrincipalRateLimited, answered 429). One function, so no route does it differently.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State

from api.edge import client_ip_from_scope
from api.identity import authenticate
from api.limits import RateLimiting, enforce_principal_limit
from api.resources import Resources
from api.settings import Settings
from permissions.principal import Principal


async def route_principal(request: Request[Any, Any, Any], state: State) -> Principal:
    settings: Settings = state.settings
    resources: Resources = state.resources
    client_ip = client_ip_from_scope(request.scope)
    principal = await authenticate(request, settings, resources.identity, client_ip)
    rate_limiting: RateLimiting = state.rate_limiting
    await enforce_principal_limit(rate_limiting.limiter, principal, client_ip, request.scope)
    return principal
