"""Partner API keys: created by admins (with step-up), shown once, stored as a digest.

A key is ``odk_<prefix>_<secret>``: the prefix finds the row, the SHA-256 of the whole
key is compared in constant time. Keys can expire, be limited to networks, be revoked,
and be rotated with an overlap window during which the old key still works.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from accounts.services.identity import Identity
from accounts.services.mfa import require_recent_mfa
from accounts.tables import ApiKey, Organisation
from accounts.tokens import new_api_key, parse_api_key, token_digest, tokens_equal
from core.errors import BadUserInput, Forbidden, NotFound
from core.text import clean_text
from permissions.policy import SCOPE_AUDIENCES
from permissions.principal import Principal
from permissions.roles import Role

# The field policy says what each scope grants; a scope it does not know grants nothing.
KNOWN_SCOPES = frozenset(SCOPE_AUDIENCES)
# Scopes that reach the users of one organisation only: the key must name it.
ORGANISATION_SCOPES = frozenset({"marketing:export"})
_LAST_USED_EVERY_SECONDS = 60


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: uuid.UUID
    prefix: str
    name: str
    organisation_id: uuid.UUID | None
    scopes: tuple[str, ...]
    allowed_networks: tuple[str, ...]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ApiKeyRecord:
        return cls(
            id=row["id"],
            prefix=row["prefix"],
            name=row["name"],
            organisation_id=row["organisation"],
            scopes=tuple(_json_list(row["scopes"])),
            allowed_networks=tuple(_json_list(row["allowed_networks"])),
            expires_at=row["expires_at"],
            last_used_at=row["last_used_at"],
            revoked_at=row["revoked_at"],
            created_at=row["created_at"],
        )


def _json_list(value: Any) -> list[str]:
    import json

    loaded = json.loads(value) if isinstance(value, str) else value
    return [str(item) for item in loaded or []]


def _require_admin(identity: Identity, principal: Principal) -> uuid.UUID:
    user_id = require_recent_mfa(identity, principal)
    if principal.role is not Role.admin:
        raise Forbidden()
    return user_id


def _validated_networks(networks: list[str]) -> list[str]:
    result = []
    for index, network in enumerate(networks):
        try:
            result.append(str(ipaddress.ip_network(network.strip(), strict=True)))
        except ValueError:
            raise BadUserInput(
                "Not a valid IP network.", field=f"input.allowedNetworks.{index}"
            ) from None
    return result


async def create_api_key(
    identity: Identity,
    principal: Principal,
    *,
    name: str,
    scopes: list[str],
    organisation_id: uuid.UUID | None,
    expires_at: datetime | None,
    allowed_networks: list[str],
) -> tuple[ApiKeyRecord, str]:
    """Returns the record and the full key, which is never retrievable again."""
    creator = _require_admin(identity, principal)
    clean_name = clean_text(name, field="input.name", max_length=100)
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown or not scopes:
        raise BadUserInput(
            f"Scopes must be among: {', '.join(sorted(KNOWN_SCOPES))}.", field="input.scopes"
        )
    if organisation_id is None and ORGANISATION_SCOPES & set(scopes):
        raise BadUserInput(
            f"Keys with {', '.join(sorted(ORGANISATION_SCOPES & set(scopes)))} must name "
            "an organisation.",
            field="input.organisationId",
        )
    if expires_at is not None and expires_at <= identity.now():
        raise BadUserInput("Expiry must be in the future.", field="input.expiresAt")
    if organisation_id is not None and not await Organisation.exists().where(
        Organisation.id == organisation_id
    ):
        raise BadUserInput("Unknown organisation.", field="input.organisationId")
    full_key, prefix, digest = new_api_key()
    key_id = uuid.uuid4()
    await ApiKey.insert(
        ApiKey(
            id=key_id,
            prefix=prefix,
            key_digest=digest,
            name=clean_name,
            organisation=organisation_id,
            scopes=sorted(set(scopes)),
            allowed_networks=_validated_networks(allowed_networks),
            created_by=creator,
            expires_at=expires_at,
            created_at=identity.now(),
        )
    )
    return await _record(key_id), full_key


async def rotate_api_key(
    identity: Identity, principal: Principal, key_id: uuid.UUID
) -> tuple[ApiKeyRecord, str]:
    """A new key with the same grants; the old one keeps working for the overlap window."""
    _require_admin(identity, principal)
    old = await _record(key_id)
    if old.revoked_at is not None:
        raise NotFound()
    created = await create_api_key(
        identity,
        principal,
        name=old.name,
        scopes=list(old.scopes),
        organisation_id=old.organisation_id,
        expires_at=old.expires_at,
        allowed_networks=list(old.allowed_networks),
    )
    overlap_end = identity.now() + timedelta(
        seconds=identity.config.api_key_rotation_overlap_seconds
    )
    new_expiry = min(old.expires_at, overlap_end) if old.expires_at else overlap_end
    await ApiKey.update({ApiKey.expires_at: new_expiry}).where(ApiKey.id == key_id)
    return created


async def revoke_api_key(identity: Identity, principal: Principal, key_id: uuid.UUID) -> None:
    _require_admin(identity, principal)
    revoked = (
        await ApiKey.update({ApiKey.revoked_at: identity.now()})
        .where((ApiKey.id == key_id) & ApiKey.revoked_at.is_null())
        .returning(ApiKey.id)
    )
    if not revoked:
        raise NotFound()


async def list_api_keys(
    identity: Identity, principal: Principal, *, limit: int = 50
) -> list[ApiKeyRecord]:
    if principal.role is not Role.admin:
        raise Forbidden()
    rows = await ApiKey.select().order_by(ApiKey.created_at, ascending=False).limit(limit)
    return [ApiKeyRecord.from_row(row) for row in rows]


async def _record(key_id: uuid.UUID) -> ApiKeyRecord:
    row = await ApiKey.select().where(ApiKey.id == key_id).first()
    if row is None:
        raise NotFound()
    return ApiKeyRecord.from_row(row)


async def authenticate_api_key(
    identity: Identity, presented: str, client_ip: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> Principal | None:
    """The partner principal for a valid, live key used from an allowed network; else None."""
    parsed = parse_api_key(presented)
    if parsed is None:
        return None
    prefix, _secret = parsed
    row = await ApiKey.select().where(ApiKey.prefix == prefix).first()
    if row is None or not tokens_equal(token_digest(presented), row["key_digest"]):
        return None
    record = ApiKeyRecord.from_row(row)
    now = identity.now()
    if record.revoked_at is not None or (record.expires_at and record.expires_at <= now):
        return None
    if record.allowed_networks and not any(
        client_ip in ipaddress.ip_network(network) for network in record.allowed_networks
    ):
        return None
    if (
        record.last_used_at is None
        or (now - record.last_used_at).total_seconds() > _LAST_USED_EVERY_SECONDS
    ):
        await ApiKey.update({ApiKey.last_used_at: now}).where(ApiKey.id == record.id)
    return Principal(
        kind="partner",
        organisation_id=record.organisation_id,
        scopes=frozenset(record.scopes),
        api_key_id=record.id,
        authenticated_at=now,
    )
