from __future__ import annotations

import pytest

from .conftest import RequestContext, assert_refused, make_schema, run

pytestmark = pytest.mark.asyncio

INTROSPECTION = [
    pytest.param("{ __schema { queryType { name } } }", id="schema"),
    pytest.param('{ __type(name: "Ticket") { name } }', id="type"),
    pytest.param("{ s: __schema { types { name } } }", id="alias"),
    pytest.param("{ ...F } fragment F on Query { __schema { types { name } } }", id="fragment"),
    pytest.param('{ ... on Query { t: __type(name: "Query") { name } } }', id="inline"),
]


@pytest.mark.parametrize("query", INTROSPECTION)
@pytest.mark.parametrize(
    "context",
    [RequestContext(), RequestContext(introspection_allowed="yes"), {}, object()],
    ids=["absent", "truthy-not-true", "dict", "bare-object"],
)
async def test_introspection_is_refused_unless_allowed(query, context) -> None:
    assert_refused(await run(make_schema(), query, context=context), "INTROSPECTION_DISABLED")


@pytest.mark.parametrize("query", INTROSPECTION)
@pytest.mark.parametrize(
    "context",
    [RequestContext(introspection_allowed=True), {"introspection_allowed": True}],
)
async def test_introspection_is_served_when_the_context_allows_it(query, context) -> None:
    result = await run(make_schema(), query, context=context)
    assert result.errors is None


async def test_config_can_open_introspection_for_everyone() -> None:
    result = await run(make_schema(introspection_allowed=True), INTROSPECTION[0].values[0])
    assert result.errors is None


async def test_typename_stays_allowed(schema) -> None:
    result = await run(schema, "{ __typename ticket { __typename } }")
    assert result.errors is None
    assert result.data == {"__typename": "Query", "ticket": {"__typename": "Ticket"}}
