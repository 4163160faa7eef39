"""The table covers the schema, means one thing, and its printed copy is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import strawberry
from graphql import GraphQLObjectType

from permissions.compiled import AUDIENCE_SETS, Kind, compiled, missing_entries
from permissions.enforcement import (
    enforce_field_policy,
    enforced_policy,
    install_field_policy,
)
from permissions.policy import (
    FULL,
    POLICY,
    SUBJECT_RELATIONS,
    Level,
    PolicyError,
    Relation,
    Subject,
    TypePolicy,
    access_for,
    check_policy,
    masked,
)
from permissions.relations import DEFERRED
from permissions.show import render_markdown
from privacy.masking import MaskStrategy
from schema.build import SchemaConfig, build_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = build_schema(SchemaConfig())


def test_every_field_of_the_schema_has_a_policy_entry() -> None:
    missing = missing_entries(SCHEMA._schema)
    assert not missing, "fields without a policy entry (denied to everyone): " + ", ".join(missing)


def test_every_policy_entry_names_a_field_of_the_schema() -> None:
    type_map = SCHEMA._schema.type_map
    stale = [
        f"{type_name}.{field_name}"
        for type_name, type_policy in POLICY.items()
        for field_name in type_policy.fields
        if type_name not in type_map or field_name not in getattr(type_map[type_name], "fields", {})
    ]
    assert not stale, stale


def test_a_field_missing_from_the_table_is_denied_to_everyone() -> None:
    field = compiled("Query", "noSuchFieldInTheTable")
    assert not field.has_entry
    assert {d.kind for d in field.decisions.values()} == {Kind.DENIED}


def test_every_non_public_field_resolves_behind_its_policy() -> None:
    checked = 0
    for type_name, graphql_type in SCHEMA._schema.type_map.items():
        if type_name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name, field in graphql_type.fields.items():
            policy = compiled(type_name, field_name)
            enforced = enforced_policy(field)
            assert (enforced is None) is policy.full_for_everyone, f"{type_name}.{field_name}"
            assert enforced is None or enforced is policy
            checked += 1
    assert checked > 100


def test_enforcing_twice_wraps_each_resolver_once() -> None:
    ticket = SCHEMA._schema.type_map["Ticket"]
    assert isinstance(ticket, GraphQLObjectType)
    before = {name: field.resolve for name, field in ticket.fields.items()}

    enforce_field_policy(SCHEMA._schema)

    assert {name: field.resolve for name, field in ticket.fields.items()} == before


@strawberry.type
class SharingLeaf:
    value: str


@strawberry.type
class SharingRoot:
    first: SharingLeaf
    second: SharingLeaf


def test_one_field_object_under_two_names_is_refused() -> None:
    # Two fields of one type are not shared; sharing is one StrawberryField in two types.
    assert install_field_policy(SharingRoot) == [
        "SharingRoot.first",
        "SharingRoot.second",
        "SharingLeaf.value",
    ]
    leaf_fields = SharingLeaf.__strawberry_definition__.fields  # type: ignore[attr-defined]
    leaf_fields.append(SharingRoot.__strawberry_definition__.fields[0])  # type: ignore[attr-defined]
    try:
        with pytest.raises(PolicyError, match="shares its field"):
            install_field_policy(SharingRoot)
    finally:
        leaf_fields.pop()


@pytest.mark.parametrize("type_name", sorted(POLICY))
def test_compiled_decisions_mean_what_the_table_says(type_name: str) -> None:
    """Every field x audience set x combination of holding relations."""
    type_policy = POLICY[type_name]
    relations = sorted(SUBJECT_RELATIONS[type_policy.subject])
    combos = [
        frozenset(r for i, r in enumerate(relations) if mask_bits >> i & 1)
        for mask_bits in range(2 ** len(relations))
    ]
    for field_name, rule in type_policy.fields.items():
        field = compiled(type_name, field_name)
        for audiences in AUDIENCE_SETS:
            decision = field.decisions[audiences]
            for holding in combos:
                expected = access_for(rule, audiences, holding)
                if decision.kind is Kind.RELATIONAL:
                    settled = decision.settle(
                        holding - DEFERRED.get(type_policy.subject, frozenset())
                    )
                    if settled is None:
                        settled = decision.settle_all(holding)
                    got = settled
                else:
                    got = decision.floor if decision.kind is Kind.RELATIONAL else None
                    got = {Kind.FULL: FULL}.get(decision.kind) or (
                        masked(decision.strategy) if decision.kind is Kind.MASKED else None  # type: ignore[arg-type]
                    )
                    if got is None:
                        assert expected.level is Level.DENIED, (
                            type_name,
                            field_name,
                            audiences,
                            holding,
                        )
                        continue
                assert got == expected, (type_name, field_name, sorted(audiences), sorted(holding))


def test_a_relation_the_subject_cannot_evaluate_is_refused_at_build() -> None:
    bad = {"X": TypePolicy(Subject.ORGANISATION, {"f": {"customer": {Relation.SELF: FULL}}})}  # type: ignore[dict-item]
    with pytest.raises(PolicyError, match=r"X\.f"):
        check_policy(bad)  # type: ignore[arg-type]


def test_two_masking_strategies_on_one_field_are_refused_at_build() -> None:
    bad = {
        "X": TypePolicy(
            Subject.NONE,
            {
                "f": {
                    "customer": {Relation.ANY: masked(MaskStrategy.EMAIL)},
                    "agent": {Relation.ANY: masked(MaskStrategy.NAME)},
                }
            },  # type: ignore[dict-item]
        )
    }
    with pytest.raises(PolicyError, match="one masking strategy"):
        check_policy(bad)  # type: ignore[arg-type]


def test_checked_in_policy_markdown_is_current() -> None:
    checked_in = (ROOT / "docs" / "security" / "POLICY.md").read_text(encoding="utf-8")
    assert checked_in == render_markdown(), (
        "docs/security/POLICY.md is stale: run "
        "`opendesk policy show --markdown > docs/security/POLICY.md`"
    )


@pytest.mark.parametrize("arguments", [[], ["--markdown"]])
def test_policy_show_prints_the_table(arguments: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "policy", "show", *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    if arguments:
        assert done.stdout == render_markdown()
    else:
        assert "User (user)\n  contactVisibility\n" in done.stdout
        assert "masked(email)" in done.stdout
