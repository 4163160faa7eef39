"""The field policy: for every field of every object type, who sees it full, masked or not.

This module is the one table (``POLICY``) and its meaning; ``permissions.enforcement``
applies it to the schema, ``permissions.show`` prints it, the tests are generated from it.

Reading an entry: ``"email": {AGENT: {SELF: FULL, ASSIGNED_AGENT: FULL, ANY: EMAIL}}``
grants agents the full address of themselves and of users whose tickets they are assigned
to, and the masked address of everyone else. Entries are grants, combined by taking the
most open one: a principal gets, for one object, the best access over every audience it
belongs to and every relation that holds between it and the object (``ANY`` always
holds). Anything not granted is denied: a missing audience, relation, field or type.

Decisions, and why:

- Customers see their own user fully; colleagues (same organisation) by name, with
  email and phone masked when that colleague shares them (their privacy setting,
  ``CONTACT_SHARED``; the default) and not at all otherwise; anyone else (the staff
  answering them) by name and role only. They see their organisation's tickets without
  internal notes, and comments the desk services let through (internal comments never
  reach them: those rows are never loaded).
- Agents work tickets across organisations. They need to reach the people whose tickets
  they work: full contact data of users who requested a ticket assigned to them, masked
  otherwise (enough to recognise an address, not to copy it).
- Admins run the desk: everything about tickets, and users' contact data masked. Full
  values only through an explicit, audited reveal (see DESIGN.md).
  Names are not masked for anyone who works tickets: a desk cannot work with initials.
- Auditors read the audit trail, not personal data: ticket metadata only (no content),
  and of users only themselves.
- Partners (API keys) get what their scopes say: ``tickets:read`` ticket fields without
  internal notes, people by display name only (rows: the key's organisation's tickets
  and their public comments, desk/services/visibility.py; a key of no organisation
  reads none); ``users:read`` users' id, display name
  and masked email. ``tickets:write`` is not granted any mutation yet: the desk services
  do not accept partner writes.
- Consent (GDPR art. 7) is the signed-in user's own: purposes and texts, their own
  standing and the grant/withdraw mutations, for every role (a session that must still
  enrol MFA does only that). The services serve the caller's own consents only.
- ``marketing:export`` partners get ``marketingContacts``: display name and *full* email
  address of the users of the key's organisation who consent to ``marketing_email`` now.
  The full address is the point of that consent (the user agreed to be emailed by the
  organisation), and a masked one would be useless; the exposure stays bounded because
  the service reads only consenting users' rows (the consent check is in the query) and
  the scope grants no other type or field — ``User.email`` stays denied to it.
- Anonymous callers reach the root query fields (they answer empty) and nothing else.

Adding a type is one entry in ``POLICY``: the GraphQL type name, the kind of object (which
relations can be evaluated for it, see ``Subject``) and a rule for each of its fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from permissions.principal import Principal
from permissions.roles import Role
from privacy.masking import MaskStrategy


class Audience(StrEnum):
    """Who a rule is for: a role, a partner scope, or nobody signed in."""

    anonymous = "anonymous"
    # Signed in with a role that requires MFA, not enrolled yet: may only enrol it.
    pending_mfa = "pending_mfa"
    customer = "customer"
    agent = "agent"
    admin = "admin"
    auditor = "auditor"
    tickets_read = "scope:tickets:read"
    tickets_write = "scope:tickets:write"
    users_read = "scope:users:read"
    marketing_export = "scope:marketing:export"


SCOPE_AUDIENCES: Mapping[str, Audience] = {
    "tickets:read": Audience.tickets_read,
    "tickets:write": Audience.tickets_write,
    "users:read": Audience.users_read,
    "marketing:export": Audience.marketing_export,
}
ROLE_AUDIENCES: Mapping[Role, Audience] = {
    Role.customer: Audience.customer,
    Role.agent: Audience.agent,
    Role.admin: Audience.admin,
    Role.auditor: Audience.auditor,
}


class Relation(StrEnum):
    """How the principal stands to one object. ``ANY`` holds for every object."""

    SELF = "self"  # the object is (or is owned by / written by) the principal
    SAME_ORGANISATION = "same_organisation"
    # Same organisation, and the user lets colleagues see their contact data (their
    # privacy setting, accounts.tables.ContactVisibility).
    CONTACT_SHARED = "contact_shared"
    REQUESTER = "requester"  # the principal requested the ticket
    ASSIGNED_AGENT = (
        "assigned_agent"  # the principal is assigned to the ticket (or to one of the user's)
    )
    ANY = "any"


class Subject(StrEnum):
    """The kind of object a type shows, which decides the relations evaluated for it."""

    NONE = "none"  # roots and structural types: only ANY
    USER = "user"
    ORGANISATION = "organisation"
    TICKET = "ticket"
    COMMENT = "comment"
    OWNED = "owned"  # anything whose record has ``user_id`` (sessions, API keys, …)


SUBJECT_RELATIONS: Mapping[Subject, frozenset[Relation]] = {
    Subject.NONE: frozenset(),
    Subject.USER: frozenset(
        {
            Relation.SELF,
            Relation.SAME_ORGANISATION,
            Relation.CONTACT_SHARED,
            Relation.ASSIGNED_AGENT,
        }
    ),
    Subject.ORGANISATION: frozenset({Relation.SAME_ORGANISATION}),
    Subject.TICKET: frozenset(
        {Relation.SAME_ORGANISATION, Relation.REQUESTER, Relation.ASSIGNED_AGENT}
    ),
    Subject.COMMENT: frozenset({Relation.SELF}),
    Subject.OWNED: frozenset({Relation.SELF}),
}


class Level(IntEnum):
    """Ordered: a higher level shows more."""

    DENIED = 0
    MASKED = 1
    FULL = 2


@dataclass(frozen=True, slots=True)
class Access:
    level: Level
    strategy: MaskStrategy | None = None

    def __str__(self) -> str:
        if self.level is Level.MASKED:
            return f"masked({self.strategy})"
        return self.level.name.lower()


FULL = Access(Level.FULL)
DENIED = Access(Level.DENIED)


def masked(strategy: MaskStrategy) -> Access:
    return Access(Level.MASKED, strategy)


FieldRule = Mapping[Audience, Mapping[Relation, Access]]


@dataclass(frozen=True, slots=True)
class TypePolicy:
    subject: Subject
    fields: Mapping[str, FieldRule]


class PolicyError(Exception):
    """The table is inconsistent; raised at schema build, never at request time."""


# Short names keep the table readable.
ANONYMOUS, CUSTOMER, AGENT, ADMIN, AUDITOR = (
    Audience.anonymous,
    Audience.customer,
    Audience.agent,
    Audience.admin,
    Audience.auditor,
)
PENDING_MFA = Audience.pending_mfa
TICKETS_READ, TICKETS_WRITE, USERS_READ, MARKETING_EXPORT = (
    Audience.tickets_read,
    Audience.tickets_write,
    Audience.users_read,
    Audience.marketing_export,
)
SELF, SAME_ORGANISATION, REQUESTER, ASSIGNED_AGENT, ANY = (
    Relation.SELF,
    Relation.SAME_ORGANISATION,
    Relation.REQUESTER,
    Relation.ASSIGNED_AGENT,
    Relation.ANY,
)
CONTACT_SHARED = Relation.CONTACT_SHARED
EMAIL, PHONE = masked(MaskStrategy.EMAIL), masked(MaskStrategy.PHONE)


def everyone(*audiences: Audience) -> FieldRule:
    """Full for every object, for the given audiences (all of them when none is given)."""
    return {audience: {ANY: FULL} for audience in (audiences or tuple(Audience))}


_STAFF = (AGENT, ADMIN)
_DESK = (CUSTOMER, AGENT, ADMIN)
_TICKET_READERS: FieldRule = {
    CUSTOMER: {SAME_ORGANISATION: FULL},
    AGENT: {ANY: FULL},
    ADMIN: {ANY: FULL},
    TICKETS_READ: {ANY: FULL},
}
_TICKET_METADATA: FieldRule = {**_TICKET_READERS, AUDITOR: {ANY: FULL}}
_COMMENT_READERS: FieldRule = everyone(CUSTOMER, AGENT, ADMIN, TICKETS_READ)
_USER_LABEL: FieldRule = {
    **everyone(CUSTOMER, AGENT, ADMIN, USERS_READ),
    AUDITOR: {SELF: FULL},
    PENDING_MFA: {SELF: FULL},
}
# Every signed-in user, including one who must still enrol MFA.
_SIGNED_IN = (PENDING_MFA, CUSTOMER, AGENT, ADMIN, AUDITOR)
_ROLES = (CUSTOMER, AGENT, ADMIN, AUDITOR)

POLICY: dict[str, TypePolicy] = {
    "Query": TypePolicy(
        Subject.NONE,
        {
            "me": everyone(),
            # Rows are scoped by the desk services: these answer empty to whoever sees none.
            "ticket": everyone(ANONYMOUS, *_DESK, AUDITOR, TICKETS_READ),
            "tickets": everyone(ANONYMOUS, *_DESK, AUDITOR, TICKETS_READ),
            "ipBlocks": everyone(ADMIN),  # IP blocks (api/limits): admins only
            "mySessions": everyone(*_SIGNED_IN),
            # Data subject requests: one's own; admins all (they answer for deadlines).
            "dataRequests": everyone(*_ROLES),
            "apiKeys": everyone(ADMIN),
            "consentPurposes": everyone(*_ROLES),
            "myConsents": everyone(*_ROLES),
            "marketingContacts": everyone(MARKETING_EXPORT),
        },
    ),
    "Mutation": TypePolicy(
        Subject.NONE,
        {
            "createTicket": everyone(*_DESK),
            "addComment": everyone(*_DESK),
            "updateTicketStatus": everyone(*_DESK),
            "uploadAttachment": everyone(*_DESK),
            "blockIp": everyone(ADMIN),
            "unblockIp": everyone(ADMIN),
            # Identity (accounts/): signing in is open; the services decide the rest.
            "login": everyone(ANONYMOUS, *_SIGNED_IN),
            "register": everyone(ANONYMOUS),
            "logout": everyone(ANONYMOUS, *_SIGNED_IN),
            "requestPasswordReset": everyone(ANONYMOUS, *_SIGNED_IN),
            "resetPassword": everyone(ANONYMOUS, *_SIGNED_IN),
            "changePassword": everyone(*_SIGNED_IN),
            "enrollTotp": everyone(*_SIGNED_IN),
            "confirmTotp": everyone(*_SIGNED_IN),
            "disableTotp": everyone(*_ROLES),
            "regenerateRecoveryCodes": everyone(*_ROLES),
            "revokeSession": everyone(*_SIGNED_IN),
            "revokeOtherSessions": everyone(*_SIGNED_IN),
            "createApiKey": everyone(ADMIN),
            "rotateApiKey": everyone(ADMIN),
            "revokeApiKey": everyone(ADMIN),
            # Full values on purpose: step-up MFA, a reason and an audit event each time.
            "revealPersonalData": everyone(ADMIN),
            "grantConsent": everyone(*_ROLES),
            "withdrawConsent": everyone(*_ROLES),
            # Data subject rights (privacy/): for every role; the services re-check who.
            "exportMyData": everyone(*_ROLES),
            "setContactVisibility": everyone(*_ROLES),
            "exportUserData": everyone(ADMIN),
            "createExportDownloadLink": everyone(*_ROLES),
            "requestErasure": everyone(*_ROLES),
            "cancelErasure": everyone(*_ROLES),
        },
    ),
    "User": TypePolicy(
        Subject.USER,
        {
            "id": _USER_LABEL,
            "displayName": {**_USER_LABEL, TICKETS_READ: {ANY: FULL}},
            "role": {**everyone(*_DESK), AUDITOR: {SELF: FULL}, PENDING_MFA: {SELF: FULL}},
            "email": {
                CUSTOMER: {SELF: FULL, CONTACT_SHARED: EMAIL},
                AGENT: {SELF: FULL, ASSIGNED_AGENT: FULL, ANY: EMAIL},
                ADMIN: {SELF: FULL, ANY: EMAIL},
                AUDITOR: {SELF: FULL},
                PENDING_MFA: {SELF: FULL},
                USERS_READ: {ANY: EMAIL},
            },
            "phone": {
                CUSTOMER: {SELF: FULL, CONTACT_SHARED: PHONE},
                AGENT: {SELF: FULL, ASSIGNED_AGENT: FULL, ANY: PHONE},
                ADMIN: {SELF: FULL, ANY: PHONE},
                AUDITOR: {SELF: FULL},
                PENDING_MFA: {SELF: FULL},
            },
            "organisation": {
                CUSTOMER: {SELF: FULL, SAME_ORGANISATION: FULL},
                **everyone(*_STAFF),
                AUDITOR: {SELF: FULL},
            },
            # The user's own privacy setting: theirs to see, and admins' (who support them).
            "contactVisibility": {
                **{audience: {SELF: FULL} for audience in _SIGNED_IN},
                ADMIN: {ANY: FULL},
            },
        },
    ),
    "Organisation": TypePolicy(
        Subject.ORGANISATION,
        {
            "id": {CUSTOMER: {SAME_ORGANISATION: FULL}, **everyone(*_STAFF)},
            "name": {CUSTOMER: {SAME_ORGANISATION: FULL}, **everyone(*_STAFF)},
        },
    ),
    "Ticket": TypePolicy(
        Subject.TICKET,
        {
            "id": _TICKET_METADATA,
            "status": _TICKET_METADATA,
            "priority": _TICKET_METADATA,
            "createdAt": _TICKET_METADATA,
            "updatedAt": _TICKET_METADATA,
            "subject": _TICKET_READERS,
            "body": _TICKET_READERS,
            "bodyHtml": _TICKET_READERS,
            "requester": _TICKET_READERS,
            "assignee": _TICKET_READERS,
            "comments": _TICKET_READERS,
            "internalNotes": everyone(*_STAFF),
            # Signed-in desk users only (partner keys read no files): the desk services
            # load attachments of visible tickets for users alone.
            "attachments": {key: _TICKET_READERS[key] for key in _DESK},
        },
    ),
    # Reached only through a visible ticket or the upload itself (desk services).
    "Attachment": TypePolicy(
        Subject.NONE,
        {
            name: everyone(*_DESK)
            for name in ("id", "filename", "contentType", "sizeBytes", "createdAt", "downloadPath")
        },
    ),
    "Comment": TypePolicy(
        Subject.COMMENT,
        {
            "id": {**_COMMENT_READERS, AUDITOR: {ANY: FULL}},
            "isInternal": {**_COMMENT_READERS, AUDITOR: {ANY: FULL}},
            "createdAt": {**_COMMENT_READERS, AUDITOR: {ANY: FULL}},
            "body": _COMMENT_READERS,
            "bodyHtml": _COMMENT_READERS,
            "author": _COMMENT_READERS,
        },
    ),
    # Structural types carry no data of their own: what they hold is checked on its type.
    "TicketConnection": TypePolicy(Subject.NONE, {"edges": everyone(), "pageInfo": everyone()}),
    "TicketEdge": TypePolicy(Subject.NONE, {"cursor": everyone(), "node": everyone()}),
    "PageInfo": TypePolicy(Subject.NONE, {"hasNextPage": everyone(), "endCursor": everyone()}),
    # Blocked networks and who blocked them: run by admins, seen by nobody else.
    # Identity payloads go only to the caller who asked (the services check who that
    # may be); sessions only to their owner; API keys only to admins.
    "LoginPayload": TypePolicy(
        Subject.NONE, {"sessionExpiresAt": everyone(), "mfaEnrolmentRequired": everyone()}
    ),
    "TotpEnrolment": TypePolicy(
        Subject.NONE, {"secret": everyone(*_SIGNED_IN), "otpauthUri": everyone(*_SIGNED_IN)}
    ),
    "RecoveryCodes": TypePolicy(Subject.NONE, {"codes": everyone(*_SIGNED_IN)}),
    "Session": TypePolicy(
        Subject.OWNED,
        {
            name: {audience: {SELF: FULL} for audience in _SIGNED_IN}
            for name in ("id", "createdAt", "lastSeenAt", "clientNetwork", "userAgent", "isCurrent")
        },
    ),
    "ApiKey": TypePolicy(
        Subject.NONE,
        {
            name: everyone(ADMIN)
            for name in (
                "id",
                "name",
                "prefix",
                "scopes",
                "allowedNetworks",
                "expiresAt",
                "lastUsedAt",
                "revokedAt",
                "createdAt",
            )
        },
    ),
    "RevealedPersonalData": TypePolicy(
        Subject.NONE,
        {name: everyone(ADMIN) for name in ("userId", "email", "phone")},
    ),
    # Data subject requests: the services hand out one's own requests and links (admins:
    # every request, never the data itself), so every field is open to every role.
    "DataRequest": TypePolicy(
        Subject.NONE,
        {
            name: everyone(*_ROLES)
            for name in (
                *("id", "kind", "status", "subjectId", "requestedAt", "dueAt", "overdue"),
                *("notBefore", "finishedAt", "archiveExpiresAt", "error"),
            )
        },
    ),
    "DownloadLink": TypePolicy(
        Subject.NONE, {"url": everyone(*_ROLES), "expiresInSeconds": everyone(*_ROLES)}
    ),
    "CreatedApiKey": TypePolicy(Subject.NONE, {"apiKey": everyone(ADMIN), "key": everyone(ADMIN)}),
    # Purposes and texts are public to every role; a consent standing is only ever the
    # caller's own (the services answer for the signed-in user and no one else).
    "ConsentPurpose": TypePolicy(
        Subject.NONE,
        {
            name: everyone(*_ROLES)
            for name in ("purpose", "version", "text", "textSha256", "publishedAt")
        },
    ),
    "Consent": TypePolicy(
        Subject.NONE,
        {
            name: everyone(*_ROLES)
            for name in (
                *("purpose", "status", "granted", "currentVersion"),
                *("version", "textSha256", "changedAt", "method"),
            )
        },
    ),
    # Full email on purpose (see the module docstring): consenting users of the key's
    # organisation only.
    "MarketingContact": TypePolicy(
        Subject.NONE,
        {name: everyone(MARKETING_EXPORT) for name in ("id", "displayName", "email")},
    ),
    "MarketingContactConnection": TypePolicy(
        Subject.NONE, {"edges": everyone(), "pageInfo": everyone()}
    ),
    "MarketingContactEdge": TypePolicy(Subject.NONE, {"cursor": everyone(), "node": everyone()}),
    "IpBlock": TypePolicy(
        Subject.NONE,
        {
            name: everyone(ADMIN)
            for name in (
                *("id", "network", "reason", "createdBy"),
                *("createdAt", "expiresAt", "revokedAt", "active"),
            )
        },
    ),
}


def audiences_of(principal: Principal) -> frozenset[Audience]:
    """The audiences whose rules apply to ``principal``; unknown scopes grant nothing."""
    if principal.kind == "user" and principal.role is not None:
        return frozenset({ROLE_AUDIENCES[principal.role]})
    if principal.kind == "user":
        return frozenset({Audience.pending_mfa})
    if principal.kind == "partner":
        return frozenset(SCOPE_AUDIENCES[s] for s in principal.scopes if s in SCOPE_AUDIENCES)
    if principal.kind == "anonymous":
        return frozenset({Audience.anonymous})
    return frozenset()


def access_for(
    rule: FieldRule, audiences: Iterable[Audience], relations: Iterable[Relation]
) -> Access:
    """The table's meaning for one field: the best grant over audiences x holding relations.

    ``ANY`` is added to ``relations``. The reference semantics; enforcement precomputes it.
    """
    holding = {*relations, Relation.ANY}
    best = DENIED
    for audience in audiences:
        for relation, access in rule.get(audience, {}).items():
            if relation in holding and access.level > best.level:
                best = access
    return best


def check_policy(policy: Mapping[str, TypePolicy]) -> None:
    """Raise PolicyError when a rule names a relation its type cannot evaluate, or one
    audience-and-field mixes masking strategies (the combination would be ambiguous)."""
    for type_name, type_policy in policy.items():
        allowed = SUBJECT_RELATIONS[type_policy.subject] | {Relation.ANY}
        for field_name, rule in type_policy.fields.items():
            strategies = set()
            for audience, grants in rule.items():
                for relation, access in grants.items():
                    if relation not in allowed:
                        raise PolicyError(
                            f"{type_name}.{field_name}: relation {relation} cannot be "
                            f"evaluated for a {type_policy.subject} (audience {audience})"
                        )
                    if access.level is Level.MASKED:
                        strategies.add(access.strategy)
            if len(strategies) > 1:
                raise PolicyError(f"{type_name}.{field_name}: one masking strategy per field")
