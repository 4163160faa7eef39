from __future__ import annotations

import pytest

from schema.guards.opaque_errors import OPAQUE_MESSAGE

from .conftest import assert_refused, make_schema, run

pytestmark = pytest.mark.asyncio

PROBES = [
    pytest.param("{ helo }", None, id="unknown-field"),
    pytest.param("{ tickets(frist: 1) { id } }", None, id="unknown-argument"),
    pytest.param("{ ...F } fragment F on Tiket { id }", None, id="unknown-type-in-fragment"),
    pytest.param("{ tickets(first: 1, status: OPN) { id } }", None, id="enum-literal"),
    pytest.param(
        "query($s: Status) { tickets(first: 1, status: $s) { id } }",
        {"s": "OPN"},
        id="enum-variable",
    ),
]


@pytest.mark.parametrize(("query", "variables"), PROBES)
async def test_production_errors_carry_no_suggestions(query, variables) -> None:
    result = await run(make_schema(), query, variables)
    assert result.errors
    assert result.data is None
    for error in result.errors:
        assert "did you mean" not in error.message.lower(), error.message
        assert (error.extensions or {}).get("code")


@pytest.mark.parametrize(("query", "variables"), PROBES)
async def test_development_keeps_suggestions(query, variables) -> None:
    result = await run(make_schema(suggestions_enabled=True), query, variables)
    assert any("Did you mean" in error.message for error in result.errors or ())


async def test_stripped_message_still_names_the_problem_for_who_may_introspect() -> None:
    result = await run(make_schema(), "{ helo }", context={"introspection_allowed": True})
    assert_refused(result, "GRAPHQL_VALIDATION_FAILED")
    assert result.errors[0].message == "Cannot query field 'helo' on type 'Query'."


async def test_a_stranger_gets_no_schema_detail_at_all() -> None:
    result = await run(make_schema(), "{ helo }")
    assert_refused(result, "GRAPHQL_VALIDATION_FAILED")
    assert [error.message for error in result.errors] == [OPAQUE_MESSAGE]
    assert result.errors[0].locations is None
