"""Objects of the types that carry no relation (``Subject.NONE``), built through the
services, with the probe call that hands each out and the value of every field.

One maker per type in the policy table that no subject fixture (world.py) or structural
path reaches. ``raw`` holds what the API answers for a field the table grants in full,
already in its JSON form; the matrix compares answers to it exactly.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from audit.ip_blocks import block_ip, list_ip_blocks, unblock_ip
from permissions.roles import Role
from tests.factories import make_user
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


PAYLOADS: dict[str, Callable[[Identity], Awaitable[Payload]]] = {
    "LoginPayload": login_payload,
    "TotpEnrolment": totp_enrolment,
    "RecoveryCodes": recovery_codes,
    "ApiKey": api_key,
    "CreatedApiKey": created_api_key,
    "IpBlock": ip_block,
    "RevealedPersonalData": revealed,
}
