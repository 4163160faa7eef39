from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schema.guards.cost import count_objects, plan_cache

from .conftest import RequestContext, assert_refused, codes, make_schema, run

pytestmark = pytest.mark.asyncio

NESTED_LITERAL = "{ tickets(first: %d) { id comments(first: %d) { id } } }"
NESTED_VARIABLES = (
    "query Q($t: Int, $c: Int) { tickets(first: $t) { id comments(first: $c) { id } } }"
)


async def cost_of(schema, query, variables=None, context=None) -> int:
    result = await run(schema, query, variables, context)
    assert result.errors is None, [e.formatted for e in result.errors]
    return result.extensions["cost"]["requested"]


UNCAPPED = make_schema(max_cost=10**6)


@settings(max_examples=25, deadline=None)
@given(tickets=st.integers(1, 100), comments=st.integers(1, 100))
async def test_literal_and_variable_page_sizes_cost_the_same(tickets, comments) -> None:
    literal = await cost_of(UNCAPPED, NESTED_LITERAL % (tickets, comments))
    variable = await cost_of(UNCAPPED, NESTED_VARIABLES, {"t": tickets, "c": comments})
    assert literal == variable == tickets * (1 + comments)


async def test_same_document_with_other_variables_costs_differently() -> None:
    schema = make_schema()
    plan_cache._plans.clear()
    small = await cost_of(schema, NESTED_VARIABLES, {"t": 2, "c": 3})
    large = await cost_of(schema, NESTED_VARIABLES, {"t": 10, "c": 20})
    assert (small, large) == (2 * 4, 10 * 21)
    assert sum(1 for key in plan_cache._plans if key[1] == NESTED_VARIABLES) == 1
    result = await run(schema, NESTED_VARIABLES, {"t": 100, "c": 100})
    assert_refused(result, "COST_LIMIT_EXCEEDED")
    assert result.errors[0].extensions == {
        "code": "COST_LIMIT_EXCEEDED",
        "cost": 100 * 101,
        "maxCost": 1_000,
    }


async def test_cost_limit_at_and_over() -> None:
    query = NESTED_LITERAL % (10, 9)  # 10 * (1 + 9) = 100
    assert await cost_of(make_schema(max_cost=100), query) == 100
    assert_refused(await run(make_schema(max_cost=99), query), "COST_LIMIT_EXCEEDED")


async def test_fragments_inline_fragments_and_aliases_are_counted(schema) -> None:
    query = """
      { a: tickets(first: 2) { ...T } b: tickets(first: 3) { ... on Ticket { ...T } } }
      fragment T on Ticket { comments(first: 4) { id } c2: comments(first: 1) { id } }
    """
    # per ticket 1 + 4 + 1 = 6; 2 * 6 + 3 * 6
    assert await cost_of(schema, query) == 30


async def test_declared_costs_and_bounded_lists(schema) -> None:
    assert await cost_of(schema, "{ report { total } }") == 5
    assert await cost_of(schema, "{ ticket { watchers { id } tags } }") == 1 + 3
    assert await cost_of(schema, "{ recent { id } }") == 10  # the argument's default
    assert await cost_of(schema, "{ hello }") == 0


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ tickets { id } }", None),
        ("{ tickets(first: 0) { id } }", None),
        ("{ tickets(first: 101) { id } }", None),
        ("{ tickets(first: -1) { id } }", None),
        ("{ ticket { comments { id } } }", None),
        ("query($n: Int) { tickets(first: $n) { id } }", {}),
        ("query($n: Int) { tickets(first: $n) { id } }", {"n": 101}),
        ("query($n: Int) { tickets(last: $n) { id } }", {"n": None}),
    ],
)
async def test_bad_page_sizes_are_refused(schema, query, variables) -> None:
    assert_refused(await run(schema, query, variables), "BAD_USER_INPUT")


async def test_invalid_variables_are_refused_before_execution(schema) -> None:
    query = "mutation($id: Int!) { closeTicket(id: $id) { id } }"
    assert_refused(await run(schema, query, {"id": "x"}), "BAD_USER_INPUT")


async def test_mutation_over_cost_never_runs() -> None:
    query = "mutation { closeTicket(id: 1) { comments(first: 50) { id } } }"
    assert_refused(await run(make_schema(max_cost=50), query), "COST_LIMIT_EXCEEDED")


async def test_response_reports_requested_and_actual_cost(schema) -> None:
    result = await run(schema, "{ tickets(first: 5) { comments(first: 2) { id } } }")
    # 5 tickets asked, the resolver gives 5 tickets with 2 comments each
    assert result.extensions["cost"] == {"requested": 15, "actual": 15}
    result = await run(schema, "{ tickets(first: 5) { watchers { id } } }")
    assert result.extensions["cost"] == {"requested": 20, "actual": 15}


@pytest.mark.parametrize(
    "context",
    [
        RequestContext(cost_extensions={"budgetRemaining": 7, "resetAt": "soon"}),
        {"cost_extensions": {"budgetRemaining": 7, "resetAt": "soon"}},
    ],
)
async def test_rate_limiter_fields_are_merged_from_the_context(schema, context) -> None:
    result = await run(schema, "{ report { total } }", context=context)
    assert result.extensions["cost"] == {
        "requested": 5,
        "actual": 1,
        "budgetRemaining": 7,
        "resetAt": "soon",
    }


async def test_refused_documents_report_no_cost(schema) -> None:
    result = await run(schema, "{ nope }")
    assert codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "cost" not in (result.extensions or {})


class _Record(Mapping[str, object]):
    """A Mapping that is not a dict: still an object to count."""

    def __init__(self, **values: object) -> None:
        self._values = values

    def __getitem__(self, key: str) -> object:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


class _Rows(list[object]):
    pass


async def test_count_objects_counts_every_object_below_the_root() -> None:
    scalars = {"s": "text", "i": 1, "f": 1.5, "b": True, "n": None}
    data = {
        "tickets": {  # 1
            "edges": [{"node": {**scalars, "requester": {"name": "x"}}} for _ in range(3)],  # 3 x 3
            "other": _Record(inner=_Record(), rows=_Rows([{"a": 1}, [{"b": 2}], "leaf"])),  # 4
        },
        "count": 7,
    }

    assert count_objects(data) == 1 + 9 + 4
    assert count_objects(_Record(only=_Rows([_Record()]))) == 1
    assert count_objects(None) == 0
    assert count_objects([{"a": 1}]) == 0  # not a result's data
