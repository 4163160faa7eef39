"""GuardChain runs its guards' hooks as strawberry would run separate extensions: in
order on the way in, in reverse on the way out, async execute hooks awaited, results
merged, and a failure in between closes the suspended hooks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any

import pytest
import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from schema.guards.chain import GuardChain


def recorder(name: str, log: list[str]) -> type[SchemaExtension]:
    class Recorder(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            log.append(f"{name} parse in")
            yield
            log.append(f"{name} parse out")

        async def on_execute(self) -> AsyncIterator[None]:
            log.append(f"{name} execute in")
            yield
            log.append(f"{name} execute out")

        def get_results(self) -> dict[str, Any]:
            return {name: True}

    return Recorder


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hi"

    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("resolver failed")


def schema(log: list[str]) -> strawberry.Schema:
    parts = [recorder("a", log), recorder("b", log)]
    return strawberry.Schema(Query, extensions=[partial(GuardChain, parts=parts)])


async def test_hooks_run_in_order_and_unwind_in_reverse_with_results_merged() -> None:
    log: list[str] = []

    result = await schema(log).execute("{ hello }")

    assert result.data == {"hello": "hi"}
    assert result.extensions == {"a": True, "b": True}
    assert log == [
        "a parse in",
        "b parse in",
        "b parse out",
        "a parse out",
        "a execute in",
        "b execute in",
        "b execute out",
        "a execute out",
    ]


async def test_a_refusal_raised_by_one_guard_stops_the_later_ones() -> None:
    log: list[str] = []

    class Refuses(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            raise GraphQLError("refused")
            yield  # pragma: no cover

    chained = strawberry.Schema(
        Query,
        extensions=[partial(GuardChain, parts=[recorder("a", log), Refuses, recorder("b", log)])],
    )

    result = await chained.execute("{ hello }")

    assert result.errors
    assert result.errors[0].message == "refused"
    assert "b parse in" not in log
    assert "a parse out" not in log  # closed, not finished


def test_a_synchronous_hook_that_is_async_is_refused_when_built() -> None:
    class AsyncParse(SchemaExtension):
        async def on_parse(self) -> AsyncIterator[None]:  # type: ignore[override]
            yield

    with pytest.raises(TypeError, match="on_parse must be synchronous"):
        GuardChain(parts=[AsyncParse])


async def test_a_hook_that_yields_twice_is_an_error_not_a_silent_skip() -> None:
    class YieldsTwice(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            yield
            yield

    chained = strawberry.Schema(Query, extensions=[partial(GuardChain, parts=[YieldsTwice])])

    result = await chained.execute("{ hello }")

    assert result.errors
    assert result.data is None
    assert "yielded more than once" in str(result.errors[0].original_error)
