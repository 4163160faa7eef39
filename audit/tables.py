"""The audit trail: append-only security events, each chained to the previous by hash.

Actors and targets are plain identifiers, not foreign keys: the trail must outlive the
rows it describes (erasure pseudonymises users but keeps their history).
"""

from __future__ import annotations

from piccolo.columns import JSON, UUID, BigSerial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


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
    previous_hash = Varchar(length=64)
    entry_hash = Varchar(length=64, unique=True)
