"""A document prepared before its first request, and how a request finds it.

The persisted operations' fast path (issue 10): every document on the allowlist is
parsed, measured by the shape guards, validated and cost-compiled when the list is
loaded — at start-up and whenever it changes (:mod:`schema.guards.preparation`) — and
kept for as long as it stays listed. A request running it then skips the parser and
graphql-core's validation, and its first call after a restart is as fast as its
hundredth. What is kept depends on the schema and the text only; everything that
depends on the request still runs per request: the limits' verdicts (refused or
shadowed, and logged), the cost with the request's variables and the principal's
budget, the field policy, and the choice of validation rules (the introspection gate).

The pipeline's steps ask :func:`prepared_document` by the request's text. The
persisted-operation gate hands on the stored text object itself, so that lookup is a
dictionary hit on a string whose hash is already known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema
from strawberry.types import ExecutionContext

from schema.guards.errors import GuardCode

if TYPE_CHECKING:
    from schema.guards.cost_plan import CostPlan

# The attribute of a strawberry schema holding its prepared documents (OpenDeskSchema).
PREPARED_DOCUMENTS_ATTRIBUTE = "prepared_documents"
RuleSet = tuple[type[ASTValidationRule], ...]
# Validation results kept per document: the rule sets the schema's extensions choose
# from (with and without the introspection rule) are prepared ahead; any other is
# validated on first use and kept, up to this many.
MAX_RULE_SETS = 4


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    text: str
    document: DocumentNode
    # What each shape guard measures (tokens, aliases, directives, depth, mutations),
    # keyed by the rule it enforces.
    measured: Mapping[GuardCode, int]
    # The plan of a valid document (None: invalid, never costed).
    cost_plan: CostPlan | None
    validation: dict[RuleSet, tuple[GraphQLError, ...]] = field(default_factory=dict)

    def validation_errors(self, schema: GraphQLSchema, rules: RuleSet) -> list[GraphQLError]:
        """The errors graphql-core reports for ``rules`` (strawberry's own validation,
        with its extra rules), as a new list each time: later steps edit it in place."""
        errors = self.validation.get(rules)
        if errors is None:
            # Imported here like strawberry's ValidationCache does: strawberry.schema
            # imports the extensions' modules.
            from strawberry.schema.schema import validate_document

            errors = tuple(validate_document(schema, self.document, rules))
            if len(self.validation) < MAX_RULE_SETS:
                self.validation[rules] = errors
        return list(errors)


class PreparedLookup(Protocol):
    def get(self, text: str) -> PreparedDocument | None: ...


def prepared_document(execution_context: ExecutionContext) -> PreparedDocument | None:
    """The prepared form of the request's text, if its schema holds one."""
    text = execution_context.query
    if text is None:
        return None
    documents: PreparedLookup | None = getattr(
        execution_context.schema, PREPARED_DOCUMENTS_ATTRIBUTE, None
    )
    return None if documents is None else documents.get(text)
