"""Objects of the types that carry no relation (``Subject.NONE``), built through the
services, with the probe call that hands each out and the value of every field.

One maker per type in the policy table that no subject fixture (world.py) or structural
path reaches. ``raw`` holds what the API answers for a field the table grants in full,
already in its JSON form; the matrix compares answers to it exactly.
"""

from __future__ import annotations

import ipaddress
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp

from accounts.services import mfa
from accounts.services.api_keys import (
    ApiKeyRecord,
    authenticate_api_key,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from accounts.services.identity import Identity
from accounts.services.marketing import MARKETING_PURPOSE, contact_cursor
from audit.ip_blocks import block_ip, list_ip_blocks, unblock_ip
from desk.attachments import AcceptAll, AttachmentStore
from desk.services.attachments import AttachmentPolicy, upload_attachment
from permissions.roles import Role
from privacy import requests
from privacy.consent import Channel, consents_of, grant_consent
from privacy.consent_texts import PurposeText, publish_text
from privacy.request_tables import RequestKind
from tests.factories import make_organisation, make_ticket, make_user, principal_of
from tests.permissions.identity_world import principal_of_session, sign_in, stored_session
from tests.permissions.world import STAFF

_PARTNER_NETWORK = "203.0.113.0/24"


@dataclass(frozen=True)
class Payload:
    call: str  # the probe field with its arguments, e.g. "apiKey(id: $id)"
    head: str  # the operation's variable definitions
    variables: dict[str, object]
    raw: dict[str, Any]  # GraphQL field name -> the answer when the field is full


def _json(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def login_payload(identity: Identity) -> Payload:
    # An admin signed in without MFA: the payload says enrolment is required.
    admin = await make_user(Role.admin)
    session = await sign_in(identity, admin, with_mfa=False)
    record = await stored_session(identity, session)
    lifetime = timedelta(seconds=identity.config.session_lifetime_seconds)
    return Payload(
        "loginPayload(owner: $owner, session: $session)",
        "$owner: ID!, $session: ID!",
        {"owner": str(admin.id), "session": record.public_id},
        {
            "sessionExpiresAt": _json(record.created_at + lifetime),
            "mfaEnrolmentRequired": True,
        },
    )


async def _enrolment(identity: Identity) -> tuple[mfa.TotpEnrolment, list[str]]:
    user = await make_user(Role.customer)
    principal = principal_of_session(await sign_in(identity, user))
    enrolment = await mfa.enroll_totp(identity, principal)
    codes = await mfa.confirm_totp(identity, principal, pyotp.TOTP(enrolment.secret).now())
    return enrolment, codes


async def totp_enrolment(identity: Identity) -> Payload:
    enrolment, _codes = await _enrolment(identity)
    return Payload(
        "totpEnrolment(secret: $secret, otpauthUri: $uri)",
        "$secret: String!, $uri: String!",
        {"secret": enrolment.secret, "uri": enrolment.otpauth_uri},
        {"secret": enrolment.secret, "otpauthUri": enrolment.otpauth_uri},
    )


async def recovery_codes(identity: Identity) -> Payload:
    _enrolment_shown, codes = await _enrolment(identity)
    return Payload(
        "recoveryCodes(codes: $codes)", "$codes: [String!]!", {"codes": codes}, {"codes": codes}
    )


async def _new_api_key(identity: Identity) -> tuple[ApiKeyRecord, str]:
    # An admin with a fresh second-factor check: the step-up create_api_key requires.
    admin = await make_user(Role.admin)
    principal = principal_of_session(await sign_in(identity, admin))
    return await create_api_key(
        identity,
        principal,
        name="Probe partner",
        scopes=["users:read", "tickets:read"],
        organisation_id=None,
        expires_at=identity.now() + timedelta(days=30),
        allowed_networks=[_PARTNER_NETWORK],
    )


async def _reloaded(identity: Identity, key_id: uuid.UUID) -> ApiKeyRecord:
    records = await list_api_keys(identity, STAFF, limit=100)
    return next(record for record in records if record.id == key_id)


async def api_key(identity: Identity) -> Payload:
    created, key = await _new_api_key(identity)
    # Used once from its network, then revoked: every nullable field has a value.
    partner = await authenticate_api_key(identity, key, ipaddress.ip_address("203.0.113.9"))
    assert partner is not None
    admin = principal_of_session(await sign_in(identity, await make_user(Role.admin)))
    await revoke_api_key(identity, admin, created.id)
    record = await _reloaded(identity, created.id)
    assert record.last_used_at is not None
    assert record.revoked_at is not None
    return Payload(
        "apiKey(id: $id)",
        "$id: ID!",
        {"id": str(record.id)},
        {
            "id": str(record.id),
            "name": record.name,
            "prefix": record.prefix,
            "scopes": list(record.scopes),
            "allowedNetworks": list(record.allowed_networks),
            "expiresAt": _json(record.expires_at),
            "lastUsedAt": _json(record.last_used_at),
            "revokedAt": _json(record.revoked_at),
            "createdAt": _json(record.created_at),
        },
    )


async def created_api_key(identity: Identity) -> Payload:
    created, key = await _new_api_key(identity)
    return Payload(
        "createdApiKey(id: $id, key: $key)",
        "$id: ID!, $key: String!",
        {"id": str(created.id), "key": key},
        {"apiKey": {"__typename": "ApiKey"}, "key": key},
    )


async def ip_block(identity: Identity) -> Payload:
    expires_at = identity.now() + timedelta(days=1)
    actor = f"user:{uuid.uuid4()}"
    blocked = await block_ip("198.51.100.64/26", "Probe: credential stuffing", expires_at, actor)
    # Ended again, so revokedAt has a value (and active is false, not null).
    assert await unblock_ip(blocked.id, actor)
    records = await list_ip_blocks(include_inactive=True)
    record = next(record for record in records if record.id == blocked.id)
    assert record.revoked_at is not None
    return Payload(
        "ipBlock(id: $id)",
        "$id: ID!",
        {"id": str(record.id)},
        {
            "id": str(record.id),
            "network": "198.51.100.64/26",
            "reason": "Probe: credential stuffing",
            "createdBy": actor,
            "createdAt": _json(record.created_at),
            "expiresAt": _json(record.expires_at),
            "revokedAt": _json(record.revoked_at),
            "active": False,
        },
    )


async def revealed(identity: Identity) -> Payload:
    user_id = str(uuid.uuid4())
    email, phone = "revealed@example.com", "+44 20 7946 0333"
    return Payload(
        "revealed(userId: $id, email: $email, phone: $phone)",
        "$id: ID!, $email: String!, $phone: String!",
        {"id": user_id, "email": email, "phone": phone},
        {"userId": user_id, "email": email, "phone": phone},
    )


async def _consenting_user(purpose: str) -> tuple[Any, PurposeText]:
    text = await publish_text(purpose, f"Probe: may we use your data for {purpose}?", via="cli")
    user = await make_user(Role.customer, await make_organisation(), display_name="Probe Consenter")
    await grant_consent(
        principal_of(user),
        purpose=purpose,
        version=text.version,
        text_sha256=text.text_sha256,
        channel=Channel("graphql"),
    )
    return user, text


async def consent_purpose(identity: Identity) -> Payload:
    _user, text = await _consenting_user("probe_purpose")
    return Payload(
        "consentPurpose(purpose: $purpose)",
        "$purpose: String!",
        {"purpose": text.purpose},
        {
            "purpose": text.purpose,
            "version": text.version,
            "text": text.text,
            "textSha256": text.text_sha256,
            "publishedAt": _json(text.published_at),
        },
    )


async def consent(identity: Identity) -> Payload:
    user, text = await _consenting_user("probe_purpose")
    (state,) = await consents_of(principal_of(user))
    return Payload(
        "consent(owner: $owner, purpose: $purpose)",
        "$owner: ID!, $purpose: String!",
        {"owner": str(user.id), "purpose": text.purpose},
        {
            "purpose": text.purpose,
            "status": "granted",
            "granted": True,
            "currentVersion": text.version,
            "version": text.version,
            "textSha256": text.text_sha256,
            "changedAt": _json(state.changed_at),
            "method": "graphql",
        },
    )


async def _marketing_payload(call: str, raw: Any) -> Payload:
    user, _text = await _consenting_user(MARKETING_PURPOSE)
    return Payload(
        f"{call}(organisation: $organisation)",
        "$organisation: ID!",
        {"organisation": str(user.organisation_id)},
        raw(user),
    )


async def marketing_contact(identity: Identity) -> Payload:
    return await _marketing_payload(
        "marketingContact",
        lambda user: {"id": str(user.id), "displayName": user.display_name, "email": user.email},
    )


async def marketing_contact_edge(identity: Identity) -> Payload:
    return await _marketing_payload(
        "marketingContactEdge",
        lambda user: {
            "cursor": contact_cursor(user.id),
            "node": {"__typename": "MarketingContact"},
        },
    )


async def marketing_contact_connection(identity: Identity) -> Payload:
    return await _marketing_payload(
        "marketingContacts",
        lambda _user: {
            "edges": [{"__typename": "MarketingContactEdge"}],
            "pageInfo": {"__typename": "PageInfo"},
        },
    )


async def data_request(identity: Identity) -> Payload:
    # Finished and failed once: every nullable field has a value.
    user = await make_user(Role.customer)
    now = identity.now()
    created = await requests.create_request(
        RequestKind.erasure,
        subject_id=user.id,
        requested_by=user.id,
        now=now,
        not_before=now,
    )
    await requests.fail_request(created.id, "error probe")
    await requests.finish_export(created.id, f"{created.id}.zip", now)
    record = await requests.get_request(created.id)
    assert record is not None
    return Payload(
        "dataRequest(id: $id)",
        "$id: ID!",
        {"id": str(record.id)},
        {
            "id": str(record.id),
            "kind": "erasure",
            "status": "ready",
            "subjectId": str(user.id),
            "requestedAt": _json(record.requested_at),
            "dueAt": _json(record.due_at),
            "overdue": False,
            "notBefore": _json(record.not_before),
            "finishedAt": _json(record.finished_at),
            "archiveExpiresAt": _json(record.archive_expires_at),
            "error": None,
        },
    )


async def download_link(identity: Identity) -> Payload:
    url = "/privacy/downloads/probe-token"
    return Payload(
        "downloadLink(url: $url, expires: $expires)",
        "$url: String!, $expires: Int!",
        {"url": url, "expires": 900},
        {"url": url, "expiresInSeconds": 900},
    )


async def attachment(identity: Identity) -> Payload:
    customer = await make_user(Role.customer)
    ticket = await make_ticket(customer)
    policy = AttachmentPolicy(
        store=AttachmentStore(Path(tempfile.mkdtemp(prefix="opendesk-probe-"))),
        scanner=AcceptAll(),
        max_bytes=1024,
        max_per_ticket=5,
    )
    record = await upload_attachment(
        principal_of(customer), ticket.id, filename="notes.txt", data=b"hello", policy=policy
    )
    return Payload(
        "attachment(ticketId: $ticket, id: $id)",
        "$ticket: ID!, $id: ID!",
        {"ticket": str(ticket.id), "id": str(record.id)},
        {
            "id": str(record.id),
            "filename": "notes.txt",
            "contentType": "text/plain",
            "sizeBytes": 5,
            "createdAt": _json(record.created_at),
            "downloadPath": f"/attachments/{record.id}",
        },
    )


PAYLOADS: dict[str, Callable[[Identity], Awaitable[Payload]]] = {
    "Attachment": attachment,
    "LoginPayload": login_payload,
    "TotpEnrolment": totp_enrolment,
    "RecoveryCodes": recovery_codes,
    "ApiKey": api_key,
    "CreatedApiKey": created_api_key,
    "IpBlock": ip_block,
    "RevealedPersonalData": revealed,
    "ConsentPurpose": consent_purpose,
    "Consent": consent,
    "MarketingContact": marketing_contact,
    "MarketingContactEdge": marketing_contact_edge,
    "MarketingContactConnection": marketing_contact_connection,
    "DataRequest": data_request,
    "DownloadLink": download_link,
}
