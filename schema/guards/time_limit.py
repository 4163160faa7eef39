"""Execution time limit per operation type.

The HTTP layer runs each request's execution inside ``asyncio.timeout`` (which cancels
the resolvers still running when it fires) and puts the timeout on the context, set to
the longest limit; this extension, which knows the operation type once the document is
parsed, brings the deadline in to its type's limit, counted from the request's start.
Database statements are bounded separately (PostgreSQL ``statement_timeout``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from schema.guards.errors import GuardCode, refusal


@dataclass(frozen=True, slots=True)
class TimeLimits:
    query_seconds: float = 10.0
    mutation_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not (self.query_seconds > 0 and self.mutation_seconds > 0):
            raise ValueError("execution time limits must be positive")

    @property
    def longest(self) -> float:
        return max(self.query_seconds, self.mutation_seconds)

    def for_operation(self, operation: OperationType) -> float:
        return self.mutation_seconds if operation is OperationType.MUTATION else self.query_seconds


class ExecutionTimeLimit(SchemaExtension):
    def __init__(self, *, limits: TimeLimits) -> None:
        self.limits = limits

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        timeout = getattr(context, "execution_timeout", None)
        started = getattr(context, "execution_started", None)
        if timeout is not None and started is not None:
            seconds = self.limits.for_operation(self.execution_context.operation_type)
            deadline = started + seconds
            when = timeout.when()
            if when is None or deadline < when:
                timeout.reschedule(deadline)
        yield


def timed_out(seconds: float) -> GraphQLError:
    """The error a request gets when its execution was stopped."""
    return refusal(
        f"The request took longer than {seconds:g} seconds and was stopped.",
        GuardCode.EXECUTION_TIMEOUT,
    )
