"""The cost structure of a document, compiled once and evaluated per request.

Cost model (documented contract, see also :func:`schema.guards.cost.field_cost`):

* a field returning an object, interface or union costs 1, a scalar or enum 0,
  unless the field declares its own cost;
* a field returning a list of objects costs ``page size * (own cost + cost of its
  selections)``, the page size being the larger of its ``first`` / ``last``
  arguments (literal or variable alike), else the argument's schema default, else a
  declared ``list_size``; without one, or outside ``1..max_page_size``, the request
  is refused (BAD_USER_INPUT). Lists of scalars are not paginated and cost 0;
* fragments and inline fragments add their selections, a fragment once per spread;
  aliases are separate fields; introspection fields are free (gated separately).

The plan is a DAG (a fragment's selections are compiled once and shared), and it is
evaluated fragment by fragment in dependency order, so evaluation is linear in the
document however the fragments fan out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
)

from schema.guards.errors import GuardCode, refusal
from schema.guards.fragments import dependency_order, fragment_definitions, spread_names
from schema.guards.limits import saturate

PAGE_ARGUMENTS = ("first", "last")
COST_METADATA_KEY = "opendesk.cost"


@dataclass(frozen=True, slots=True)
class FieldCost:
    """What a field declares about its cost (``strawberry.field(metadata=...)``)."""

    cost: int = 1
    list_size: int | None = None


@dataclass(frozen=True, slots=True)
class Variable:
    name: str


@dataclass(frozen=True, slots=True)
class FieldPlan:
    key: str  # response key, for messages
    own_cost: int
    paginated: bool
    page_args: tuple[int | Variable | None, ...]
    default_page_size: int | None
    children: Selections


# A fragment name stands for that fragment's selections.
Selections = tuple[FieldPlan | str, ...]


@dataclass(frozen=True, slots=True)
class CostPlan:
    operations: dict[str | None, Selections]
    fragments: dict[str, Selections]
    fragment_order: tuple[str, ...]
    fragment_spreads: dict[str, tuple[str, ...]]

    def operation(self, name: str | None) -> Selections:
        if name is None and len(self.operations) == 1:
            return next(iter(self.operations.values()))
        return self.operations.get(name, ())


def declared_cost(field: GraphQLField) -> FieldCost | None:
    definition = (field.extensions or {}).get("strawberry-definition")
    metadata = getattr(definition, "metadata", None) or {}
    declared = metadata.get(COST_METADATA_KEY)
    return declared if isinstance(declared, FieldCost) else None


def _page_arg(field: FieldNode, name: str) -> tuple[bool, int | Variable | None]:
    for argument in field.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, IntValueNode):
                return True, int(value.value)
            if isinstance(value, VariableNode):
                return True, Variable(value.name.value)
            return True, None
    return False, None


def _field_plan(node: FieldNode, field: GraphQLField, schema: GraphQLSchema) -> FieldPlan:
    named = get_named_type(field.type)
    composite = is_composite_type(named)
    declared = declared_cost(field)
    defaults = [
        argument.default_value
        for name, argument in field.args.items()
        if name in PAGE_ARGUMENTS and argument.default_value not in (Undefined, None)
    ]
    default_page_size = declared.list_size if declared and declared.list_size else None
    if default_page_size is None and defaults:
        default_page_size = max(value for value in defaults if isinstance(value, int))
    page_args = []
    for name in PAGE_ARGUMENTS:
        given, value = _page_arg(node, name)
        if given:
            page_args.append(value)
    children = _compile(node.selection_set, named, schema) if node.selection_set else ()
    return FieldPlan(
        key=node.alias.value if node.alias else node.name.value,
        own_cost=declared.cost if declared else int(composite),
        # Lists, and connection-style objects that take a page size (``tickets(first:)``
        # returning a connection whose ``edges`` declare ``list_size=1``), multiply.
        paginated=composite
        and (
            is_list_type(get_nullable_type(field.type))
            or any(name in field.args for name in PAGE_ARGUMENTS)
        ),
        page_args=tuple(page_args),
        default_page_size=default_page_size,
        children=children,
    )


def _compile(
    selection_set: SelectionSetNode, parent: GraphQLNamedType | None, schema: GraphQLSchema
) -> Selections:
    compiled: list[FieldPlan | str] = []
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            compiled.append(selection.name.value)
        elif isinstance(selection, FieldNode):
            fields = (
                parent.fields
                if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
                else {}
            )
            field = fields.get(selection.name.value)
            # Unknown and introspection fields: validation refuses / the gate decides.
            if field is not None and not selection.name.value.startswith("__"):
                compiled.append(_field_plan(selection, field, schema))
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            inner = schema.get_type(condition.name.value) if condition else parent
            compiled.extend(_compile(selection.selection_set, inner, schema))
    return tuple(compiled)


def compile_plan(schema: GraphQLSchema, document: DocumentNode) -> CostPlan:
    """Compile the cost structure of every operation and fragment in ``document``."""
    definitions = fragment_definitions(document)
    fragments = {
        name: _compile(
            fragment.selection_set, schema.get_type(fragment.type_condition.name.value), schema
        )
        for name, fragment in definitions.items()
    }
    operations: dict[str | None, Selections] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            root = schema.get_root_type(definition.operation)
            name = definition.name.value if definition.name else None
            operations[name] = _compile(definition.selection_set, root, schema)
    return CostPlan(
        operations=operations,
        fragments=fragments,
        fragment_order=tuple(dependency_order(definitions)),
        fragment_spreads={
            name: tuple(spread_names(fragment.selection_set))
            for name, fragment in definitions.items()
        },
    )


def _top_level_spreads(selections: Selections) -> set[str]:
    found: set[str] = set()
    pending = [selections]
    while pending:
        for item in pending.pop():
            if isinstance(item, str):
                found.add(item)
            else:
                pending.append(item.children)
    return found


def _reachable(plan: CostPlan, selections: Selections) -> set[str]:
    reached: set[str] = set()
    pending = list(_top_level_spreads(selections))
    while pending:
        name = pending.pop()
        if name not in reached and name in plan.fragments:
            reached.add(name)
            pending.extend(plan.fragment_spreads.get(name, ()))
    return reached


def _page_size(field: FieldPlan, variables: Mapping[str, Any], max_page_size: int) -> int:
    given = [
        variables.get(value.name) if isinstance(value, Variable) else value
        for value in field.page_args
    ]
    sizes = [size for size in given if size is not None]
    size = max(sizes) if sizes else field.default_page_size
    if not isinstance(size, int) or not 1 <= size <= max_page_size:
        raise refusal(
            f"List field '{field.key}' needs `first` or `last` between 1 and {max_page_size}.",
            GuardCode.BAD_USER_INPUT,
            field=field.key,
            maxPageSize=max_page_size,
        )
    return size


def _cost(
    selections: Selections,
    fragment_costs: Mapping[str, int],
    variables: Mapping[str, Any],
    max_page_size: int,
) -> int:
    total = 0
    for item in selections:
        if isinstance(item, str):
            total += fragment_costs.get(item, 0)
            continue
        per_item = item.own_cost + _cost(item.children, fragment_costs, variables, max_page_size)
        count = _page_size(item, variables, max_page_size) if item.paginated else 1
        total += count * per_item
    return saturate(total)


def evaluate(
    plan: CostPlan,
    operation_name: str | None,
    variables: Mapping[str, Any],
    max_page_size: int,
) -> int:
    """Cost of one operation with coerced ``variables``; raises a BAD_USER_INPUT
    GraphQLError for a missing or out-of-range page size."""
    selections = plan.operation(operation_name)
    reachable = _reachable(plan, selections)
    fragment_costs: dict[str, int] = {}
    for name in plan.fragment_order:
        if name in reachable:
            fragment_costs[name] = _cost(
                plan.fragments[name], fragment_costs, variables, max_page_size
            )
    return _cost(selections, fragment_costs, variables, max_page_size)
