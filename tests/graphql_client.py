"""Run GraphQL documents against the real schema with a chosen principal."""

from __future__ import annotations

from typing import Any

import strawberry

from permissions.principal import Principal
from schema.build import SchemaConfig, build_schema
from schema.context import RequestContext

_SCHEMA = build_schema(SchemaConfig(production=False))


async def execute(
    document: str,
    principal: Principal,
    variables: dict[str, Any] | None = None,
    *,
    schema: strawberry.Schema | None = None,
) -> Any:
    context = RequestContext.for_principal(principal)
    return await (schema or _SCHEMA).execute(
        document, variable_values=variables, context_value=context
    )
