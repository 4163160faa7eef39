"""The policy table compiled into per-field decisions, once, at schema build.

For each (type, field) and each possible set of audiences a principal can have, a
``Decision`` says: statically full, masked or denied — or relation-dependent, with the
grants to try (best first) and the floor that applies when none of their relations hold.
The semantics are exactly ``policy.access_for``; this only moves the work out of requests.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema
from strawberry.schema.config import StrawberryConfig
from strawberry.types.base import (
    StrawberryContainer,
    StrawberryObjectDefinition,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType
from strawberry.types.union import StrawberryUnion

from permissions.policy import (
    DENIED,
    POLICY,
    ROLE_AUDIENCES,
    SCOPE_AUDIENCES,
    Access,
    Audience,
    FieldRule,
    Level,
    PolicyError,
    Relation,
    Subject,
    check_policy,
)
from permissions.relations import DEFERRED
from privacy.masking import MaskStrategy


class Kind(IntEnum):
    DENIED = Level.DENIED
    MASKED = Level.MASKED
    FULL = Level.FULL
    RELATIONAL = 3


@dataclass(frozen=True, slots=True)
class Decision:
    kind: Kind
    strategy: MaskStrategy | None = None
    # RELATIONAL only: grants better than the floor, best first; the floor is ANY's grant.
    grants: tuple[tuple[Relation, Access], ...] = ()
    floor: Access = DENIED
    deferred: frozenset[Relation] = frozenset()

    def settle(self, relations: frozenset[Relation]) -> Access | None:
        """The access given the record-readable relations, or None when a deferred
        relation (needing a query) could still change it. (A deferred grant ranked
        before the held one changes nothing when it gives the same access.)"""
        pending: Access | None = None  # the first deferred grant ranked so far
        for relation, access in self.grants:
            if relation in relations:
                return access if pending is None or pending == access else None
            if relation in self.deferred:
                if pending is not None and pending != access:
                    return None
                pending = access
        return self.floor if pending is None else None

    def settle_all(self, relations: frozenset[Relation]) -> Access:
        for relation, access in self.grants:
            if relation in relations:
                return access
        return self.floor


def _decide(rule: FieldRule, subject: Subject, audiences: Iterable[Audience]) -> Decision:
    best: dict[Relation, Access] = {}
    for audience in audiences:
        for relation, access in rule.get(audience, {}).items():
            if access.level > best.get(relation, DENIED).level:
                best[relation] = access
    floor = best.pop(Relation.ANY, DENIED)
    grants = sorted(
        ((r, a) for r, a in best.items() if a.level > floor.level),
        key=lambda grant: (-grant[1].level, grant[0].value),
    )
    if not grants:
        return Decision(Kind(floor.level), floor.strategy)
    deferred = frozenset(r for r, _ in grants) & DEFERRED.get(subject, frozenset())
    return Decision(Kind.RELATIONAL, grants=tuple(grants), floor=floor, deferred=deferred)


def _audience_sets() -> list[frozenset[Audience]]:
    # Exactly what policy.audiences_of can return: one role, anonymous, or a set of scopes.
    sets = [frozenset({Audience.anonymous})]
    sets += [frozenset({audience}) for audience in ROLE_AUDIENCES.values()]
    scopes = sorted(set(SCOPE_AUDIENCES.values()))
    for size in range(len(scopes) + 1):
        sets += [frozenset(combo) for combo in itertools.combinations(scopes, size)]
    return sets


AUDIENCE_SETS = _audience_sets()


class CompiledField:
    """One field's decisions for every audience set (others computed on first use)."""

    __slots__ = ("decisions", "field_name", "has_entry", "rule", "subject", "type_name")

    def __init__(self, type_name: str, field_name: str) -> None:
        type_policy = POLICY.get(type_name)
        self.type_name = type_name
        self.field_name = field_name
        self.subject = type_policy.subject if type_policy else Subject.NONE
        rule = type_policy.fields.get(field_name) if type_policy else None
        self.has_entry = rule is not None
        self.rule: FieldRule = rule or {}
        self.decisions: dict[frozenset[Audience], Decision] = {
            audiences: self.decide(audiences) for audiences in AUDIENCE_SETS
        }

    def decide(self, audiences: frozenset[Audience]) -> Decision:
        return _decide(self.rule, self.subject, audiences)

    @property
    def full_for_everyone(self) -> bool:
        """Full for every audience, whatever the object: public, so no check is needed.

        (A partner without known scopes has no audience; it sees these too, which is
        no more than an anonymous caller sees.)
        """
        return all(self.decide(frozenset({a})).kind is Kind.FULL for a in Audience)

    @property
    def masks(self) -> bool:
        return any(
            access.level is Level.MASKED
            for grants in self.rule.values()
            for access in grants.values()
        )


check_policy(POLICY)
_REGISTRY: dict[tuple[str, str], CompiledField] = {}


def compiled(type_name: str, field_name: str) -> CompiledField:
    key = (type_name, field_name)
    found = _REGISTRY.get(key)
    if found is None:
        found = _REGISTRY[key] = CompiledField(type_name, field_name)
    return found


def decisions_for(type_name: str, field_name: str, audiences: frozenset[Audience]) -> Decision:
    field = compiled(type_name, field_name)
    decision = field.decisions.get(audiences)
    return decision if decision is not None else field.decide(audiences)


def check_field_type(field: CompiledField, strawberry_field: StrawberryField) -> None:
    """Masked values are text: a masked field must be a (nullable) String."""
    field_type: Any = strawberry_field.type
    if isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    if field.masks and field_type is not str:
        raise PolicyError(
            f"{field.type_name}.{field.field_name} is masked but is not a String field"
        )


def _named_types(field_type: Any) -> Iterator[Any]:
    if isinstance(field_type, StrawberryContainer):
        yield from _named_types(field_type.of_type)
    elif isinstance(field_type, LazyType):
        yield from _named_types(field_type.resolve_type())
    elif isinstance(field_type, StrawberryUnion):
        for member in field_type.types:
            yield from _named_types(member)
    else:
        yield field_type


def walk_object_fields(
    roots: Iterable[type], config: StrawberryConfig | None = None
) -> Iterator[tuple[str, str, StrawberryField]]:
    """(GraphQL type name, GraphQL field name, field) for every output object type
    reachable from ``roots``, each once."""
    names = (config or StrawberryConfig(auto_camel_case=True)).name_converter
    pending = [root for root in roots if has_object_definition(root)]
    seen: set[int] = set()
    while pending:
        definition: StrawberryObjectDefinition = pending.pop().__strawberry_definition__
        if id(definition) in seen or definition.is_input:
            continue
        seen.add(id(definition))
        for field in definition.fields:
            yield definition.name, names.get_graphql_name(field), field
            for named in _named_types(field.type):
                if has_object_definition(named):
                    pending.append(named)


def missing_entries(schema: GraphQLSchema) -> list[str]:
    """``Type.field`` of every output field in ``schema`` that the table does not cover."""
    missing = []
    for type_name, graphql_type in sorted(schema.type_map.items()):
        if type_name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name in graphql_type.fields:
            type_policy = POLICY.get(type_name)
            if type_policy is None or field_name not in type_policy.fields:
                missing.append(f"{type_name}.{field_name}")
    return missing
