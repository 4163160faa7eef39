"""The /graphql route: Strawberry's Litestar controller with our per-request context."""

from __future__ import annotations

from typing import Any, ClassVar

import strawberry
from litestar import Request, Response
from litestar.background_tasks import BackgroundTasks
from litestar.datastructures import State
from litestar.di import Provide
from litestar.types import Dependencies
from strawberry.litestar import make_graphql_controller

from api.edge import REQUEST_ID_STATE_KEY, client_ip_from_scope
from api.settings import Settings
from permissions.principal import ANONYMOUS
from schema.context import RequestContext

_SUB_RESPONSE_KEY = "graphql_sub_response"


def _new_response() -> Response[Any]:
    return Response({}, background=BackgroundTasks([]))


async def build_context(request: Request[Any, Any, Any], state: State) -> RequestContext:
    """The principal comes from verified credentials only (anonymous until identity lands)."""
    settings: Settings = state.settings
    response = _new_response()
    # Kept on the request, not the controller: the controller instance is shared by
    # concurrent requests, so per-request state must not live on it.
    request.state[_SUB_RESPONSE_KEY] = response
    return RequestContext.for_principal(
        ANONYMOUS,
        client_ip=client_ip_from_scope(request.scope),
        request_id=request.scope["state"].get(REQUEST_ID_STATE_KEY),
        max_page_size=settings.max_page_size,
        http_response=response,
    )


async def _no_custom_context() -> None:
    return None


def graphql_controller(schema: strawberry.Schema, settings: Settings) -> type[Any]:
    base = make_graphql_controller(
        schema,
        path="/graphql",
        graphql_ide="graphiql" if settings.graphiql == "open" else None,
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

    return OpenDeskGraphQLController
