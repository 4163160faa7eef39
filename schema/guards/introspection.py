"""Introspection only for requests whose context allows it.

The decision is per request: the context value must hold ``introspection_allowed``
exactly ``True`` (attribute or dict key); absent or anything else means deny.
graphql-core's ``NoSchemaIntrospectionCustomRule`` does the refusing: it checks
every field whose type is ``__Schema`` / ``__Type`` (so ``__schema`` and ``__type``
under any alias, in fragments and inline fragments) and leaves ``__typename`` alone.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from schema.guards.context import context_flag
from schema.guards.errors import GuardCode
from schema.guards.verdict import log_refusal

CONTEXT_FLAG = "introspection_allowed"


class IntrospectionDisabledRule(NoSchemaIntrospectionCustomRule):
    """The built-in rule, with INTROSPECTION_DISABLED on its errors."""

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {
            **(error.extensions or {}),
            "code": GuardCode.INTROSPECTION_DISABLED.value,
        }
        super().report_error(error)


class IntrospectionGate(SchemaExtension):
    """Adds :class:`IntrospectionDisabledRule` unless the request may introspect.

    The rule is one module-level class, so a ValidationCache keyed by the rule tuple
    never serves an allowed request's result to a denied one.
    """

    def on_operation(self) -> Iterator[None]:
        execution_context = self.execution_context
        if not context_flag(execution_context.context, CONTEXT_FLAG):
            execution_context.validation_rules = (
                *execution_context.validation_rules,
                IntrospectionDisabledRule,
            )
        yield

    def on_validate(self) -> Iterator[None]:
        yield
        # The rule reports each introspection field; the request is refused once. The
        # errors may come from the validation cache, so look at them, not at the rule.
        code = GuardCode.INTROSPECTION_DISABLED.value
        errors = self.execution_context.pre_execution_errors or ()
        if any((error.extensions or {}).get("code") == code for error in errors):
            log_refusal(self.execution_context, GuardCode.INTROSPECTION_DISABLED)
