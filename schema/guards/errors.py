"""Error codes of the guards, and the one way a guard builds a refusal."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Any

from graphql import GraphQLError, Node


class GuardCode(StrEnum):
    """Stable ``extensions.code`` values; clients and alerts rely on them."""

    DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"
    TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_MANY_DIRECTIVES = "TOO_MANY_DIRECTIVES"
    DEPTH_LIMIT_EXCEEDED = "DEPTH_LIMIT_EXCEEDED"
    TOO_MANY_MUTATIONS = "TOO_MANY_MUTATIONS"
    COST_LIMIT_EXCEEDED = "COST_LIMIT_EXCEEDED"
    EXECUTION_TIMEOUT = "EXECUTION_TIMEOUT"
    MUTATION_IN_BATCH = "MUTATION_IN_BATCH"
    TOO_MANY_OPERATIONS = "TOO_MANY_OPERATIONS"
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    # Persisted (trusted) operations (api.persisted); the names are Apollo's.
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
    PERSISTED_QUERY_ID_REQUIRED = "PERSISTED_QUERY_ID_REQUIRED"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


# graphql-core's parser's message for nesting it will not follow; the guards refuse
# nesting no admissible document reaches with the same words (schema.guards.precheck).
NESTED_TOO_DEEPLY = "Document is nested too deeply."


def refusal(
    message: str,
    code: GuardCode,
    nodes: Collection[Node] | Node | None = None,
    **details: Any,
) -> GraphQLError:
    """A GraphQL error whose ``extensions`` hold ``code`` plus ``details``."""
    return GraphQLError(message, nodes, extensions={"code": code.value, **details})


def tag_errors(errors: list[GraphQLError] | None, marker: str, code: GuardCode) -> bool:
    """Give ``code`` to every error whose message contains ``marker``; True if any did.

    graphql-core's parser reports its own limits (token count, nesting) only as
    syntax errors told apart by message; the tests pin these messages.
    """
    tagged = False
    for error in errors or ():
        if marker in error.message:
            error.extensions = {**(error.extensions or {}), "code": code.value}
            tagged = True
    return tagged
