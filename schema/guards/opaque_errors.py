"""Validation errors that tell a stranger nothing about the schema (production).

(What remains: a complete, valid document still runs — or answers FORBIDDEN — where an
invalid one gets this error, so a prober can confirm one guessed document per request,
under the rate limits; persisted operations in ``require`` mode close even that.)

Removing "Did you mean ...?" (schema.guards.suggestions) is not enough: graphql-core's
messages still name what exists — "Field 'tickets' of type 'TicketConnection!' must have
a selection of subfields", "Argument 'Query.tickets(first:)' of type 'Int!' is
required" — against "Cannot query field 'x' on type 'Query'" for what does not, and
each error's location shows which selection was the unknown one. A schema-recovery
tool such as clairvoyance rebuilds the schema from exactly these differences (it did,
against this API, before this module). So for a request that may not introspect, every
schema validation error of a document becomes one error with a fixed message and no
location, and a variable's coercion error keeps only the variable's name. Requests that
may introspect (the roles GraphiQL serves) learn nothing new from detail and keep it;
the guards' own refusals (depth, cost, ...) name no schema element and stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from schema.guards.context import context_flag
from schema.guards.errors import GuardCode

OPAQUE_MESSAGE = "The document is not valid for this API."
_REVEALING_CODES = frozenset({None, GuardCode.GRAPHQL_VALIDATION_FAILED.value})
# graphql-core: "Variable '$input' got invalid value {...}; Field 'x' is not defined by
# type 'CreateTicketInput'." / "Variable '$n' of required type 'Int!' was not provided."
_VARIABLE = re.compile(r"^Variable '\$(\w+)'")


def _code(error: GraphQLError) -> str | None:
    code = (error.extensions or {}).get("code")
    return code if isinstance(code, str) else None


class OpaqueValidationErrors(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        errors = context.pre_execution_errors
        if not errors or context_flag(context.context, "introspection_allowed"):
            return
        kept = [error for error in errors if _code(error) not in _REVEALING_CODES]
        if len(kept) == len(errors):
            return
        opaque = GraphQLError(
            OPAQUE_MESSAGE, extensions={"code": GuardCode.GRAPHQL_VALIDATION_FAILED.value}
        )
        # In place: strawberry has already taken this list for its answer. It may be the
        # validation cache's entry; that entry only ever serves requests that may not
        # introspect (IntrospectionGate adds a rule to theirs, so the cache keys differ).
        errors[:] = [*kept, opaque]

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        if context_flag(self.execution_context.context, "introspection_allowed"):
            return
        # graphql-core may report one variable several times; once is enough.
        opaque = {id(error): _opaque_variable_error(error) for error in result.errors}
        seen: set[str] = set()
        kept: list[GraphQLError] = []
        for error in opaque.values():
            if error.path is None and error.message in seen:
                continue
            seen.add(error.message)
            kept.append(error)
        result.errors = kept


def _opaque_variable_error(error: GraphQLError) -> GraphQLError:
    match = _VARIABLE.match(error.message)
    if match is None or error.path:
        return error
    return GraphQLError(
        f"Variable '${match.group(1)}' got an invalid value.",
        extensions={"code": GuardCode.BAD_USER_INPUT.value},
    )
