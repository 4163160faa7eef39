"""IP blocks in GraphQL: ``ipBlocks``, ``blockIp``, ``unblockIp`` — admins only.

Thin resolvers over :mod:`audit.ip_blocks` (the same functions automatic responses
call); the serving processes apply a change within about a second.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from audit.ip_blocks import IpBlockRecord, block_ip, list_ip_blocks, unblock_ip
from core.errors import Forbidden
from permissions.principal import Principal
from permissions.roles import Role
from schema.context import Info
from schema.ids import parse_id

__all__ = (
    "BlockIpInput",
    "IpBlockType",
    "resolve_block_ip",
    "resolve_ip_blocks",
    "resolve_unblock_ip",
)


@strawberry.type(name="IpBlock", description="A blocked address or network.")
class IpBlockType:
    id: strawberry.ID
    network: str = strawberry.field(description="CIDR, e.g. 203.0.113.0/24 or 2001:db8::/48.")
    reason: str
    created_by: str = strawberry.field(description="user:<id> or system:<rule>.")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool

    @classmethod
    def from_record(cls, record: IpBlockRecord, now: datetime) -> IpBlockType:
        return cls(
            id=strawberry.ID(str(record.id)),
            network=str(record.network),
            reason=record.reason,
            created_by=record.created_by,
            created_at=record.created_at,
            expires_at=record.expires_at,
            revoked_at=record.revoked_at,
            active=record.is_active(now),
        )


@strawberry.input
class BlockIpInput:
    network: str = strawberry.field(description="An address or a CIDR (IPv4 or IPv6).")
    reason: str
    expires_at: datetime | None = strawberry.field(
        default=None, description="With a time zone; null blocks until unblocked."
    )


def _require_admin(info: Info) -> Principal:
    principal = info.context.principal
    if principal.kind != "user" or principal.role is not Role.admin:
        raise Forbidden()
    return principal


def _actor(principal: Principal) -> str:
    return f"user:{principal.user_id}"


async def resolve_ip_blocks(
    info: Info, first: int = 100, include_inactive: bool = False
) -> list[IpBlockType]:
    _require_admin(info)
    now = datetime.now().astimezone()
    records = await list_ip_blocks(include_inactive=include_inactive)
    return [IpBlockType.from_record(record, now) for record in records[:first]]


async def resolve_block_ip(info: Info, input: BlockIpInput) -> IpBlockType:
    principal = _require_admin(info)
    record = await block_ip(input.network, input.reason, input.expires_at, _actor(principal))
    return IpBlockType.from_record(record, datetime.now().astimezone())


async def resolve_unblock_ip(info: Info, id: strawberry.ID) -> bool:
    principal = _require_admin(info)
    return await unblock_ip(parse_id(id, field="id"), _actor(principal))
