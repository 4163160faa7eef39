"""Random queries over the whole schema, for random principals, never leak.

A fixed world holds a distinct sentinel in every personal or restricted value. For each
generated query and principal, every sentinel the table (with the principal's relation
to its object) does not grant in full — and every internal comment for non-staff — must
be absent from the whole response: data, error messages and extensions.

Users call through their browser sessions (so ``mySessions`` answers), one of them an
admin who has not enrolled MFA yet (the ``pending_mfa`` audience); the world also holds
a partner API key and an IP block, whose root fields only admins may read. A marketing
partner of Acme may see the email and name of Acme's users who consented to marketing
(Bob), through ``marketingContacts``, and nothing else.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
    is_required_argument,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.services.api_keys import create_api_key
from accounts.services.identity import Identity
from accounts.services.marketing import MARKETING_PURPOSE
from accounts.tables import Organisation
from audit.ip_blocks import block_ip
from desk.services.comments import add_comment
from desk.tables import Ticket
from permissions.policy import POLICY, Level, Relation, access_for, audiences_of
from permissions.principal import ANONYMOUS, Principal
from permissions.roles import Role
from privacy.consent import Channel, grant_consent
from privacy.consent_texts import publish_text
from schema.context import RequestContext
from tests.factories import make_organisation, make_ticket, make_user, principal_of
from tests.graphql_client import _SCHEMA
from tests.permissions.identity_world import principal_of_session, sign_in
from tests.permissions.world import assign, set_phone

pytestmark = pytest.mark.usefixtures("db")
MAX_DEPTH = 4


@dataclass
class Secret:
    value: str
    type_name: str
    field_name: str
    relations: dict[Any, frozenset[Relation]]  # principal → relations to the object
    staff_only_row: bool = False
    shown_once: bool = False  # a mutation's one-time answer: no query may ever show it
    # Principals who may see it through another type than ``type_name`` (a consenting
    # user's email and name in a marketing partner's MarketingContact), and the field
    # of MarketingContact whose rule then applies.
    exported_as: dict[Any, str] = field(default_factory=dict)


@dataclass
class World:
    principals: list[Principal]
    ids: list[str]
    identity: Identity
    tokens: dict[Principal, str]  # each user principal's session cookie token
    secrets: list[Secret] = field(default_factory=list)


@pytest.fixture
async def world(db: object, identity: Identity) -> World:
    acme, other = await make_organisation("ORG-ACME-1f"), await make_organisation("ORG-OTHER-2e")
    alice = await make_user(
        Role.customer, acme, display_name="Alice Aaa", email="alice-4k@acme.example"
    )
    bob = await make_user(Role.customer, acme, display_name="Bob Bbb", email="bob-7q@acme.example")
    carol = await make_user(
        Role.customer, other, display_name="Carol Ccc", email="carol-9z@other.example"
    )
    dave = await make_user(Role.agent, display_name="Dave Ddd", email="dave-3m@desk.example")
    erin = await make_user(Role.agent, display_name="Erin Eee", email="erin-5p@desk.example")
    fay = await make_user(Role.admin, display_name="Fay Fff", email="fay-8r@desk.example")
    gus = await make_user(Role.auditor, display_name="Gus Ggg", email="gus-6t@desk.example")
    hal = await make_user(Role.admin, display_name="Hal Hhh", email="hal-2w@desk.example")
    users = [alice, bob, carol, dave, erin, fay, gus, hal]
    for number, user in enumerate(users):
        await set_phone(user.id, f"+44 20 7946 {1000 + number * 111}")
    t_alice = await make_ticket(alice, subject="SUBJ-alice-x1", body="BODY-alice-y1")
    t_bob = await make_ticket(bob, subject="SUBJ-bob-x2", body="BODY-bob-y2")
    t_carol = await make_ticket(carol, subject="SUBJ-carol-x3", body="BODY-carol-y3")
    await assign(t_alice.id, dave.id)
    for ticket in (t_alice, t_bob, t_carol):
        # No service writes internal notes yet; the column is written directly.
        await Ticket.update({Ticket.internal_notes: f"NOTE-{ticket.id.hex[:8]}"}).where(
            Ticket.id == ticket.id
        )
    internal = await add_comment(principal_of(dave), t_alice.id, body="INTERNAL-c1", internal=True)
    public = await add_comment(principal_of(dave), t_alice.id, body="PUBLIC-c2")
    partners = [
        Principal(kind="partner", scopes=frozenset(scopes))
        for scopes in (
            {"tickets:read"},
            {"users:read"},
            {"tickets:read", "users:read"},
            {"tickets:write", "unknown:scope"},
            set(),
        )
    ]
    # A marketing partner of Acme: it may export Acme's consenting users (Bob) only.
    marketer = Principal(
        kind="partner",
        scopes=frozenset({"marketing:export"}),
        organisation_id=acme.id,
        api_key_id=uuid.uuid4(),
    )
    partners.append(marketer)
    text = await publish_text(MARKETING_PURPOSE, "Email me offers.", via="test")
    for consenting in (bob, carol):  # Carol consents too, but belongs to another organisation
        await grant_consent(
            principal_of(consenting),
            purpose=MARKETING_PURPOSE,
            version=text.version,
            text_sha256=text.text_sha256,
            channel=Channel("graphql"),
        )
    sessions = {
        # Hal has not enrolled MFA: its session carries no role (pending_mfa).
        user.id: await sign_in(
            identity, user, with_mfa=user is not hal, user_agent=f"UA-{user.id.hex[:10]}"
        )
        for user in users
    }
    signed_in = {user.id: principal_of_session(sessions[user.id]) for user in users}
    assert signed_in[hal.id].role is None
    principals = [*signed_in.values(), ANONYMOUS, *partners]

    def relations(relation_of: Any) -> dict[Any, frozenset[Relation]]:
        return {p: frozenset(relation_of(p)) for p in principals}

    world = World(
        principals,
        [str(t.id) for t in (t_alice, t_bob, t_carol)] + [str(uuid.uuid4())],
        identity,
        {signed_in[user_id]: session.token for user_id, session in sessions.items()},
    )
    org_of = {u.id: u.organisation_id for u in users}
    for user in users:

        def user_relations(p: Principal, user: Any = user) -> set[Relation]:
            found = set()
            if p.user_id == user.id:
                found.add(Relation.SELF)
            if p.organisation_id and p.organisation_id == user.organisation_id:
                found.add(Relation.SAME_ORGANISATION)
            if p.user_id == dave.id and user.id == alice.id:
                found.add(Relation.ASSIGNED_AGENT)
            return found

        for field_name, value in (
            ("email", user.email),
            ("phone", f"+44 20 7946 {1000 + users.index(user) * 111}"),
            ("displayName", user.display_name),
        ):
            exported = {marketer: field_name} if user is bob and field_name != "phone" else {}
            world.secrets.append(
                Secret(value, "User", field_name, relations(user_relations), exported_as=exported)
            )
    for ticket, requester in ((t_alice, alice), (t_bob, bob), (t_carol, carol)):

        def ticket_relations(
            p: Principal, ticket: Any = ticket, requester: Any = requester
        ) -> set[Relation]:
            found = set()
            if p.organisation_id and p.organisation_id == org_of[requester.id]:
                found.add(Relation.SAME_ORGANISATION)
            if p.user_id == requester.id:
                found.add(Relation.REQUESTER)
            if p.user_id == dave.id and ticket.id == t_alice.id:
                found.add(Relation.ASSIGNED_AGENT)
            return found

        for field_name, value in (
            ("subject", ticket.subject),
            ("body", ticket.body),
            ("internalNotes", f"NOTE-{ticket.id.hex[:8]}"),
        ):
            world.secrets.append(Secret(value, "Ticket", field_name, relations(ticket_relations)))
    for organisation in (acme, other):

        def organisation_relations(p: Principal, organisation: Any = organisation) -> set[Relation]:
            return {Relation.SAME_ORGANISATION} if p.organisation_id == organisation.id else set()

        world.secrets.append(
            Secret(organisation.name, "Organisation", "name", relations(organisation_relations))
        )
    for comment, staff_only in ((internal, True), (public, False)):

        def comment_relations(p: Principal) -> set[Relation]:
            return {Relation.SELF} if p.user_id == dave.id else set()

        world.secrets.append(
            Secret(comment.body, "Comment", "body", relations(comment_relations), staff_only)
        )
    for user in users:

        def owner_relations(p: Principal, user: Any = user) -> set[Relation]:
            return {Relation.SELF} if p.user_id == user.id else set()

        user_agent = sessions[user.id].record.user_agent
        world.secrets.append(Secret(user_agent, "Session", "userAgent", relations(owner_relations)))
    await _add_admin_only_secrets(world, signed_in[fay.id], relations(lambda p: set()))
    assert await Organisation.count() == 2
    return world


async def _add_admin_only_secrets(
    world: World, admin: Principal, no_relations: dict[Any, frozenset[Relation]]
) -> None:
    """A partner API key and an IP block: sentinels only admins may see."""
    record, key = await create_api_key(
        world.identity,
        admin,
        name="KEYNAME-partner-5w",
        scopes=["tickets:read"],
        organisation_id=None,
        expires_at=None,
        allowed_networks=[],
    )
    block = await block_ip("192.0.2.0/28", "REASON-block-8v", None, f"user:{admin.user_id}")
    world.secrets += [
        Secret(record.name, "ApiKey", "name", no_relations),
        Secret(record.prefix, "ApiKey", "prefix", no_relations),
        Secret(key, "CreatedApiKey", "key", no_relations, shown_once=True),
        Secret(block.reason, "IpBlock", "reason", no_relations),
    ]


def _arguments(field: Any, data: st.DataObject, world: World) -> str:
    parts = []
    for name, argument in field.args.items():
        if not is_required_argument(argument) and name not in {"first", "status"}:
            continue
        named = get_named_type(argument.type)
        if name == "first":
            parts.append(f"first: {data.draw(st.integers(1, 5))}")
        elif name == "id" and named.name == "ID":
            parts.append(f'id: "{data.draw(st.sampled_from(world.ids))}"')
        elif isinstance(named, GraphQLEnumType):
            if data.draw(st.booleans()):
                parts.append(f"{name}: {data.draw(st.sampled_from(sorted(named.values)))}")
        else:
            return "SKIP"  # arguments this generator cannot make: field left out
    return f"({', '.join(parts)})" if parts else ""


def _selection(
    graphql_type: GraphQLObjectType, data: st.DataObject, world: World, depth: int
) -> str:
    names = sorted(graphql_type.fields)
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4))
    parts = ["__typename"]
    for index, name in enumerate(chosen):
        field = graphql_type.fields[name]
        unwrapped = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if depth == 1 and isinstance(unwrapped, GraphQLList) and "first" not in field.args:
            continue  # an unpaginated root list: the cost guard refuses the whole query
        arguments = _arguments(field, data, world)
        if arguments == "SKIP":
            continue
        named = get_named_type(field.type)
        if isinstance(named, GraphQLObjectType):
            if depth >= MAX_DEPTH:
                continue
            parts.append(
                f"a{index}: {name}{arguments} {{ {_selection(named, data, world, depth + 1)} }}"
            )
        else:
            parts.append(f"a{index}: {name}{arguments}")
    return " ".join(parts)


def _leaks(world: World, principal: Principal, text: str) -> list[str]:
    audiences = audiences_of(principal)
    leaked = []
    for secret in world.secrets:
        rule = POLICY[secret.type_name].fields[secret.field_name]
        access = access_for(rule, audiences, secret.relations[principal])
        exported_field = secret.exported_as.get(principal)
        if exported_field is not None:
            export_rule = POLICY["MarketingContact"].fields[exported_field]
            exported = access_for(export_rule, audiences, frozenset())
            access = exported if exported.level is Level.FULL else access
        hidden = (
            access.level is not Level.FULL
            or (secret.staff_only_row and not principal.is_staff)
            or secret.shown_once
        )
        if hidden and secret.value in text:
            leaked.append(f"{secret.type_name}.{secret.field_name}={secret.value!r} ({access})")
    return leaked


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_random_queries_never_show_a_value_the_table_withholds(
    world: World, data: st.DataObject
) -> None:
    principal = data.draw(st.sampled_from(world.principals))
    query_type = _SCHEMA._schema.query_type
    assert query_type is not None
    document = "{ " + _selection(query_type, data, world, 1) + " }"

    context = RequestContext.for_principal(
        principal, identity=world.identity, session_token=world.tokens.get(principal)
    )
    result = await _SCHEMA.execute(document, context_value=context)

    text = json.dumps(
        {
            "data": result.data,
            "errors": [error.formatted for error in result.errors or []],
            "extensions": result.extensions,
        },
        default=str,
        ensure_ascii=False,
    )
    assert not _leaks(world, principal, text), (document, principal, text)
