"""The /graphql route: Strawberry's Litestar controller with our per-request context."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import strawberry
from graphql import GraphQLError
from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTasks
from litestar.datastructures import State
from litestar.exceptions import ClientException, NotFoundException, ValidationException
from litestar.status_codes import HTTP_200_OK
from litestar.types import Dependencies
from strawberry.http import GraphQLRequestData
from strawberry.litestar import make_graphql_controller
from strawberry.types import ExecutionResult

from api.edge import REQUEST_ID_STATE_KEY, client_ip_from_scope
from api.edge._asgi import scope_state
from api.graphiql import graphiql_response, may_see_graphiql
from api.identity import ResponseSessionCookie, authenticate, session_token
from api.json_codec import decode_request_json, encode_response_json
from api.limits import RateLimiting, charge_principal, request_charges
from api.persisted import PersistedOperationsGate
from api.resources import Resources
from api.settings import Settings
from schema.context import RequestContext
from schema.guards.batching import batch_limit
from schema.guards.build import time_limits
from schema.guards.config import GuardsConfig
from schema.guards.time_limit import timed_out
from schema.guards.verdict import RequestSubject, check_limit

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
    # concurrent requests, so per-request state must not live on it. The scope's state
    # dict itself: Litestar's ``request.state`` builds a wrapper object on every access.
    request_state = scope_state(request.scope)
    request_state[_SUB_RESPONSE_KEY] = response
    client_ip = client_ip_from_scope(request.scope)
    principal = await authenticate(request, settings, resources.identity, client_ip)
    request_state[_PRINCIPAL_KEY] = principal  # for the GraphiQL decision
    rate_limiting: RateLimiting = state.rate_limiting
    limiter = rate_limiting.limiter
    # Owed, and settled with the query's cost before execution (schema/guards/budget.py);
    # raises PrincipalRateLimited (answered 429) if already known to be over the limit.
    charge_principal(limiter, principal, client_ip, request.scope)
    return RequestContext.for_principal(
        principal,
        client_ip=client_ip,
        request_id=request_state.get(REQUEST_ID_STATE_KEY),
        max_page_size=settings.max_page_size,
        # Production: introspection only for those GraphiQL serves (admins and auditors
        # signed in with MFA); development schemas open it to everyone anyway.
        introspection_allowed=may_see_graphiql(settings, principal),
        http_response=response,
        rate_limiter=limiter,
        rate_limit_charges=request_charges(request.scope, limiter),
        identity=resources.identity,
        session_token=session_token(request, settings),
        user_agent=request.headers.get("user-agent", ""),
        session_cookie=ResponseSessionCookie(response, settings),
        attachments=resources.attachments,
    )


def graphql_controller(
    schema: strawberry.Schema,
    settings: Settings,
    guards: GuardsConfig,
    gate: PersistedOperationsGate,
) -> type[Any]:
    """``guards``: the schema's own limits; the batch cap and the outer execution deadline
    are applied here (ExecutionTimeLimit then narrows the deadline per operation).
    ``gate``: the persisted-operation gate (api.persisted), loaded at start-up."""
    limits = time_limits(guards)
    batch = batch_limit(guards)
    base = make_graphql_controller(
        schema,
        path="/graphql",
        # Strawberry's page loads GraphiQL from a CDN: ours (render_graphql_ide) does not.
        graphql_ide="graphiql" if settings.graphiql != "off" else None,
        # Queries only (strawberry refuses a mutation over GET with 400); the edge asks a
        # GET with the session cookie for the CSRF token like a POST (api/edge/csrf.py).
        allow_queries_via_get=True,
        subscription_protocols=(),
        multipart_uploads_enabled=False,
    )

    class OpenDeskGraphQLController(base):  # type: ignore[valid-type,misc]
        # No dependencies: Strawberry's handlers take the context, root value and response
        # from Litestar's dependency injection (a signature model parsed, four providers
        # resolved per request); ours build the context directly. There is no root value,
        # and the response a resolver may change (cookies, headers) is the one
        # build_context keeps on the request (get_sub_response).
        dependencies: ClassVar[Dependencies] = {}

        @post(status_code=HTTP_200_OK)
        async def handle_http_post(self, request: Request[Any, Any, Any]) -> Response[Any]:
            return await self._answer(request)

        @get(raises=[ValidationException, NotFoundException])
        async def handle_http_get(self, request: Request[Any, Any, Any]) -> Response[Any]:
            return await self._answer(request)

        async def _answer(self, request: Request[Any, Any, Any]) -> Response[Any]:
            context = await build_context(request, request.app.state)
            try:
                response: Response[Any] = await self.execute_request(
                    request=request, context=context, root_value=None
                )
            finally:
                context.loaders.release()
            return response

        # No subscriptions, so no WebSocket route: Strawberry's controller registers one
        # even with no protocols; without it an upgrade to /graphql is refused by routing.
        websocket_endpoint = None

        def decode_json(self, data: str | bytes) -> object:
            return decode_request_json(data)

        def encode_json(self, data: object) -> bytes:
            return encode_response_json(data)

        async def get_sub_response(self, request: Request[Any, Any, Any]) -> Response[Any]:
            response: Response[Any] = scope_state(request.scope)[_SUB_RESPONSE_KEY]
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
            if isinstance(request_data, list):
                subject = RequestSubject(context, query=None, operation_name=None)
                if check_limit(subject, batch, len(request_data)) is not None:  # logged
                    reason = "Too many operations" if batch.value else "Batching is not enabled"
                    raise ClientException(reason)  # 400, before any operation is parsed
            try:
                # No deadline when the time limit is shadowed (logged, never enforced).
                async with asyncio.timeout(limits.deadline) as timeout:
                    context.execution_timeout = timeout
                    return await super().execute_operation(
                        request, request_adapter, request_data, context, root_value, sub_response
                    )
            except TimeoutError:
                if not timeout.expired():
                    raise  # someone else's timeout: not ours to relabel
                seconds = (timeout.when() or 0.0) - context.execution_started
                # Logs the refusal (graphql_guard_refused, rule EXECUTION_TIMEOUT).
                return ExecutionResult(
                    data=None, errors=[timed_out(context, request_data, seconds)]
                )

        async def execute_single(
            self,
            request: Any,
            request_adapter: Any,
            sub_response: Any,
            context: RequestContext,
            root_value: Any,
            request_data: GraphQLRequestData,
        ) -> ExecutionResult:
            """Each operation (batched or not) passes the persisted-operation gate first,
            then :meth:`refuse_operation` sees the text that will run."""
            admitted = await gate.admit(request_data, context, method=request_adapter.method)
            if isinstance(admitted, GraphQLError):
                return ExecutionResult(data=None, errors=[admitted])
            refused = self.refuse_operation(admitted)
            if refused is not None:
                return ExecutionResult(data=None, errors=[refused])
            result: ExecutionResult = await super().execute_single(
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=context,
                root_value=root_value,
                request_data=admitted,
            )
            return result

        def refuse_operation(self, request_data: GraphQLRequestData) -> GraphQLError | None:
            """A route serving only some operations refuses the others here (after the
            persisted-operation gate has filled in the text of an id); this one serves all."""
            return None

        def should_render_graphql_ide(self, request: Any) -> bool:
            # A GET naming a persisted operation by id has no "query" but is no page load.
            extensions = request.query_params.get("extensions")
            return extensions is None and bool(super().should_render_graphql_ide(request))

        async def render_graphql_ide(self, request: Request[Any, Any, Any]) -> Response[str]:
            # Only after build_context authenticated the request; 404 for everyone else.
            return graphiql_response(settings, scope_state(request.scope)[_PRINCIPAL_KEY])

    return OpenDeskGraphQLController
