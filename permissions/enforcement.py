"""Applies the field policy (``permissions.policy``) to every field of the schema.

Two parts, both generated from the one table:

- ``install_field_policy(Query, Mutation)`` walks every object type reachable from the
  roots at schema build and gives each field a ``FieldPolicyExtension`` holding that
  field's decisions, precomputed per audience set. A field with no table entry is denied
  to everyone (and ``missing_entries`` names it). Fields that are full for everyone get no
  extension at all, so they keep strawberry's fast path.
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

import contextlib
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_operation_ast,
    visit,
)
from strawberry.extensions import FieldExtension, SchemaExtension

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
from permissions.policy import Level, PolicyError, audiences_of
from permissions.principal import ANONYMOUS, Principal
from permissions.relations import RequestRelations
from privacy.masking import mask

__all__ = [
    "FieldPolicyExtension",
    "FieldPolicyGate",
    "PolicyView",
    "install_field_policy",
    "missing_entries",
    "statically_denied_fields",
    "view_of",
]

# The attribute of the request context that holds the request's PolicyView.
CONTEXT_ATTRIBUTE = "field_policy"


class PolicyView:
    """One request's view of the policy: the principal's audiences and relations."""

    __slots__ = ("audiences", "principal", "relations")

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.audiences = audiences_of(principal)
        self.relations = RequestRelations(principal)


def view_of(context: Any) -> PolicyView:
    """The request's PolicyView, made on first use and kept on the context.

    A context without a principal is treated as anonymous (fail closed).
    """
    principal = getattr(context, "principal", ANONYMOUS)
    view = getattr(context, CONTEXT_ATTRIBUTE, None)
    if isinstance(view, PolicyView) and view.principal is principal:
        return view
    view = PolicyView(principal)
    # A context that cannot hold it still gets correct answers, just not memoised.
    with contextlib.suppress(AttributeError):
        setattr(context, CONTEXT_ATTRIBUTE, view)
    return view


class FieldPolicyExtension(FieldExtension):
    """Enforces one field's precomputed decisions. Never hand-applied: see install."""

    def __init__(self, compiled: CompiledField) -> None:
        self.compiled = compiled

    def _decision(self, view: PolicyView) -> Decision:
        decisions = self.compiled.decisions
        decision = decisions.get(view.audiences)
        if decision is None:
            decision = decisions[view.audiences] = self.compiled.decide(view.audiences)
        return decision

    def resolve(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        view = view_of(info.context)
        decision = self._decision(view)
        if decision.kind is Kind.FULL:
            return next_(source, info, **kwargs)
        if decision.kind is Kind.DENIED:
            raise Forbidden()
        if decision.kind is Kind.MASKED:
            return mask(next_(source, info, **kwargs), decision.strategy)  # type: ignore[arg-type]
        access = decision.settle(view.relations.of(self.compiled.subject, source))
        if access is None:
            return self._resolve_deferred(decision, view, next_, source, info, kwargs)
        if access.level is Level.DENIED:
            raise Forbidden()
        value = next_(source, info, **kwargs)
        return mask(value, access.strategy) if access.level is Level.MASKED else value  # type: ignore[arg-type]

    async def _resolve_deferred(
        self,
        decision: Decision,
        view: PolicyView,
        next_: Any,
        source: Any,
        info: Any,
        kwargs: dict[str, Any],
    ) -> Any:
        relations = await view.relations.with_deferred(self.compiled.subject, source)
        access = decision.settle_all(relations)
        if access.level is Level.DENIED:
            raise Forbidden()
        value = next_(source, info, **kwargs)
        return mask(value, access.strategy) if access.level is Level.MASKED else value  # type: ignore[arg-type]

    async def resolve_async(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        view = view_of(info.context)
        decision = self._decision(view)
        if decision.kind is Kind.FULL:
            return await next_(source, info, **kwargs)
        if decision.kind is Kind.DENIED:
            raise Forbidden()
        strategy = decision.strategy if decision.kind is Kind.MASKED else None
        if decision.kind is Kind.RELATIONAL:
            access = decision.settle(view.relations.of(self.compiled.subject, source))
            if access is None:
                relations = await view.relations.with_deferred(self.compiled.subject, source)
                access = decision.settle_all(relations)
            if access.level is Level.DENIED:
                raise Forbidden()
            if access.level is Level.MASKED:
                strategy = access.strategy
        # Decided before the resolver runs: a denied field's resolver (and, for contact
        # data, its decryption) never runs.
        value = await next_(source, info, **kwargs)
        return mask(value, strategy) if strategy is not None else value


def install_field_policy(*roots: type) -> list[str]:
    """Give every field reachable from ``roots`` its policy extension; idempotent.

    Call before building the strawberry Schema (extensions are read when types are
    converted). Returns the ``Type.field`` names without a table entry (denied to
    everyone). Raises PolicyError when a masked field is not text, or when one field
    object is shared by two types (their policies could not differ).
    """
    missing: list[str] = []
    for type_name, field_name, field in walk_object_fields(roots):
        policy = compiled(type_name, field_name)
        check_field_type(policy, field)
        if not policy.has_entry:
            missing.append(f"{type_name}.{field_name}")
        kept = []
        for extension in field.extensions:
            if not isinstance(extension, FieldPolicyExtension):
                kept.append(extension)
            elif extension.compiled is not policy:
                raise PolicyError(
                    f"{type_name}.{field_name} shares its field with "
                    f"{extension.compiled.type_name}.{extension.compiled.field_name}"
                )
        if not policy.full_for_everyone:
            kept.append(FieldPolicyExtension(policy))
        field.extensions = kept
    return missing


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
