"""The GraphQL documents the benchmark sends, as ready-to-send JSON request bodies.

Normal documents are the issue's reference queries. Hostile documents are the issue's
four (5,000 aliases, depth 200, 1 MB of fields, a 1 MB comment; the product refuses the
two 1 MB ones from their Content-Length, over its body limit, without reading them),
and the two big ones again just under the product's body limit, so that the GraphQL
layer judges them (the document-length guard).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from api.app import MAX_JSON_BODY_BYTES

ONE_MB = 1_000_000
# Just under the body limit, leaving room for the JSON envelope {"query": "..."}.
UNDER_BODY_LIMIT_BYTES = MAX_JSON_BODY_BYTES - 1_000

ME = "query Me { me { id displayName role } }"
TICKETS = (
    "query Tickets { tickets(first: 20) { edges { node { subject "
    "requester { displayName } comments(first: 5) { body } } } } }"
)


@dataclass(frozen=True, slots=True)
class Document:
    """A named request body; ``body`` is the exact bytes sent as the POST body."""

    name: str
    body: bytes

    @classmethod
    def of(cls, name: str, query: str) -> Document:
        return cls(name=name, body=json.dumps({"query": query}).encode())

    @classmethod
    def by_id(cls, name: str, query: str) -> Document:
        """``query`` sent as a persisted operation: its id only, no text (APQ's shape)."""
        persisted = {"version": 1, "sha256Hash": persisted_id(query)}
        return cls(
            name=name, body=json.dumps({"extensions": {"persistedQuery": persisted}}).encode()
        )


def persisted_id(query: str) -> str:
    """A persisted operation's id: the SHA-256 (lower-case hex) of its exact UTF-8 text."""
    return hashlib.sha256(query.encode()).hexdigest()


# The "users-heavy" page: 50 tickets, each with its requester's contact data.
TICKETS_50_EMAIL = (
    "query Requesters { tickets(first: 50) { edges { node { requester { displayName email } } } } }"
)
TICKETS_50_NO_EMAIL = (
    "query Requesters { tickets(first: 50) { edges { node { requester { displayName } } } } }"
)
TICKETS_50_FIELDS = (
    "query TicketRows { tickets(first: 50) { edges { node { id subject status priority "
    "createdAt updatedAt requester { id displayName email } } } } }"
)
ME_ID = "query MeId { me { id } }"
# The tickets page under other operation names: the same resolvers, SQL and rows, but
# texts (so parses, validations and cost plans) of their own. bench.seed allowlists
# TICKETS_PERSISTED (and nothing else: the other scenarios' TICKETS stays an ordinary
# text); TICKETS_WARM_UP warms a fresh server up without touching what either of them
# may have cached or prepared (persisted_operation).
TICKETS_PERSISTED = TICKETS.replace("query Tickets ", "query TicketsPersisted ", 1)
TICKETS_WARM_UP = TICKETS.replace("query Tickets ", "query TicketsWarmUp ", 1)
LOGIN = (
    "mutation Login($email: String!, $password: String!) { "
    "login(email: $email, password: $password) { sessionExpiresAt mfaEnrolmentRequired } }"
)


def normal_documents() -> dict[str, Document]:
    return {
        "me": Document.of("me", ME),
        "tickets": Document.of("tickets", TICKETS),
        # The allowlisted tickets document, as text and by id only.
        "tickets_persisted": Document.of("tickets_persisted", TICKETS_PERSISTED),
        "tickets_by_id": Document.by_id("tickets_by_id", TICKETS_PERSISTED),
        "tickets_warm_up": Document.of("tickets_warm_up", TICKETS_WARM_UP),
        "me_id": Document.of("me_id", ME_ID),
        "tickets50_email": Document.of("tickets50_email", TICKETS_50_EMAIL),
        "tickets50_fields": Document.of("tickets50_fields", TICKETS_50_FIELDS),
        "tickets50_no_email": Document.of("tickets50_no_email", TICKETS_50_NO_EMAIL),
    }


def login_documents(emails: list[str], password: str) -> tuple[Document, ...]:
    """One ``login`` body per seeded login user (correct credentials), in order."""
    return tuple(
        Document(
            name=f"login_{index}",
            body=json.dumps(
                {"query": LOGIN, "variables": {"email": email, "password": password}}
            ).encode(),
        )
        for index, email in enumerate(emails)
    )


def aliases_document(count: int = 5_000) -> Document:
    """``count`` aliased copies of ``me`` in one operation (alias amplification)."""
    selections = " ".join(f"a{index}: me {{ id }}" for index in range(count))
    return Document.of("aliases_5000", f"query Aliases {{ {selections} }}")


def depth_document(depth: int = 200) -> Document:
    """A selection nested ``depth`` levels deep (recursion / nesting attack)."""
    opening = "me { " + "organisation { " * (depth - 2)
    closing = "}" * (depth - 1)
    return Document.of("depth_200", f"query Deep {{ {opening}id {closing} }}")


def fields_document(name: str, target_bytes: int) -> Document:
    """One ``me`` selection repeated until the body is just under ``target_bytes``."""
    prefix, suffix = "query Fields { me { ", "} }"
    field = "id "
    count = (target_bytes - len(prefix) - len(suffix) - 16) // len(field)
    return Document.of(name, prefix + field * count + suffix)


def comment_document(name: str, target_bytes: int) -> Document:
    """A valid cheap query padded with a comment to just under ``target_bytes``."""
    head = "query Padded { me { id } }\n#"
    padding = "x" * (target_bytes - len(head) - 16)
    return Document.of(name, head + padding + "\n")


def hostile_documents() -> dict[str, Document]:
    """Every hostile document, by name: the issue's four, then the big two again just
    under the product's body limit."""
    documents = [
        aliases_document(),
        depth_document(),
        fields_document("fields_1mb", ONE_MB),
        comment_document("comment_1mb", ONE_MB),
        fields_document("fields_under_limit", UNDER_BODY_LIMIT_BYTES),
        comment_document("comment_under_limit", UNDER_BODY_LIMIT_BYTES),
    ]
    for document in documents[-2:]:
        assert len(document.body) < MAX_JSON_BODY_BYTES, document.name
    return {document.name: document for document in documents}


def guard_probes() -> dict[str, Document]:
    """Small, valid documents just over the product's default alias and directive limits
    (15 and 20): the size guard does not see them, so only those guards can refuse them.
    Not timed; the refusal scenario reports whether each was refused."""
    aliases = " ".join(f"a{index}: __typename" for index in range(16))
    # No aliases here, so that only the directive guard can object.
    directives = " ".join("__typename @include(if: true)" for _ in range(21))
    return {
        "aliases_16": Document.of("aliases_16", f"query Probe {{ {aliases} }}"),
        "directives_21": Document.of("directives_21", f"query Probe {{ {directives} }}"),
    }
