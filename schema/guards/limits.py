"""Shape limits checked on the parsed document before graphql-core validates it.

Why not strawberry's ``MaxAliasesLimiter`` / ``QueryDepthLimiter``: they expand a
fragment at every spread (exponential in the number of fragments), the depth
limiter raises KeyError on an unknown fragment, and their errors carry no
``extensions.code``. These guards measure through fragments once each (see
:mod:`schema.guards.fragments`) and refuse in ``on_validate`` *before* validation
runs, so a refused document never reaches the standard rules (whose
OverlappingFieldsCanBeMerged check is super-linear) and only the first refusal is
returned. Counts are "as executed": a fragment counts once per spread, so aliases
multiplied through fragments are caught.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension

from schema.guards.errors import NESTED_TOO_DEEPLY, GuardCode, tag_errors
from schema.guards.fragments import fragment_definitions, measure_fragments
from schema.guards.prepared import prepared_document
from schema.guards.verdict import Limit, check_limit, log_refusal

# Counts saturate here: enough to compare with any limit, small enough to print.
CEILING = 2**53


def saturate(value: int) -> int:
    return min(value, CEILING)


class DocumentGuard(SchemaExtension):
    """Base: refuse a parsed document in ``on_validate``, before validation runs.

    Setting ``pre_execution_errors`` there makes strawberry skip its own validation
    and return the errors without executing anything. A guard does nothing when an
    earlier guard (or a validation cache) has already refused the document.
    """

    def on_validate(self) -> Iterator[None]:
        execution_context = self.execution_context
        document = execution_context.graphql_document
        if not execution_context.pre_execution_errors and document is not None:
            error = self.check(document)
            if error is not None:
                execution_context.pre_execution_errors = [error]
        yield

    def check(self, document: DocumentNode) -> GraphQLError | None:
        raise NotImplementedError


def operations(document: DocumentNode) -> Iterator[OperationDefinitionNode]:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            yield definition


def _count_aliases(selection_set: SelectionSetNode, fragments: Mapping[str, int]) -> int:
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            total += fragments.get(selection.name.value, 0)
            continue
        if isinstance(selection, FieldNode) and selection.alias is not None:
            total += 1
        if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
            total += _count_aliases(selection.selection_set, fragments)
    return saturate(total)


def _count_directives(selection_set: SelectionSetNode, fragments: Mapping[str, int]) -> int:
    total = 0
    for selection in selection_set.selections:
        total += len(selection.directives or ())
        if isinstance(selection, FragmentSpreadNode):
            total += fragments.get(selection.name.value, 0)
        elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
            total += _count_directives(selection.selection_set, fragments)
    return saturate(total)


def _depth(selection_set: SelectionSetNode, fragments: Mapping[str, int]) -> int:
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            depth = fragments.get(selection.name.value, 0)
        elif isinstance(selection, InlineFragmentNode):
            depth = _depth(selection.selection_set, fragments)
        elif not isinstance(selection, FieldNode) or selection.name.value.startswith("__"):
            # Introspection is gated on its own; GraphiQL's query is deeper than any
            # sensible data limit (the built-in limiter ignores it the same way).
            depth = 0
        else:
            below = selection.selection_set
            depth = 1 + (_depth(below, fragments) if below is not None else 0)
        deepest = max(deepest, depth)
    return deepest


def _count_root_fields(selection_set: SelectionSetNode, fragments: Mapping[str, int]) -> int:
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            total += fragments.get(selection.name.value, 0)
        elif isinstance(selection, InlineFragmentNode):
            total += _count_root_fields(selection.selection_set, fragments)
        elif isinstance(selection, FieldNode) and not selection.name.value.startswith("__"):
            total += 1
    return saturate(total)


def alias_count(document: DocumentNode) -> int:
    """Aliases in all operations, a fragment counted once per spread."""
    fragments = measure_fragments(document, _count_aliases)
    return saturate(sum(_count_aliases(op.selection_set, fragments) for op in operations(document)))


def directive_count(document: DocumentNode) -> int:
    """Directive uses in the document, those inside fragments once per spread."""
    fragments = measure_fragments(document, _count_directives)
    total = sum(
        len(fragment.directives or ()) for fragment in fragment_definitions(document).values()
    )
    for operation in operations(document):
        total += len(operation.directives or ())
        total += sum(
            len(variable.directives or ()) for variable in operation.variable_definitions or ()
        )
        total += _count_directives(operation.selection_set, fragments)
    return saturate(total)


def depth(document: DocumentNode) -> int:
    """Deepest chain of nested fields in any operation; ``{ a }`` has depth 1."""
    fragments = measure_fragments(document, _depth)
    return max((_depth(op.selection_set, fragments) for op in operations(document)), default=0)


def mutation_count(document: DocumentNode, operation_name: str | None) -> int:
    """Root mutation fields of the operation to run (every mutation if ambiguous)."""
    fragments = measure_fragments(document, _count_root_fields)
    selected = get_operation_ast(document, operation_name)
    candidates = [selected] if selected is not None else list(operations(document))
    return saturate(
        sum(
            _count_root_fields(op.selection_set, fragments)
            for op in candidates
            if op.operation == OperationType.MUTATION
        )
    )


# Measurements by (guard, query text, operation name): a document's shape does not depend
# on its variables, and the parser cache hands the same text the same tree, so a repeated
# query is walked once. Bounded; the oldest entries go first.
_MEASURED: dict[tuple[type, str, str | None], int] = {}
MEASURED_CACHE_SIZE = 2048


class LimitGuard(DocumentGuard):
    """A document guard measuring one limit; the verdict decides (refuse or shadow)."""

    def __init__(self, *, limit: Limit) -> None:
        self.limit = limit

    def check(self, document: DocumentNode) -> GraphQLError | None:
        return check_limit(self.execution_context, self.limit, self._measured(document))

    def _measured(self, document: DocumentNode) -> int:
        prepared = prepared_document(self.execution_context)
        if prepared is not None and prepared.document is document:
            measured = prepared.measured.get(self.limit.rule)
            if measured is not None:
                return measured
        query = self.execution_context.query
        if query is None:  # a pre-parsed document: nothing to key it by
            return self.measure(document)
        key = (type(self), query, self.execution_context.operation_name)
        measured = _MEASURED.get(key)
        if measured is None:
            measured = _MEASURED[key] = self.measure(document)
            if len(_MEASURED) > MEASURED_CACHE_SIZE:
                del _MEASURED[next(iter(_MEASURED))]
        return measured

    def measure(self, document: DocumentNode) -> int:
        raise NotImplementedError


class AliasLimit(LimitGuard):
    def measure(self, document: DocumentNode) -> int:
        return alias_count(document)


class DirectiveLimit(LimitGuard):
    def measure(self, document: DocumentNode) -> int:
        return directive_count(document)


class DepthLimit(LimitGuard):
    def on_parse(self) -> Iterator[None]:
        yield
        # The parser gives up on nesting beyond Python's recursion limit (~200 levels):
        # not a configurable limit (no shadow), but still a refusal to log.
        if tag_errors(
            self.execution_context.pre_execution_errors,
            NESTED_TOO_DEEPLY,
            GuardCode.DEPTH_LIMIT_EXCEEDED,
        ):
            log_refusal(self.execution_context, GuardCode.DEPTH_LIMIT_EXCEEDED)

    def measure(self, document: DocumentNode) -> int:
        return depth(document)


class MutationLimit(LimitGuard):
    def measure(self, document: DocumentNode) -> int:
        return mutation_count(document, self.execution_context.operation_name)
