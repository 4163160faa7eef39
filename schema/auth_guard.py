"""At most one authentication mutation per request, however it is hidden.

Credential guessing packed into one request (aliases, fragments, several operations)
would multiply attempts past the per-request rate limit; so a document whose operation
runs more than one of these root fields is refused before anything executes.
"""

from __future__ import annotations

from collections.abc import Mapping

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
)

from schema.guards.errors import GuardCode, refusal
from schema.guards.fragments import measure_fragments
from schema.guards.limits import DocumentGuard, operations

AUTHENTICATION_MUTATIONS = frozenset(
    {
        "login",
        "register",
        "changePassword",
        "requestPasswordReset",
        "resetPassword",
        "confirmTotp",
        "disableTotp",
    }
)
CODE = "TOO_MANY_AUTHENTICATION_ATTEMPTS"


def _count(selection_set: SelectionSetNode, fragments: Mapping[str, int]) -> int:
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            total += fragments.get(selection.name.value, 0)
        elif isinstance(selection, InlineFragmentNode):
            total += _count(selection.selection_set, fragments)
        elif isinstance(selection, FieldNode) and selection.name.value in AUTHENTICATION_MUTATIONS:
            total += 1
    return min(total, 2**31)


def authentication_attempts(document: DocumentNode, operation_name: str | None) -> int:
    fragments = measure_fragments(document, _count)
    selected = get_operation_ast(document, operation_name)
    candidates = [selected] if selected is not None else list(operations(document))
    return sum(
        _count(operation.selection_set, fragments)
        for operation in candidates
        if operation.operation == OperationType.MUTATION
    )


class OneAuthenticationPerRequest(DocumentGuard):
    def check(self, document: DocumentNode) -> GraphQLError | None:
        if authentication_attempts(document, self.execution_context.operation_name) <= 1:
            return None
        error = refusal(
            "At most one authentication mutation per request.", GuardCode.TOO_MANY_MUTATIONS
        )
        error.extensions = {"code": CODE}
        return error
