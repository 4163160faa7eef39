"""Walking a document through its fragments, each fragment once.

strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter`` re-walk a fragment at
every spread, so ``fragment A { ...B ...B } fragment B { ...C ...C } ...`` costs
2^n steps (n=22 already took ~30 s in our measurements), and the depth limiter
raises KeyError on an unknown fragment. Here each fragment is measured once, in
dependency order and without recursion across fragments, so a guard's work is
linear in the document and a fragment chain as long as the token limit allows
cannot exhaust the Python stack. Cycles and unknown fragments measure as empty;
graphql-core's NoFragmentCyclesRule / KnownFragmentNamesRule report them later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

T = TypeVar("T")

# A measure of one selection set, given the measures of the fragments it may spread.
Measure = Callable[[SelectionSetNode, Mapping[str, T]], T]


def fragment_definitions(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def spread_names(selection_set: SelectionSetNode | None) -> Iterator[str]:
    """Names of fragments spread anywhere inside ``selection_set`` (not through them)."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            yield selection.name.value
        elif isinstance(selection, FieldNode | InlineFragmentNode):
            yield from spread_names(selection.selection_set)


def dependency_order(fragments: Mapping[str, FragmentDefinitionNode]) -> list[str]:
    """Fragment names, each after every fragment it spreads (cycle edges dropped)."""
    order: list[str] = []
    state: dict[str, bool] = {}  # False: on the DFS stack, True: finished
    for root in fragments:
        if root in state:
            continue
        state[root] = False
        stack = [(root, iter(list(spread_names(fragments[root].selection_set))))]
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                state[name] = True
                order.append(name)
            elif child in fragments and child not in state:
                state[child] = False
                stack.append((child, iter(list(spread_names(fragments[child].selection_set)))))
    return order


def measure_fragments(document: DocumentNode, measure: Measure[T]) -> dict[str, T]:
    """Measure every fragment of ``document`` once; spreads see earlier results."""
    fragments = fragment_definitions(document)
    measured: dict[str, T] = {}
    for name in dependency_order(fragments):
        measured[name] = measure(fragments[name].selection_set, measured)
    return measured
