"""Execution time limit per operation type, and per kind of principal where set.

The HTTP layer runs each request's execution inside ``asyncio.timeout`` (which cancels
the resolvers still running when it fires) and puts the timeout on the context, set to
the longest limit; this extension, which knows the operation type once the document is
parsed, brings the deadline in to its type's limit, counted from the request's start.
Database statements are bounded separately (PostgreSQL ``statement_timeout``).

Shadowed (``TimeLimits.shadow``), the HTTP layer sets no deadline and nothing is
cancelled: an operation that ran longer than its limit is logged once it has finished
(``graphql_guard_shadow_refusal``, measured = elapsed seconds since the request's start).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from schema.guards.context import context_value
from schema.guards.errors import GuardCode
from schema.guards.verdict import Limit, RequestSubject, check_limit, refuse_over_limit

# Who a per-principal limit applies to: "anonymous", "partner", or a user's role.
PRINCIPAL_CLASSES = frozenset({"anonymous", "partner", "customer", "agent", "admin", "auditor"})
OPERATION_KINDS = frozenset({"query", "mutation"})


def principal_class(principal: Any) -> str:
    kind = getattr(principal, "kind", "anonymous")
    if kind == "user":
        role = getattr(principal, "role", None)
        return str(getattr(role, "value", role)) if role is not None else "anonymous"
    return "partner" if kind == "partner" else "anonymous"


@dataclass(frozen=True, slots=True)
class TimeLimits:
    query_seconds: float = 10.0
    mutation_seconds: float = 30.0
    shadow: bool = False
    # (principal class, "query" | "mutation", seconds): replaces the default for them.
    by_principal: tuple[tuple[str, str, float], ...] = ()

    def __post_init__(self) -> None:
        if not (self.query_seconds > 0 and self.mutation_seconds > 0):
            raise ValueError("execution time limits must be positive")
        for who, kind, seconds in self.by_principal:
            if who not in PRINCIPAL_CLASSES or kind not in OPERATION_KINDS or seconds <= 0:
                raise ValueError(f"bad execution time limit {who}:{kind}={seconds}")

    @property
    def longest(self) -> float:
        overrides = (seconds for _who, _kind, seconds in self.by_principal)
        return max(self.query_seconds, self.mutation_seconds, *overrides)

    @property
    def deadline(self) -> float | None:
        """What the HTTP layer's ``asyncio.timeout`` starts with; None when shadowed."""
        return None if self.shadow else self.longest

    def for_operation(self, operation: OperationType, principal: Any = None) -> float:
        kind = "mutation" if operation is OperationType.MUTATION else "query"
        who = principal_class(principal)
        for override_who, override_kind, seconds in self.by_principal:
            if override_who == who and override_kind == kind:
                return seconds
        return self.mutation_seconds if kind == "mutation" else self.query_seconds

    def limit(self, operation: OperationType, principal: Any = None) -> Limit:
        seconds = self.for_operation(operation, principal)
        return Limit(GuardCode.EXECUTION_TIMEOUT, seconds, self.shadow)


class ExecutionTimeLimit(SchemaExtension):
    def __init__(self, *, limits: TimeLimits) -> None:
        self.limits = limits

    def on_execute(self) -> Iterator[None]:
        execution_context = self.execution_context
        context = execution_context.context
        principal = context_value(context, "principal")
        seconds = self.limits.for_operation(execution_context.operation_type, principal)
        started = getattr(context, "execution_started", None)
        if self.limits.shadow:
            started = started if started is not None else _now()
            yield
            limit = self.limits.limit(execution_context.operation_type, principal)
            check_limit(execution_context, limit, _now() - started)
            return
        timeout = getattr(context, "execution_timeout", None)
        if timeout is not None and started is not None:
            deadline = started + seconds
            when = timeout.when()
            if when is None or deadline < when:
                timeout.reschedule(deadline)
        yield


def timed_out(context: Any, request: Any, seconds: float) -> GraphQLError:
    """The error a request gets when its execution was stopped after ``seconds``; the
    refusal is logged (``request``: strawberry's request data, a list for a batch,
    whose operations are then not told apart)."""
    subject = RequestSubject(
        context,
        getattr(request, "query", None),
        getattr(request, "operation_name", None),
    )
    started = context_value(context, "execution_started")
    elapsed = _now() - started if started is not None else seconds
    return refuse_over_limit(subject, Limit(GuardCode.EXECUTION_TIMEOUT, seconds), elapsed)


def _now() -> float:
    """The loop's clock (the HTTP layer's ``execution_started`` is on it)."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:  # executed synchronously
        return time.monotonic()
