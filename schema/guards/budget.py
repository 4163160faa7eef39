"""The cost budget: a principal's query-cost points per window (GitHub-style).

Placed after :class:`~schema.guards.cost.CostLimit`. Before execution it charges the
request's static cost (:func:`requested_cost`, as CostLimit computed it; at least 1
point) to the principal's budget: together with the request's other limits (the context's
``rate_limit_charges``, one store round trip) or, without those, through the context's
rate limiter. Over budget, nothing executes and the result is one ``RATE_LIMITED`` error
with ``retryAfter`` (and a ``Retry-After`` header); a request over one of its
per-request limits executes nothing either (the HTTP layer answers it 429). The
per-action limits of the mutation fields the operation will run (login, TOTP, reset,
...: :mod:`schema.action_limits`) are charged in the same call, after the cost; each
field's verdict is left in the context for its resolver to enforce. After
execution it refunds the difference down to the actual cost (objects in the response,
at least 1). ``extensions.cost`` then carries ``budgetRemaining`` and ``resetAt``
(ISO 8601, UTC) through the context's ``cost_extensions`` hook.

Budgets are keyed by user, by partner API key, or — for anonymous callers — by client
address. Without a rate limiter in the context (tests, tools) the extension does nothing.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, MutableMapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from graphql import (
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    OperationType,
    get_operation_ast,
)
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension

from schema.action_limits import ActionCall, action_calls
from schema.guards.context import context_value
from schema.guards.cost import CostRefusal, result_objects, take_requested_cost

__all__ = ("ChargeSettler", "CostBudget", "LimitDecisionView", "RateLimiter", "budget_key")

RATE_LIMITED = "RATE_LIMITED"
COST_CLASS = "cost"


class LimitDecisionView(Protocol):
    """What the schema reads of a limiter decision (``api.limits.LimitDecision``)."""

    @property
    def allowed(self) -> bool: ...
    @property
    def remaining(self) -> int: ...
    @property
    def reset_at(self) -> float: ...
    @property
    def retry_after(self) -> int: ...


class RateLimiter(Protocol):
    """The limiter as the schema layer sees it (implemented by ``api.limits.Limiter``).

    ``limit_class`` is a class value: "cost", "login", "password_reset", "totp",
    "registration", "reveal", ...
    """

    async def hit(self, limit_class: str, *, key: str, cost: int = 1) -> Any: ...

    async def hit_all(self, charges: Sequence[tuple[str, str, int]]) -> list[Any]:
        """``(class, key, cost)`` in order until one is refused, in one store round trip;
        a decision per charge made (a refused one last)."""
        ...

    async def refund(self, decision: Any, cost: int) -> None: ...

    def client_key(self, address: Any) -> str: ...


class ChargeSettler(Protocol):
    """What a request owes the limiter (implemented by ``api.limits.RequestCharges``)."""

    async def settle_with(self, charges: Sequence[tuple[str, str, int]]) -> list[Any] | None:
        """``charges`` made with everything the request owes, in one store round trip,
        as :meth:`RateLimiter.hit_all`; None when the request itself is over one of its
        limits (none of them was made)."""
        ...


def budget_key(context: Any, limiter: RateLimiter) -> str | None:
    """``user:<id>``, ``api_key:<id>`` or ``ip:<address or IPv6 prefix>``; None if unknown."""
    principal = context_value(context, "principal")
    api_key_id = getattr(principal, "api_key_id", None)
    if getattr(principal, "kind", None) == "partner" and api_key_id is not None:
        return f"api_key:{api_key_id}"
    user_id = getattr(principal, "user_id", None)
    if user_id is not None:
        return f"user:{user_id}"
    client_ip = context_value(context, "client_ip")
    return f"ip:{limiter.client_key(client_ip)}" if client_ip is not None else None


class CostBudget(SchemaExtension):
    """Charges, refuses and refunds query cost; see the module docstring."""

    def __init__(self, *, max_page_size: int) -> None:
        self.max_page_size = max_page_size

    async def on_execute(self) -> AsyncIterator[None]:
        execution_context = self.execution_context
        context = execution_context.context
        limiter: RateLimiter | None = context_value(context, "rate_limiter")
        key = budget_key(context, limiter) if limiter is not None else None
        # An earlier guard (CostLimit) already refused: charge nothing.
        if limiter is None or key is None or execution_context.result is not None:
            yield
            return
        try:
            charged = max(
                1, take_requested_cost(execution_context, max_page_size=self.max_page_size)
            )
        except CostRefusal:  # CostLimit reports it; nothing to charge
            yield
            return
        verdicts = context_value(context, "action_verdicts")
        calls = _action_calls(execution_context, limiter) if isinstance(verdicts, dict) else []
        charges = [(COST_CLASS, key, charged)]
        charges += [(cls, action_key, 1) for call in calls for cls, action_key in call.charges]
        owed: ChargeSettler | None = context_value(context, "rate_limit_charges")
        decisions = (
            await limiter.hit_all(charges) if owed is None else await owed.settle_with(charges)
        )
        if decisions is None:  # over a per-request limit: answered 429 by the HTTP layer
            execution_context.result = ExecutionResult(
                data=None,
                errors=[GraphQLError("Too many requests.", extensions={"code": RATE_LIMITED})],
            )
            yield
            return
        decision = decisions[0]
        if not decision.allowed:
            execution_context.result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        "Query cost budget exhausted; retry later.",
                        extensions={
                            "code": RATE_LIMITED,
                            "retryAfter": decision.retry_after,
                            "cost": charged,
                            "budgetRemaining": decision.remaining,
                        },
                    )
                ],
            )
            _set_retry_after(context, decision.retry_after)
            _report(context, decision.remaining, decision.reset_at)
            yield
            return
        if isinstance(verdicts, dict):
            _leave_verdicts(verdicts, calls, decisions)  # (none: clears any left over)
        yield
        counted = result_objects(execution_context)
        actual = max(1, counted) if counted is not None else charged
        refund = charged - actual
        if refund > 0:
            await limiter.refund(decision, refund)
        _report(context, decision.remaining + max(0, refund), decision.reset_at)


def _action_calls(execution_context: Any, limiter: RateLimiter) -> list[ActionCall]:
    """The operation's root fields charged per-action limits (schema.action_limits)."""
    document = execution_context.graphql_document
    operation = get_operation_ast(document, execution_context.operation_name)
    if operation is None or operation.operation is not OperationType.MUTATION:
        return []
    schema = execution_context.schema._schema
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), execution_context.variables or {}
    )
    if isinstance(coerced, list):  # CostLimit refused already: nothing runs
        return []
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    context = execution_context.context
    return action_calls(schema, fragments, operation, coerced, context, limiter)


def _leave_verdicts(
    verdicts: dict[str, Any], calls: list[ActionCall], decisions: list[Any]
) -> None:
    """Per call, its refusal (None: all its charges were made and allowed)."""
    verdicts.clear()
    made = len(decisions) - 1  # after the cost charge
    refusal = None if decisions[-1].allowed else decisions[-1]
    end = 0
    for call in calls:
        end += len(call.charges)
        # The batch stops at its first refusal (the last decision): a call with a charge
        # at or after it is refused with it; one entirely before it was allowed.
        verdicts[call.response_key] = refusal if refusal is not None and end >= made else None


def _report(context: Any, remaining: int, reset_at: float) -> None:
    extensions = context_value(context, "cost_extensions")
    if isinstance(extensions, MutableMapping):
        extensions["budgetRemaining"] = remaining
        extensions["resetAt"] = _iso_utc(math.floor(reset_at))


@lru_cache(maxsize=64)
def _iso_utc(second: int) -> str:
    """``2026-12-03T13:00:00Z``; cached: nearly every answer in a window shares its reset."""
    return datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _set_retry_after(context: Any, retry_after: int) -> None:
    response = context_value(context, "http_response")
    headers = getattr(response, "headers", None)
    if isinstance(headers, MutableMapping):
        headers["Retry-After"] = str(retry_after)
