"""The audit trail: append-only security events, each chained to the previous by hash.

Actors and targets are plain identifiers, not foreign keys: the trail must outlive the
rows it describes (erasure pseudonymises users but keeps their history).
"""

from __future__ import annotations

import uuid

from piccolo.columns import JSON, UUID, BigSerial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from privacy.inventory import (
    NOT_PERSONAL,
    Category,
    Column,
    Retention,
    RowErasure,
    classify,
    row_id,
    subject_link,
    timestamp,
)


class AuditEvent(Table, tablename="audit_events"):
    id = BigSerial(primary_key=True)
    occurred_at = Timestamptz(default=TimestamptzNow(), index=True)
    event_type = Varchar(length=64, index=True)
    actor_kind = Varchar(length=16)
    actor_id = UUID(null=True, default=None, index=True)
    request_id = Varchar(length=64, null=True, default=None)
    # Already reduced to a /24 or /48 network by the writer: the trail keeps no full IP.
    client_network = Varchar(length=64, null=True, default=None)
    target_type = Varchar(length=32, null=True, default=None)
    target_id = Varchar(length=64, null=True, default=None)
    details = JSON(default="{}")
    # Unique: each entry has exactly one successor, so two writers racing for the same
    # predecessor cannot fork the chain (the loser retries on the new head).
    previous_hash = Varchar(length=64, unique=True)
    entry_hash = Varchar(length=64, unique=True)


class IpBlock(Table, tablename="ip_blocks"):
    """An admin's (or an automatic rule's) block of an address or network.

    Rows are never deleted by unblocking: ``revoked_at`` ends a block, so the table is
    also the history of who blocked what and why. ``updated_at`` moves on every change;
    serving processes poll a fingerprint of the table to notice changes.
    """

    id = UUID(primary_key=True, default=uuid.uuid4)
    # Canonical CIDR text ("203.0.113.0/24", "2001:db8::/48"); a single address is /32 or /128.
    network = Varchar(length=64, index=True)
    reason = Varchar(length=500)
    # "user:<uuid>" for admins, "system:<rule>" for automatic responses.
    created_by = Varchar(length=100)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None, index=True)
    revoked_by = Varchar(length=100, null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow(), index=True)


# The data inventory (privacy/inventory.py). The trail is evidence: an erased subject's
# events stay (their actor id is then a pseudonym), and no writer puts contact data or
# content in them (details hold field names, reasons and counts).
_SECURITY = "security monitoring and accountability (art. 32)"

classify(
    AuditEvent,
    subject="actor_id",
    purpose=_SECURITY,
    # Not a timed rule on purpose: deleting the oldest entries would break `audit verify`
    # (each entry hashes its predecessor); pruning needs an anchored checkpoint first.
    retention=Retention("one year intended; not pruned until the chain can be anchored"),
    on_erasure=RowErasure.keep,
    columns={
        "id": row_id(),
        "occurred_at": timestamp(),
        "event_type": Column(Category.security, _SECURITY),
        "actor_kind": NOT_PERSONAL,
        "actor_id": subject_link(_SECURITY),
        "request_id": NOT_PERSONAL,
        "client_network": Column(Category.security, _SECURITY),
        "target_type": NOT_PERSONAL,
        "target_id": Column(Category.identifier, _SECURITY),
        "details": Column(Category.security, _SECURITY),
        "previous_hash": Column(Category.none, "tamper evidence"),
        "entry_hash": Column(Category.none, "tamper evidence"),
    },
)

classify(
    IpBlock,
    subject=None,
    purpose="defence against attacks from a network",
    retention=Retention("a year after it ends", days=365, after="revoked_at"),
    on_erasure=RowErasure.keep,
    columns={
        "id": row_id(),
        # An address is personal data (CJEU C-582/14): kept only as long as the block.
        "network": Column(Category.security, "defence against attacks"),
        "reason": Column(Category.content, "accountability for blocks"),
        "created_by": Column(Category.identifier, "accountability for blocks"),
        "created_at": timestamp(),
        "expires_at": timestamp(),
        "revoked_at": timestamp(),
        "revoked_by": Column(Category.identifier, "accountability for blocks"),
        "updated_at": timestamp(),
    },
)
