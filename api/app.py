"""``create_app(settings)``: the one place the HTTP application is assembled.

The Litestar app is wrapped by the edge middleware as plain ASGI (not Litestar
``middleware=``, which runs only for matched routes), so every answer — 404, 405, 413,
415 included — carries the security headers and request id and is access-logged.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Litestar
from litestar.datastructures import State

from api.attachments import UPLOAD_PATH, download_attachment, upload_body_limit, upload_controller
from api.edge import SecurityHeadersConfig, TrustedProxyConfig, wrap_edge
from api.edge.large_body_lane import LargeBodyLaneConfig
from api.edge_policy import edge_policies
from api.graphiql import graphiql_assets_router
from api.graphql import graphql_controller
from api.graphql_precheck import GraphQLPrecheckMiddleware
from api.health import healthz, readyz
from api.limits import PrincipalRateLimited, RateLimiting, rate_limited_response
from api.logging import configure_logging
from api.persisted import persisted_gate
from api.privacy_downloads import download_export
from api.privacy_runner import PrivacyRunner
from api.resources import Resources
from api.settings import Settings
from desk.attachments import AttachmentStore
from schema.build import SchemaConfig, build_schema
from schema.guards.precheck import DocumentPrecheck

# The largest JSON body the API reads: room for the largest operation the schema takes
# (a document at the guards' 20,000-character limit and a text input at the largest,
# 20,000 characters, each at JSON's worst case of 12 bytes a character, "\ud83d\ude00"),
# with margin; a batch shares it. Anything larger is refused from its Content-Length
# (413), unjudged: judging a larger body could only end in a refusal, at a higher price.
MAX_JSON_BODY_BYTES = 512 * 1024
MULTIPART_PART_LIMIT = 8


class OpenDeskApp:
    """The ASGI application: the Litestar app behind the edge middleware."""

    def __init__(
        self,
        litestar: Litestar,
        settings: Settings,
        rate_limiting: RateLimiting | None = None,
        *,
        precheck: DocumentPrecheck,
    ) -> None:
        """``precheck``: documents refused from their text alone, before the request is
        authenticated or routed (api.graphql_precheck; in the edge after CSRF)."""
        self.litestar = litestar
        edge = wrap_edge(
            litestar,
            proxies=TrustedProxyConfig(trusted_proxies=settings.trusted_proxies),
            security_headers=SecurityHeadersConfig(hsts=settings.tls),
            max_body_bytes=MAX_JSON_BODY_BYTES,
            upload_path=UPLOAD_PATH,
            upload_max_body_bytes=upload_body_limit(settings),
            large_body_lane=LargeBodyLaneConfig(
                threshold_bytes=settings.large_body_bytes,
                concurrency=settings.large_body_concurrency,
                queue=settings.large_body_queue,
                max_wait_seconds=settings.large_body_wait_seconds,
                duty_cycle=settings.large_body_duty_cycle,
                max_rest_seconds=settings.large_body_max_rest_seconds,
            ),
            # IP blocks and the per-IP limit: after the client IP, before the body is read.
            after_client_ip=[rate_limiting.edge_hook] if rate_limiting else [],
            document_checks=partial(GraphQLPrecheckMiddleware, precheck=precheck),
            **edge_policies(settings, litestar.state["resources"].keyring),
        )
        self._asgi = edge.app
        # What the server may refuse from a request's head or its document, by the edge's
        # own code: the server protocol (api/server.py) asks before it starts the app.
        self.head_refusal = edge.head_refusal
        self.document_refusal = edge.document_refusal

    @property
    def state(self) -> State:
        return self.litestar.state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._asgi(scope, receive, send)


def create_app(settings: Settings) -> OpenDeskApp:
    """Raises KeyringError when the keys are unusable: nothing half-starts."""
    configure_logging(debug=settings.debug)
    resources = Resources.from_settings(settings)
    rate_limiting = RateLimiting.from_settings(settings, resources.redis)
    schema_config = SchemaConfig(
        production=settings.is_production,
        max_page_size=settings.max_page_size,
        max_operations_per_batch=settings.graphql_max_batch,
        query_timeout_seconds=settings.graphql_query_timeout_seconds,
        mutation_timeout_seconds=settings.graphql_mutation_timeout_seconds,
        timeouts_by_principal=settings.graphql_timeouts_by_principal,
        shadow_limits=settings.graphql_shadow_limits,
    )
    schema = build_schema(schema_config)
    privacy_runner = PrivacyRunner(
        resources.identity,
        settings.exports_dir,
        settings.privacy_runner_interval_seconds,
        AttachmentStore(settings.attachments_dir),
    )
    persisted = persisted_gate(settings, schema)
    guards = schema_config.guards()
    graphql = graphql_controller(schema, settings, guards, persisted)
    litestar = Litestar(
        route_handlers=[
            healthz,
            readyz,
            graphql,
            upload_controller(graphql, settings),
            download_attachment,
            graphiql_assets_router(),
            download_export,
        ],
        state=State(
            {
                "settings": settings,
                "resources": resources,
                "rate_limiting": rate_limiting,
                "persisted_operations": persisted,
            }
        ),
        exception_handlers={PrincipalRateLimited: rate_limited_response},
        # The allowlist is loaded (and its documents prepared) before the first request,
        # and kept fresh in the background while the app runs.
        on_startup=[resources.open, persisted.start, privacy_runner.start],
        # Refunds waiting for a batch go to Redis before its connections close.
        on_shutdown=[
            privacy_runner.stop,
            persisted.stop,
            rate_limiting.limiter.flush_refunds,
            resources.close,
        ],
        request_max_body_size=MAX_JSON_BODY_BYTES,
        # Multipart is parsed on the upload route only: operations, map and one file.
        multipart_form_part_limit=MULTIPART_PART_LIMIT,
        debug=False,
        openapi_config=None,
    )
    precheck = DocumentPrecheck.from_config(guards, schema._schema)
    return OpenDeskApp(litestar, settings, rate_limiting, precheck=precheck)
