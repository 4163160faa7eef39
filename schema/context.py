"""The per-request GraphQL context: who is asking, from where, and the request's loaders."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from permissions.principal import ANONYMOUS, Principal
from schema.loaders import Loaders


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

    @classmethod
    def for_principal(cls, principal: Principal, **values: object) -> RequestContext:
        return cls(principal=principal, loaders=Loaders(principal), **values)  # type: ignore[arg-type]


Info = StrawberryInfo[RequestContext, None]
