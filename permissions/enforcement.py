"""Applies the field policy (``permissions.policy``) to every field of the schema.

Two parts, both generated from the one table:

- ``install_field_policy(Query, Mutation)`` checks the table against every field
  reachable from the roots before the schema is built; ``enforce_field_policy(schema)``
  then puts the resolver of every field of the built schema behind that field's
  decisions, precomputed per audience set. A field with no table entry is denied to
  everyone (and ``missing_entries`` names it). Fields that are full for everyone are left
  alone, so they keep strawberry's fast path.
- ``FieldPolicyGate`` (a schema extension) walks a mutation's document before execution
  and refuses the whole operation when it selects a field the principal can never see,
  so no resolver with side effects runs for it. Queries are side-effect free: their
  never-visible fields resolve to null with a FORBIDDEN error, without running their
  resolver, and their siblings resolve.

At resolve time a field that is statically full, masked or denied for the principal's
audiences costs one dict lookup and no await; only a relation-dependent field reads the
object's relations (memoised per request, see ``permissions.relations``) and only a
relation that needs the database makes it await (batched per list).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Container, Iterable, Iterator, Mapping
from inspect import isawaitable
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    default_field_resolver,
    get_named_type,
    get_operation_ast,
    visit,
)
from strawberry.extensions import SchemaExtension

from core.errors import Forbidden
from permissions.compiled import (
    CompiledField,
    Decision,
    Kind,
    check_field_type,
    compiled,
    decisions_for,
    missing_entries,
    walk_object_fields,
)
from permissions.policy import POLICY, Audience, Level, PolicyError, Subject, audiences_of
from permissions.principal import ANONYMOUS, Principal
from permissions.relations import DEFERRED, RequestRelations
from privacy.masking import MaskStrategy, mask

__all__ = [
    "FieldPolicyGate",
    "PolicyView",
    "enforce_field_policy",
    "enforced_policy",
    "install_field_policy",
    "missing_entries",
    "statically_denied_fields",
    "view_of",
]

# The attribute of the request context that holds the request's PolicyView.
CONTEXT_ATTRIBUTE = "field_policy"


class PolicyView:
    """One request's view of the policy: the principal's audiences and relations."""

    __slots__ = ("audiences", "principal", "relations", "selects_deferred")

    def __init__(
        self, principal: Principal, assigned_facts: Mapping[uuid.UUID, bool] | None = None
    ) -> None:
        self.principal = principal
        self.audiences = audiences_of(principal)
        self.relations = RequestRelations(principal, assigned_facts)
        # (field node id, type name) -> does that selection need a deferred relation?
        self.selects_deferred: dict[tuple[int, str], bool] = {}


def view_of(context: Any) -> PolicyView:
    """The request's PolicyView, made on first use and kept on the context.

    A context without a principal is treated as anonymous (fail closed).
    """
    principal = getattr(context, "principal", ANONYMOUS)
    view = getattr(context, CONTEXT_ATTRIBUTE, None)
    if isinstance(view, PolicyView) and view.principal is principal:
        return view
    view = PolicyView(principal, _assigned_facts(context, principal))
    # A context that cannot hold it still gets correct answers, just not memoised.
    with contextlib.suppress(AttributeError):
        setattr(context, CONTEXT_ATTRIBUTE, view)
    return view


def _assigned_facts(context: Any, principal: Principal) -> Mapping[uuid.UUID, bool] | None:
    """What the request's users loader learnt of the ASSIGNED_AGENT relation, if it
    loads for this very principal."""
    loaders = getattr(context, "loaders", None)
    if getattr(loaders, "principal", None) is not principal:
        return None
    facts: Mapping[uuid.UUID, bool] | None = getattr(loaders, "assigned_facts", None)
    return facts


class _PolicyResolver:
    """One field's resolver behind its precomputed decisions. Never hand-applied: see
    :func:`enforce_field_policy`.

    A plain callable in graphql-core's place for the field's resolver, not a strawberry
    field extension: an extension takes the field off strawberry's fast path for plain
    attributes (an Info object, argument conversion and an extension chain per value),
    which on a 50-row page cost more than the decisions themselves.
    """

    __slots__ = ("compiled", "inner")

    def __init__(self, compiled: CompiledField, inner: Any) -> None:
        self.compiled = compiled
        self.inner = inner

    def _decision(self, view: PolicyView) -> Decision:
        decisions = self.compiled.decisions
        decision = decisions.get(view.audiences)
        if decision is None:
            decision = decisions[view.audiences] = self.compiled.decide(view.audiences)
        return decision

    def __call__(self, source: Any, info: Any, **kwargs: Any) -> Any:
        view = view_of(info.context)
        decision = self._decision(view)
        kind = decision.kind
        if kind is Kind.FULL:
            return self.inner(source, info, **kwargs)
        if kind is Kind.DENIED:
            raise Forbidden()
        if kind is Kind.MASKED:
            return _masked(self.inner(source, info, **kwargs), decision.strategy)
        relations, complete = view.relations.known(self.compiled.subject, source)
        access = decision.settle_all(relations) if complete else decision.settle(relations)
        if access is None:
            return self._resolve_deferred(decision, view, source, info, kwargs)
        # Decided before the resolver runs: a denied field's resolver (and, for contact
        # data, its decryption) never runs.
        if access.level is Level.DENIED:
            raise Forbidden()
        value = self.inner(source, info, **kwargs)
        return _masked(value, access.strategy) if access.level is Level.MASKED else value

    async def _resolve_deferred(
        self, decision: Decision, view: PolicyView, source: Any, info: Any, kwargs: Any
    ) -> Any:
        relations = await view.relations.with_deferred(self.compiled.subject, source)
        access = decision.settle_all(relations)
        if access.level is Level.DENIED:
            raise Forbidden()
        value = self.inner(source, info, **kwargs)
        if isawaitable(value):
            value = await value
        return mask(value, access.strategy) if access.level is Level.MASKED else value  # type: ignore[arg-type]


def _masked(value: Any, strategy: MaskStrategy | None) -> Any:
    if isawaitable(value):
        return _mask_when_ready(value, strategy)
    return mask(value, strategy)  # type: ignore[arg-type]


async def _mask_when_ready(value: Awaitable[Any], strategy: MaskStrategy | None) -> Any:
    return mask(await value, strategy)  # type: ignore[arg-type]


class _DeferredPrefetch:
    """Loads the deferred relations of the objects a field returns, for the whole list at
    once, before their fields resolve.

    Without it each relation-dependent field of each object would await its own relation
    (batched into one query, but 50 coroutines): graphql-core then completes every object
    and list on its slow asynchronous path. With it those fields decide synchronously.
    Only when the principal's decisions for the returned type depend on a deferred
    relation, the selection asks for such a field and the object's own record does not
    settle it (e.g. one's own user); otherwise nothing is loaded.
    """

    __slots__ = ("deferred", "inner", "subject", "type_name")

    def __init__(self, type_name: str, subject: Subject, inner: Any) -> None:
        self.type_name = type_name
        self.subject = subject
        self.inner = inner
        # Per audience set: the decisions of the type's fields that wait on a deferred
        # relation, by field name.
        self.deferred: dict[frozenset[Audience], dict[str, Decision]] = {}

    def __call__(self, source: Any, info: Any, **kwargs: Any) -> Any:
        value = self.inner(source, info, **kwargs)
        view = view_of(info.context)
        if not self._needed(view, info):
            return value
        return self._prefetched(value, view)

    def _decisions(self, audiences: frozenset[Audience]) -> dict[str, Decision]:
        decisions = self.deferred.get(audiences)
        if decisions is None:
            decisions = self.deferred[audiences] = _deferred_decisions(self.type_name, audiences)
        return decisions

    def _needed(self, view: PolicyView, info: Any) -> bool:
        key = (id(info.field_nodes[0]), self.type_name)
        needed = view.selects_deferred.get(key)
        if needed is None:
            names = self._decisions(view.audiences).keys()
            needed = bool(names) and _selects_any(info.field_nodes, info.fragments, names)
            view.selects_deferred[key] = needed
        return needed

    async def _prefetched(self, value: Any, view: PolicyView) -> Any:
        if isawaitable(value):
            value = await value
        if value is None:
            return value
        items = value if isinstance(value, list | tuple) else (value,)
        unsettled = [item for item in items if self._unsettled(view, item)]
        if len(unsettled) == 1:
            # The usual case (a list's items arrive one field call each, and the relation
            # loader batches them): no task of its own.
            await view.relations.with_deferred(self.subject, unsettled[0])
        elif unsettled:
            await asyncio.gather(
                *(view.relations.with_deferred(self.subject, item) for item in unsettled)
            )
        return value

    def _unsettled(self, view: PolicyView, item: Any) -> bool:
        relations, complete = view.relations.known(self.subject, item)
        return not complete and any(
            decision.settle(relations) is None
            for decision in self._decisions(view.audiences).values()
        )


def _deferred_decisions(type_name: str, audiences: frozenset[Audience]) -> dict[str, Decision]:
    type_policy = POLICY.get(type_name)
    if type_policy is None:
        return {}
    return {
        name: decision
        for name in type_policy.fields
        if (decision := decisions_for(type_name, name, audiences)).kind is Kind.RELATIONAL
        and decision.deferred
    }


def _selects_any(
    nodes: Iterable[FieldNode], fragments: dict[str, Any], names: Container[str]
) -> bool:
    """Does any of these field nodes select one of ``names`` directly (through inline
    fragments and fragment spreads too)?"""
    pending: list[Any] = [node.selection_set for node in nodes if node.selection_set]
    seen: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in names:
                    return True
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in seen:
                    seen.add(name)
                    pending.append(fragment.selection_set)
            elif selection.selection_set is not None:  # an inline fragment
                pending.append(selection.selection_set)
    return False


def install_field_policy(*roots: type) -> list[str]:
    """Check the table against every field reachable from ``roots``, before strawberry
    converts the types; :func:`enforce_field_policy` then applies it to the built schema.

    Returns the ``Type.field`` names without a table entry (denied to everyone). Raises
    PolicyError when a masked field is not text, or when one field object is shared by
    two types (their policies could not differ).
    """
    missing: list[str] = []
    owners: dict[int, str] = {}
    for type_name, field_name, field in walk_object_fields(roots):
        policy = compiled(type_name, field_name)
        check_field_type(policy, field)
        if not policy.has_entry:
            missing.append(f"{type_name}.{field_name}")
        name = f"{type_name}.{field_name}"
        owner = owners.setdefault(id(field), name)
        if owner != name:
            raise PolicyError(f"{name} shares its field with {owner}")
    return missing


def enforce_field_policy(schema: GraphQLSchema) -> None:
    """Put every output field of ``schema`` behind its decisions; idempotent.

    Every object type's every field is covered (a field without a table entry is denied
    to everyone); fields that are full for everyone are left alone, so they keep
    strawberry's fast path. A field returning objects whose subject has deferred
    relations also loads those for all it returns (:class:`_DeferredPrefetch`).
    """
    for type_name, graphql_type in schema.type_map.items():
        if type_name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name, field in graphql_type.fields.items():
            if isinstance(field.resolve, _DeferredPrefetch | _PolicyResolver):
                continue
            resolve = field.resolve or default_field_resolver
            policy = compiled(type_name, field_name)
            if not policy.full_for_everyone:
                resolve = _PolicyResolver(policy, resolve)
            returned = get_named_type(field.type)
            returned_policy = POLICY.get(returned.name)
            if returned_policy is not None and returned_policy.subject in DEFERRED:
                resolve = _DeferredPrefetch(returned.name, returned_policy.subject, resolve)
            field.resolve = resolve


def enforced_policy(field: GraphQLField) -> CompiledField | None:
    """The policy ``field`` resolves behind, if any (for tests and reviewers)."""
    resolve = field.resolve
    if isinstance(resolve, _DeferredPrefetch):
        resolve = resolve.inner
    return resolve.compiled if isinstance(resolve, _PolicyResolver) else None


def statically_denied_fields(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    view: PolicyView,
) -> list[FieldNode]:
    """Fields of ``operation`` (and its fragments) the principal can never see."""
    type_info = TypeInfo(schema)
    denied: list[FieldNode] = []

    class _Walk(Visitor):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> Any:
            return None if node is operation else self.SKIP

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            parent = type_info.get_parent_type()
            name = node.name.value
            if parent is None or name.startswith("__"):
                return
            if decisions_for(parent.name, name, view.audiences).kind is Kind.DENIED:
                denied.append(node)

    visit(document, TypeInfoVisitor(type_info, _Walk()))
    return denied


class FieldPolicyGate(SchemaExtension):
    """Refuses a mutation selecting never-visible fields, before anything executes.

    Runs in ``on_execute`` after validation (variables known, document valid); a refusal
    becomes the result, so graphql-core never runs a resolver. Leaves a result set by an
    earlier guard alone.
    """

    def on_execute(self) -> Iterator[None]:
        execution_context = self.execution_context
        document = execution_context.graphql_document
        if execution_context.result is None and document is not None:
            operation = get_operation_ast(document, execution_context.operation_name)
            if operation is not None and operation.operation is OperationType.MUTATION:
                view = view_of(execution_context.context)
                denied = statically_denied_fields(
                    execution_context.schema._schema, document, operation, view
                )
                if denied:
                    execution_context.result = ExecutionResult(
                        data=None,
                        errors=[
                            GraphQLError(
                                Forbidden().message, node, extensions={"code": Forbidden.code}
                            )
                            for node in denied
                        ],
                    )
        yield
