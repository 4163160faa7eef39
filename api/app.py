"""``create_app(settings)``: the one place the HTTP application is assembled.

The Litestar app is wrapped by the edge middleware as plain ASGI (not Litestar
``middleware=``, which runs only for matched routes), so every answer — 404, 405, 413,
415 included — carries the security headers and request id and is access-logged.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.datastructures import State

from api.edge import SecurityHeadersConfig, TrustedProxyConfig, wrap_edge
from api.graphql import graphql_controller
from api.health import healthz, readyz
from api.logging import configure_logging
from api.resources import Resources
from api.settings import Settings
from schema.build import SchemaConfig, build_schema

MAX_JSON_BODY_BYTES = 1_000_000


class OpenDeskApp:
    """The ASGI application: the Litestar app behind the edge middleware."""

    def __init__(self, litestar: Litestar, settings: Settings) -> None:
        self.litestar = litestar
        self._asgi = wrap_edge(
            litestar,
            proxies=TrustedProxyConfig(trusted_proxies=settings.trusted_proxies),
            security_headers=SecurityHeadersConfig(hsts=settings.tls),
            max_body_bytes=MAX_JSON_BODY_BYTES,
        )

    @property
    def state(self) -> State:
        return self.litestar.state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._asgi(scope, receive, send)


def create_app(settings: Settings) -> OpenDeskApp:
    """Raises KeyringError when the keys are unusable: nothing half-starts."""
    configure_logging(debug=settings.debug)
    resources = Resources.from_settings(settings)
    schema = build_schema(
        SchemaConfig(production=settings.is_production, max_page_size=settings.max_page_size)
    )
    litestar = Litestar(
        route_handlers=[healthz, readyz, graphql_controller(schema, settings)],
        state=State({"settings": settings, "resources": resources}),
        on_startup=[resources.open],
        on_shutdown=[resources.close],
        request_max_body_size=MAX_JSON_BODY_BYTES,
        debug=False,
        openapi_config=None,
    )
    return OpenDeskApp(litestar, settings)
