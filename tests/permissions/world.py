"""Objects standing in a chosen relation to a chosen principal, built through the services.

Shared by the generated policy tests. Ticket assignment and phone numbers have no service
yet, so those two are written with a Piccolo update (and say so). Owned objects (sessions)
live in the identity service's session store, so their fixture needs an ``Identity``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from accounts.records import OrganisationRecord, UserRecord
from accounts.services.identity import Identity
from accounts.services.users import set_contact_visibility
from desk.services.comments import add_comment
from desk.services.tickets import create_ticket
from desk.tables import Ticket
from permissions.policy import Audience, Relation, Subject
from permissions.principal import ANONYMOUS, Principal, user_principal
from permissions.roles import Role
from tests.factories import make_organisation, make_ticket, make_user, principal_of
from tests.permissions.identity_world import sign_in, stored_session

ROLE_OF = {
    Audience.customer: Role.customer,
    Audience.agent: Role.agent,
    Audience.admin: Role.admin,
    Audience.auditor: Role.auditor,
}
SCOPE_OF = {
    Audience.tickets_read: "tickets:read",
    Audience.tickets_write: "tickets:write",
    Audience.users_read: "users:read",
    Audience.marketing_export: "marketing:export",
}
# Which relations a principal of each audience can stand in at all (partners and
# anonymous callers are nobody: they relate to objects only as ANY).
POSSIBLE: dict[Audience, frozenset[Relation]] = {
    Audience.customer: frozenset(
        {
            Relation.SELF,
            Relation.SAME_ORGANISATION,
            Relation.CONTACT_SHARED,
            Relation.REQUESTER,
            Relation.ANY,
        }
    ),
    Audience.agent: frozenset(
        {Relation.SELF, Relation.REQUESTER, Relation.ASSIGNED_AGENT, Relation.ANY}
    ),
    Audience.admin: frozenset(
        {Relation.SELF, Relation.REQUESTER, Relation.ASSIGNED_AGENT, Relation.ANY}
    ),
    Audience.auditor: frozenset({Relation.SELF, Relation.ANY}),
    Audience.pending_mfa: frozenset({Relation.SELF, Relation.ANY}),
    Audience.anonymous: frozenset({Relation.ANY}),
    Audience.tickets_read: frozenset({Relation.ANY}),
    Audience.tickets_write: frozenset({Relation.ANY}),
    Audience.users_read: frozenset({Relation.ANY}),
    Audience.marketing_export: frozenset({Relation.ANY}),
}
# Comments can be written only by those who may comment (customers on their
# organisation's tickets, staff anywhere).
_COMMENTERS = {Audience.customer, Audience.agent, Audience.admin}
STAFF = user_principal(uuid.uuid4(), Role.admin, None)  # sees every row, for set-up only


@dataclass
class Viewer:
    principal: Principal
    user: UserRecord | None
    organisation: OrganisationRecord | None


@dataclass
class Target:
    record: Any
    holding: frozenset[Relation]  # every relation that holds (besides ANY)
    # Raw values of fields not read from the record (snake_case name -> value).
    values: Mapping[str, Any] = field(default_factory=dict)
    # The session cookie token the viewer's request carries, if any.
    session_token: str | None = None


async def make_viewer(audience: Audience) -> Viewer:
    if audience is Audience.anonymous:
        return Viewer(ANONYMOUS, None, None)
    if audience in SCOPE_OF:
        scopes = frozenset({SCOPE_OF[audience]})
        return Viewer(Principal(kind="partner", scopes=scopes), None, None)
    if audience is Audience.pending_mfa:
        # An admin signed in without MFA enrolled: a user with no role yet.
        admin = await make_user(Role.admin)
        pending = Principal(kind="user", user_id=admin.id, role=None, session_id="pending")
        return Viewer(pending, admin, None)
    role = ROLE_OF[audience]
    organisation = await make_organisation() if role is Role.customer else None
    user = await make_user(role, organisation)
    return Viewer(principal_of(user), user, organisation)


async def assign(ticket_id: uuid.UUID, agent_id: uuid.UUID) -> None:
    # No assignment service exists yet; the column is written directly.
    await Ticket.update({Ticket.assignee: agent_id}).where(Ticket.id == ticket_id)


async def set_phone(user_id: uuid.UUID, phone: str) -> None:
    from accounts.services.users import set_phone as store_phone

    await store_phone(user_id, phone)


def possible(audience: Audience, subject: Subject, relations: frozenset[Relation]) -> bool:
    return relations <= POSSIBLE[audience] and not (
        subject is Subject.COMMENT and Relation.SELF in relations and audience not in _COMMENTERS
    )


async def make_target(
    subject: Subject, relation: Relation, viewer: Viewer, identity: Identity | None = None
) -> Target:
    """An object of ``subject`` standing in ``relation`` to the viewer (and what else holds).

    ``identity`` is needed for ``Subject.OWNED`` only.
    """
    me = viewer.user
    other_org = await make_organisation()
    stranger = await make_user(Role.customer, other_org)
    await set_phone(stranger.id, "+44 20 7946 0958")
    if subject is Subject.USER:
        if relation is Relation.SELF and me is not None:
            await set_phone(me.id, "+44 20 7946 0111")
            # Users share contact data with colleagues unless they choose otherwise.
            same = (
                {Relation.SAME_ORGANISATION, Relation.CONTACT_SHARED}
                if me.organisation_id
                else set()
            )
            return Target(await _reload_user(me.id), frozenset({Relation.SELF, *same}))
        if relation in (Relation.SAME_ORGANISATION, Relation.CONTACT_SHARED):
            colleague = await make_user(Role.customer, viewer.organisation)
            await set_phone(colleague.id, "+44 20 7946 0222")
            if relation is Relation.SAME_ORGANISATION:
                # A colleague who keeps their contact data private.
                await set_contact_visibility(colleague.id, "private")
                return Target(await _reload_user(colleague.id), frozenset({relation}))
            holding = frozenset({Relation.SAME_ORGANISATION, Relation.CONTACT_SHARED})
            return Target(await _reload_user(colleague.id), holding)
        if relation is Relation.ASSIGNED_AGENT and me is not None:
            ticket = await make_ticket(stranger)
            await assign(ticket.id, me.id)
            return Target(await _reload_user(stranger.id), frozenset({relation}))
        return Target(await _reload_user(stranger.id), frozenset())
    if subject is Subject.ORGANISATION:
        if relation is Relation.SAME_ORGANISATION:
            return Target(viewer.organisation, frozenset({relation}))
        return Target(other_org, frozenset())
    if subject is Subject.TICKET:
        if relation is Relation.SAME_ORGANISATION:
            colleague = await make_user(Role.customer, viewer.organisation)
            return Target(await make_ticket(colleague), frozenset({relation}))
        if relation is Relation.REQUESTER and me is not None:
            if viewer.organisation is not None:
                ticket = await make_ticket(me)
                return Target(ticket, frozenset({relation, Relation.SAME_ORGANISATION}))
            ticket = await create_ticket(
                viewer.principal, subject="Mine", body="b", organisation_id=other_org.id
            )
            return Target(ticket, frozenset({relation}))
        ticket = await make_ticket(stranger)
        if relation is Relation.ASSIGNED_AGENT and me is not None:
            await assign(ticket.id, me.id)
            return Target(await _reload_ticket(ticket.id), frozenset({relation}))
        return Target(ticket, frozenset())
    if subject is Subject.COMMENT:
        if relation is Relation.SELF and me is not None:
            author = viewer.principal
            ticket = await make_ticket(
                me if viewer.organisation else await make_user(Role.customer, other_org)
            )
            return Target(await add_comment(author, ticket.id, body="mine"), frozenset({relation}))
        ticket = await make_ticket(stranger)
        comment = await add_comment(principal_of(stranger), ticket.id, body="theirs")
        return Target(comment, frozenset())
    if subject is Subject.OWNED:
        assert identity is not None, "owned objects (sessions) need the identity services"
        if relation is Relation.SELF and me is not None:
            # The viewer's own session, presented with the request: it is the current one.
            mine = await sign_in(identity, me, with_mfa=viewer.principal.role is not None)
            record = await stored_session(identity, mine)
            return Target(record, frozenset({relation}), {"is_current": True}, mine.token)
        theirs = await sign_in(identity, stranger, client_ip="203.0.113.200")
        record = await stored_session(identity, theirs)
        # A signed-in viewer presents its own session: someone else's is never current.
        own = await sign_in(identity, me) if me is not None else None
        return Target(record, frozenset(), {"is_current": False}, own and own.token)
    raise AssertionError(f"no matrix fixture for subject {subject}")


async def _reload_user(user_id: uuid.UUID) -> UserRecord:
    from accounts.services.users import get_user

    user = await get_user(user_id)
    assert user is not None
    return user


async def _reload_ticket(ticket_id: uuid.UUID) -> Any:
    from desk.services.tickets import get_ticket

    return await get_ticket(STAFF, ticket_id)
