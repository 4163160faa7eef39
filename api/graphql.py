"""The /graphql route: Strawberry's Litestar controller with our per-request context."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import strawberry
import structlog
from litestar import Request, Response
from litestar.background_tasks import BackgroundTasks
from litestar.datastructures import State
from litestar.di import Provide
from litestar.types import Dependencies
from strawberry.litestar import make_graphql_controller
from strawberry.types import ExecutionResult

from api.edge import REQUEST_ID_STATE_KEY, client_ip_from_scope
from api.graphiql import graphiql_response, may_see_graphiql
from api.identity import ResponseSessionCookie, authenticate, session_token
from api.limits import RateLimiting, enforce_principal_limit
from api.resources import Resources
from api.settings import Settings
from schema.context import RequestContext
from schema.guards.time_limit import TimeLimits, timed_out

_log = structlog.get_logger("api.graphql")
_SUB_RESPONSE_KEY = "graphql_sub_response"
_PRINCIPAL_KEY = "graphql_principal"


def _new_response() -> Response[Any]:
    return Response({}, background=BackgroundTasks([]))


async def build_context(request: Request[Any, Any, Any], state: State) -> RequestContext:
    """The principal comes from verified credentials only (api/identity.py)."""
    settings: Settings = state.settings
    resources: Resources = state.resources
    response = _new_response()
    # Kept on the request, not the controller: the controller instance is shared by
    # concurrent requests, so per-request state must not live on it.
    request.state[_SUB_RESPONSE_KEY] = response
    client_ip = client_ip_from_scope(request.scope)
    principal = await authenticate(request, settings, resources.identity, client_ip)
    request.state[_PRINCIPAL_KEY] = principal  # for the GraphiQL decision
    rate_limiting: RateLimiting = state.rate_limiting
    # Raises PrincipalRateLimited (answered 429) before the request does any more work.
    await enforce_principal_limit(rate_limiting.limiter, principal, client_ip, request.scope)
    return RequestContext.for_principal(
        principal,
        client_ip=client_ip,
        request_id=request.scope["state"].get(REQUEST_ID_STATE_KEY),
        max_page_size=settings.max_page_size,
        # Production: introspection only for those GraphiQL serves (admins and auditors
        # signed in with MFA); development schemas open it to everyone anyway.
        introspection_allowed=may_see_graphiql(settings, principal),
        http_response=response,
        rate_limiter=rate_limiting.limiter,
        identity=resources.identity,
        session_token=session_token(request, settings),
        user_agent=request.headers.get("user-agent", ""),
        session_cookie=ResponseSessionCookie(response, settings),
    )


async def _no_custom_context() -> None:
    return None


def graphql_controller(schema: strawberry.Schema, settings: Settings) -> type[Any]:
    limits = TimeLimits(
        query_seconds=settings.graphql_query_timeout_seconds,
        mutation_seconds=settings.graphql_mutation_timeout_seconds,
    )
    base = make_graphql_controller(
        schema,
        path="/graphql",
        # Strawberry's page loads GraphiQL from a CDN: ours (render_graphql_ide) does not.
        graphql_ide="graphiql" if settings.graphiql != "off" else None,
        allow_queries_via_get=False,
        subscription_protocols=(),
        multipart_uploads_enabled=False,
    )

    class OpenDeskGraphQLController(base):  # type: ignore[valid-type,misc]
        dependencies: ClassVar[Dependencies] = {
            **base.dependencies,
            "custom_context": Provide(_no_custom_context),
            "context": Provide(build_context),
        }

        async def get_sub_response(self, request: Request[Any, Any, Any]) -> Response[Any]:
            response: Response[Any] = request.state[_SUB_RESPONSE_KEY]
            return response

        async def execute_operation(
            self,
            request: Any,
            request_adapter: Any,
            request_data: Any,
            context: RequestContext,
            root_value: Any,
            sub_response: Any,
        ) -> Any:
            """Runs under the longest time limit; ExecutionTimeLimit narrows it to the
            operation's. Past it, the resolvers are cancelled and the answer says so."""
            context.execution_started = asyncio.get_running_loop().time()
            context.in_batch = isinstance(request_data, list)
            try:
                async with asyncio.timeout(limits.longest) as timeout:
                    context.execution_timeout = timeout
                    return await super().execute_operation(
                        request, request_adapter, request_data, context, root_value, sub_response
                    )
            except TimeoutError:
                if not timeout.expired():
                    raise  # someone else's timeout: not ours to relabel
                seconds = (timeout.when() or 0.0) - context.execution_started
                _log.warning(
                    "graphql_execution_timeout",
                    request_id=context.request_id,
                    principal=context.principal.kind,
                    limit_seconds=round(seconds, 3),
                )
                return ExecutionResult(data=None, errors=[timed_out(seconds)])

        async def render_graphql_ide(self, request: Request[Any, Any, Any]) -> Response[str]:
            # Only after build_context authenticated the request; 404 for everyone else.
            return graphiql_response(settings, request.state[_PRINCIPAL_KEY])

    return OpenDeskGraphQLController
