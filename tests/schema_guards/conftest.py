"""A small self-contained schema built with the guards, and a way to run requests."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionResult

from schema.guards import GuardsConfig, build_guard_extensions, field_cost

MUTATION_CALLS: list[str] = []


@strawberry.enum
class Status(Enum):
    OPEN = "open"
    CLOSED = "closed"


@strawberry.type
class Comment:
    id: int
    body: str


@strawberry.type
class Report:
    total: int


@strawberry.type
class Ticket:
    id: int
    subject: str
    status: Status

    @strawberry.field
    def comments(self, first: int | None = None, last: int | None = None) -> list[Comment]:
        return [Comment(id=i, body="hi") for i in range(first or last or 0)]

    @strawberry.field(metadata=field_cost(1, list_size=3))
    def watchers(self) -> list[Comment]:
        return [Comment(id=i, body="w") for i in range(2)]

    @strawberry.field
    def tags(self) -> list[str]:
        return ["a", "b"]


@strawberry.type
class Query:
    @strawberry.field
    def tickets(
        self, first: int | None = None, last: int | None = None, status: Status | None = None
    ) -> list[Ticket]:
        size = first or last or 0
        return [Ticket(id=i, subject="s", status=status or Status.OPEN) for i in range(size)]

    @strawberry.field
    def ticket(self, id: int = 1) -> Ticket:
        return Ticket(id=id, subject="s", status=Status.OPEN)

    @strawberry.field(metadata=field_cost(5))
    def report(self) -> Report:
        return Report(total=1)

    @strawberry.field
    def recent(self, first: int = 10) -> list[Ticket]:
        return [Ticket(id=i, subject="s", status=Status.OPEN) for i in range(first)]

    @strawberry.field
    def hello(self) -> str:
        return "hello"


@strawberry.type
class Mutation:
    @strawberry.mutation
    def close_ticket(self, id: int) -> Ticket:
        MUTATION_CALLS.append(f"close:{id}")
        return Ticket(id=id, subject="s", status=Status.CLOSED)


def make_schema(**overrides: Any) -> strawberry.Schema:
    settings: dict[str, Any] = {"introspection_allowed": False, "suggestions_enabled": False}
    settings.update(overrides)
    config = GuardsConfig(**settings)
    return strawberry.Schema(Query, Mutation, extensions=build_guard_extensions(config))


DEFAULT = GuardsConfig(introspection_allowed=False, suggestions_enabled=False)
# Everything but one guard opened wide, to show each guard catches hostile input alone.
WIDE = {
    "max_document_chars": 10_000_000,
    "max_tokens": 10_000_000,
    "max_aliases": 10_000_000,
    "max_directives": 10_000_000,
    "max_depth": 10_000,
    "max_mutations_per_request": 10_000,
    "max_cost": 10**30,
}


def wide_but(**limits: Any) -> dict[str, Any]:
    return {**WIDE, **limits}


@pytest.fixture(autouse=True)
def _clear_mutation_calls() -> None:
    MUTATION_CALLS.clear()


@pytest.fixture(scope="session")
def schema() -> strawberry.Schema:
    return make_schema()


@dataclasses.dataclass
class RequestContext:
    introspection_allowed: Any = None
    cost_extensions: Any = None


async def run(
    schema: strawberry.Schema,
    query: str,
    variables: dict[str, Any] | None = None,
    context: Any = None,
    operation_name: str | None = None,
) -> ExecutionResult:
    return await schema.execute(
        query,
        variable_values=variables,
        context_value=context if context is not None else RequestContext(),
        operation_name=operation_name,
    )


def codes(result: ExecutionResult) -> list[str]:
    return [(error.extensions or {}).get("code", "") for error in result.errors or ()]


def assert_refused(result: ExecutionResult, code: str) -> None:
    """Refused with ``code``, nothing executed, no Python exception behind the error."""
    assert result.data is None, result
    assert codes(result)[:1] == [code], [e.formatted for e in result.errors or ()]
    # graphql-core chains its own GraphQLErrors; anything else is a crash.
    assert all(
        error.original_error is None or isinstance(error.original_error, GraphQLError)
        for error in result.errors or ()
    )
    assert MUTATION_CALLS == []
