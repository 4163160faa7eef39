"""IP blocks, durably: the one way to block, unblock and list addresses or networks.

Admins (the ``blockIp`` mutation) and automatic responses (anomaly rules) call the same
:func:`block_ip`. This module only writes and reads the database; serving processes
keep an in-memory copy (``api.limits.ip_blocks.IpBlockList``) that notices changes by
polling :func:`blocks_fingerprint`, and changes made in this process at once through
:func:`local_generation`.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from piccolo.query.functions.aggregate import Count, Max

from audit.tables import IpBlock
from audit.trail import Actor, record_event
from core.errors import BadUserInput

__all__ = (
    "IpBlockRecord",
    "IpNetwork",
    "active_blocks",
    "block_ip",
    "blocks_fingerprint",
    "list_ip_blocks",
    "local_generation",
    "parse_network",
    "unblock_ip",
)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_REASON_LENGTH = 500
MAX_ACTOR_LENGTH = 100

_generation = 0  # bumped by every write in this process


@dataclass(frozen=True, slots=True)
class IpBlockRecord:
    id: uuid.UUID
    network: IpNetwork
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def parse_network(
    value: str | IpNetwork | ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> IpNetwork:
    """An address (as its /32 or /128) or a CIDR. Raises BadUserInput(field="network")
    for garbage, host bits set ("203.0.113.7/24" is ambiguous) or a /0."""
    try:
        network = ipaddress.ip_network(value if not isinstance(value, str) else value.strip())
    except ValueError:
        raise BadUserInput("Not an IP address or CIDR network.", field="network") from None
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        mapped = network.network_address.ipv4_mapped
        network = ipaddress.IPv4Network((mapped, max(0, network.prefixlen - 96)))
    if network.prefixlen == 0:
        raise BadUserInput("Refusing to block every address.", field="network")
    return network


async def block_ip(
    network: str | IpNetwork | ipaddress.IPv4Address | ipaddress.IPv6Address,
    reason: str,
    expires_at: datetime | None,
    actor: str,
) -> IpBlockRecord:
    """Block ``network`` until ``expires_at`` (None: until unblocked).

    ``actor`` is ``"user:<uuid>"`` or ``"system:<rule>"``. Raises BadUserInput for a bad
    network, an empty or over-long reason, or an expiry not in the future. Serving
    processes apply the block within about a second. Allowlisted clients (settings) are
    never blocked, whatever the block list says.
    """
    parsed = parse_network(network)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise BadUserInput(
            f"A reason of 1 to {MAX_REASON_LENGTH} characters is required.", field="reason"
        )
    now = datetime.now(UTC)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise BadUserInput("The expiry needs a time zone.", field="expiresAt")
        if expires_at <= now:
            raise BadUserInput("The expiry must be in the future.", field="expiresAt")
    row = IpBlock(
        id=uuid.uuid4(),
        network=str(parsed),
        reason=reason,
        created_by=_actor(actor),
        created_at=now,
        expires_at=expires_at,
        updated_at=now,
    )
    await row.save()
    _changed()
    await record_event(
        "ip.blocked",
        actor=_audit_actor(actor),
        target_type="ip_block",
        target_id=str(row.id),
        # The network itself stays in the block row (which has its own retention): the
        # trail keeps no full address.
        details={
            "prefix_length": parsed.prefixlen,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return _record(row.to_dict())


async def unblock_ip(block_id: uuid.UUID, actor: str) -> bool:
    """End block ``block_id``; False when there is no such block still in force."""
    now = datetime.now(UTC)
    updated = (
        await IpBlock.update(
            {IpBlock.revoked_at: now, IpBlock.revoked_by: _actor(actor), IpBlock.updated_at: now}
        )
        .where((IpBlock.id == block_id) & IpBlock.revoked_at.is_null())
        .returning(IpBlock.id)
    )
    _changed()
    if updated:
        await record_event(
            "ip.unblocked",
            actor=_audit_actor(actor),
            target_type="ip_block",
            target_id=str(block_id),
        )
    return bool(updated)


async def list_ip_blocks(*, include_inactive: bool = False) -> list[IpBlockRecord]:
    """Blocks, newest first; by default only those in force now."""
    rows = await IpBlock.select().order_by(IpBlock.created_at, ascending=False)
    records = [_record(row) for row in rows]
    if include_inactive:
        return records
    now = datetime.now(UTC)
    return [record for record in records if record.is_active(now)]


async def active_blocks() -> list[tuple[IpNetwork, datetime | None]]:
    """(network, expires_at) of every unrevoked block whose expiry is not yet past."""
    now = datetime.now(UTC)
    rows = await IpBlock.select(IpBlock.network, IpBlock.expires_at).where(
        IpBlock.revoked_at.is_null() & (IpBlock.expires_at.is_null() | (IpBlock.expires_at > now))
    )
    return [(ipaddress.ip_network(row["network"]), _aware(row["expires_at"])) for row in rows]


async def blocks_fingerprint() -> tuple[object, ...]:
    """Changes whenever a block is added, revoked or purged (one cheap aggregate query).

    Counts as well as the latest ``updated_at``: writers' clocks may disagree, so the
    timestamp alone could miss a change written by a process whose clock is behind.
    """
    rows = await IpBlock.select(
        Count(alias="total"),
        Count(IpBlock.revoked_at, alias="revoked"),
        Max(IpBlock.updated_at, alias="latest"),
    )
    row = rows[0] if rows else {}
    return (row.get("total"), row.get("revoked"), str(row.get("latest")))


def local_generation() -> int:
    """A number that changes whenever this process writes a block (checked per request)."""
    return _generation


def _changed() -> None:
    global _generation
    _generation += 1


def _actor(actor: str) -> str:
    actor = actor.strip()
    if not actor or len(actor) > MAX_ACTOR_LENGTH:
        raise ValueError("actor must be 1 to 100 characters, e.g. 'user:<uuid>'")
    return actor


def _audit_actor(actor: str) -> Actor:
    kind, _, identifier = actor.strip().partition(":")
    if kind == "user":
        try:
            return Actor("user", uuid.UUID(identifier))
        except ValueError:
            pass
    return Actor("system", None)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for what was stored as UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _record(row: dict[str, object]) -> IpBlockRecord:
    return IpBlockRecord(
        id=row["id"] if isinstance(row["id"], uuid.UUID) else uuid.UUID(str(row["id"])),
        network=ipaddress.ip_network(str(row["network"])),
        reason=str(row["reason"]),
        created_by=str(row["created_by"]),
        created_at=_aware(row["created_at"]),  # type: ignore[arg-type]
        expires_at=_aware(row["expires_at"]),  # type: ignore[arg-type]
        revoked_at=_aware(row["revoked_at"]),  # type: ignore[arg-type]
        revoked_by=None if row["revoked_by"] is None else str(row["revoked_by"]),
    )
