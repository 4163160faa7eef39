"""The per-action limits (sign-in, TOTP, password reset, registration, reveals, data
requests): which mutation is charged what, in one place.

:data:`ACTION_LIMITS` names, per root mutation field, the limits one call of it is
charged. The cost budget (:class:`schema.guards.budget.CostBudget`) charges them for
every such field the operation will run, before execution and in the same store round
trip as the request's other limits, and leaves each field's verdict in the context;
the resolver then calls :func:`enforce_action_limits`, which raises ``RATE_LIMITED``
for a refused verdict. A resolver running without a verdict (the schema executed
without the budget guard, or a field it did not see) is charged there and then, so no
path runs an action uncharged.

Keys: the client network (``ip:``), plus the pseudonymised subject (``subject:``: an
email or user id, hashed; the shared store must not hold emails in clear) when one is
known; data requests count per user.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLIncludeDirective,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values

from core.errors import RateLimited

__all__ = ("ACTION_LIMITS", "ActionCall", "action_calls", "enforce_action_limits")

# (limit class, key) pairs, in the order they are charged.
Charges = list[tuple[str, str]]
# Per root mutation field: its charges from the context and the field's arguments
# (GraphQL names, coerced values).
Declared = Callable[[Any, Any, Mapping[str, Any]], Charges]


def _network(context: Any, limiter: Any) -> str:
    return f"ip:{limiter.client_key(context.client_ip)}"


def _subject(value: str) -> str:
    return f"subject:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def _per_network(limit_class: str, subject: str | None = None) -> Declared:
    """Per client network, and per subject (an argument's value) when one is given."""

    def declared(context: Any, limiter: Any, arguments: Mapping[str, Any]) -> Charges:
        charges = [(limit_class, _network(context, limiter))]
        if subject is not None:
            value = str(arguments.get(subject) or "").strip().casefold()
            charges.append((limit_class, _subject(value)))
        return charges

    return declared


def _per_network_and_user(limit_class: str) -> Declared:
    def declared(context: Any, limiter: Any, arguments: Mapping[str, Any]) -> Charges:
        user_id = getattr(context.principal, "user_id", None)
        charges = [(limit_class, _network(context, limiter))]
        if user_id is not None:
            charges.append((limit_class, _subject(str(user_id))))
        return charges

    return declared


def _per_user(limit_class: str) -> Declared:
    def declared(context: Any, limiter: Any, arguments: Mapping[str, Any]) -> Charges:
        user_id = getattr(context.principal, "user_id", None)
        return [(limit_class, f"user:{user_id}")] if user_id is not None else []

    return declared


def _login(context: Any, limiter: Any, arguments: Mapping[str, Any]) -> Charges:
    charges = _per_network("login")(context, limiter, arguments)
    if arguments.get("totp") or arguments.get("recoveryCode"):
        # A second factor guessed through login counts against the TOTP limit too.
        charges += _per_network("totp", subject="email")(context, limiter, arguments)
    return charges


ACTION_LIMITS: Mapping[str, Declared] = {
    "login": _login,
    "register": _per_network("registration"),
    "requestPasswordReset": _per_network("password_reset", subject="email"),
    "resetPassword": _per_network("password_reset"),
    "confirmTotp": _per_network_and_user("totp"),
    "disableTotp": _per_network_and_user("totp"),
    "revealPersonalData": _per_network_and_user("reveal"),
    # Exports and erasures are heavy and rare: a few a day per person.
    "exportMyData": _per_user("data_request"),
    "exportUserData": _per_user("data_request"),
    "requestErasure": _per_user("data_request"),
}


class ActionCall:
    """One root field of the operation that is charged per-action limits."""

    __slots__ = ("charges", "response_key")

    def __init__(self, response_key: str, charges: Charges) -> None:
        self.response_key = response_key
        self.charges = charges


def action_calls(
    schema: GraphQLSchema,
    document_fragments: Mapping[str, Any],
    operation: OperationDefinitionNode,
    variables: VariableValues,
    context: Any,
    limiter: Any,
) -> list[ActionCall]:
    """The operation's root fields listed in :data:`ACTION_LIMITS`, with their charges,
    in execution order (``@skip``/``@include`` applied, fragments followed); [] for
    anything but a mutation."""
    if operation.operation is not OperationType.MUTATION or schema.mutation_type is None:
        return []
    fields = schema.mutation_type.fields
    calls: list[ActionCall] = []
    for node in _root_fields(operation.selection_set, document_fragments, variables, set()):
        declared = ACTION_LIMITS.get(node.name.value)
        if declared is None or node.name.value not in fields:
            continue
        arguments = get_argument_values(fields[node.name.value], node, variables)
        key = node.alias.value if node.alias else node.name.value
        calls.append(ActionCall(key, declared(context, limiter, arguments)))
    return calls


def _root_fields(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, Any],
    variables: VariableValues,
    visited: set[str],
) -> list[FieldNode]:
    found: list[FieldNode] = []
    for selection in selection_set.selections:
        if not _included(selection, variables):
            continue
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found += _root_fields(selection.selection_set, fragments, variables, visited)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in visited:
                visited.add(name)
                found += _root_fields(fragment.selection_set, fragments, variables, visited)
    return found


def _included(node: Any, variables: VariableValues) -> bool:
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip is not None and skip.get("if") is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return not (include is not None and include.get("if") is False)


async def enforce_action_limits(info: Any) -> None:
    """In a resolver listed in :data:`ACTION_LIMITS`: raises RATE_LIMITED (with
    ``retryAfter``) when its limits refused this call; never silently skipped."""
    context = info.context
    verdicts: dict[str, Any] = context.action_verdicts
    response_key = info.path.key
    if response_key in verdicts:
        refused = verdicts.pop(response_key)  # one call, one verdict
    else:
        refused = await _charge_now(info)
    if refused is not None:
        raise RateLimited(refused.retry_after)


async def _charge_now(info: Any) -> Any:
    """The field's charges made here (no verdict from the budget guard); the refusal."""
    context = info.context
    limiter = context.rate_limiter
    if limiter is None:
        raise RuntimeError("the rate limiter is not configured for this context")
    raw = info._raw_info
    field = raw.parent_type.fields[raw.field_name]
    arguments = get_argument_values(field, raw.field_nodes[0], raw.variable_values)
    charges = ACTION_LIMITS[raw.field_name](context, limiter, arguments)
    if not charges:
        return None
    decisions: Sequence[Any] = await limiter.hit_all([(cls, key, 1) for cls, key in charges])
    return None if decisions[-1].allowed else decisions[-1]
