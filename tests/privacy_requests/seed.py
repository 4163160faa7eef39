"""A data subject with something in every table the inventory marks personal.

Each personal value carries the subject's marker, so a test can look for it (export)
or for its absence (erasure) in a whole archive or database dump.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from accounts.services.identity import Identity
from accounts.services.users import set_phone
from accounts.sessions import SessionRecord
from accounts.tables import ApiKey, AuthenticatorState, PasswordResetToken, RecoveryCode
from accounts.tokens import token_digest
from audit.trail import Actor, record_event
from desk.services.comments import add_comment
from desk.tables import Attachment, Ticket
from permissions.roles import Role
from privacy import requests
from privacy.consent import Channel, grant_consent
from privacy.consent_texts import current_text, publish_text
from privacy.request_tables import RequestKind
from tests.factories import make_organisation, make_ticket, make_user, principal_of

CLI = Channel(method="cli")


@dataclass
class SeededSubject:
    user_id: uuid.UUID
    marker: str
    email: str
    phone: str
    # Personal values in the clear, as written: each must be exported, then erased.
    values: list[str] = field(default_factory=list)
    ticket_ids: list[uuid.UUID] = field(default_factory=list)


async def seed_subject(identity: Identity, *, role: Role = Role.agent) -> SeededSubject:
    """An agent (so it can also create tickets for a customer organisation, be an
    assignee, write internal comments and own API keys) with rows everywhere."""
    marker = f"mk{secrets.token_hex(6)}"
    organisation = await make_organisation(f"{marker} Ltd")
    email, phone = f"{marker}@example.com", f"+44 20 7946 {secrets.randbelow(9000) + 1000}"
    user = await make_user(role, display_name=f"{marker} Person", email=email)
    await set_phone(user.id, phone)
    subject = SeededSubject(user.id, marker, email, phone)
    subject.values += [email, phone, f"{marker} Person"]
    principal = principal_of(user)

    ticket = await make_ticket(
        user,
        subject=f"{marker} ticket subject",
        body=f"{marker} ticket body",
        organisation_id=organisation.id,
    )
    subject.ticket_ids.append(ticket.id)
    subject.values += [f"{marker} ticket subject", f"{marker} ticket body"]
    await add_comment(principal, ticket.id, body=f"{marker} comment body", internal=True)
    subject.values.append(f"{marker} comment body")

    now = datetime.now(UTC)
    await Attachment.insert(
        Attachment(
            ticket=ticket.id,
            uploaded_by=user.id,
            filename=f"{marker}-scan.pdf",
            content_type="application/pdf",
            size_bytes=1234,
            sha256="0" * 64,
            storage_key=f"att-{uuid.uuid4().hex}",
        )
    )
    subject.values.append(f"{marker}-scan.pdf")
    await RecoveryCode.insert(RecoveryCode(user=user.id, code_hash="$argon2id$placeholder"))
    await AuthenticatorState.insert(
        AuthenticatorState(user=user.id, authenticator="totp", consecutive_failures=2)
    )
    await PasswordResetToken.insert(
        PasswordResetToken(
            user=user.id,
            token_digest=token_digest(secrets.token_urlsafe(16)),
            expires_at=now + timedelta(minutes=30),
        )
    )
    await ApiKey.insert(
        ApiKey(
            prefix=secrets.token_hex(6),
            key_digest="0" * 64,
            name="partner key",
            created_by=user.id,
        )
    )
    # Another person's ticket, assigned to the subject: only the link is the subject's.
    customer = await make_user(Role.customer, display_name="Another requester")
    theirs = await make_ticket(customer, subject="their subject", body="their body")
    await Ticket.update({Ticket.assignee: user.id}).where(Ticket.id == theirs.id)
    await record_event("user.login", actor=Actor("user", user.id), client_ip="203.0.113.9")
    await requests.create_request(
        RequestKind.export, subject_id=user.id, requested_by=user.id, now=now
    )
    if await current_text("marketing_email") is None:
        await publish_text("marketing_email", "May we email you about new features?", via="cli")
    text = await current_text("marketing_email")
    assert text is not None
    await grant_consent(
        principal,
        purpose="marketing_email",
        version=text.version,
        text_sha256=text.text_sha256,
        channel=CLI,
    )
    session = SessionRecord(
        public_id=secrets.token_hex(8),
        user_id=user.id,
        role=role,
        organisation_id=None,
        created_at=now,
        last_seen_at=now,
        authenticated_at=now,
        mfa_at=None,
        client_network="203.0.113.0/24",
        user_agent=f"{marker}-browser/1.0",
    )
    await identity.sessions.put(secrets.token_hex(32), session, ttl_seconds=600)
    subject.values.append(f"{marker}-browser/1.0")
    return subject
