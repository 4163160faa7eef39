"""Attachment use cases: upload to a visible ticket, list, and fetch for download.

Every query is scoped by :mod:`desk.services.visibility` through the ticket: whoever may
see a ticket may see its attachments, nobody else (an id of another organisation's
attachment is "not found", as a missing one is).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from audit.trail import Actor, record_event
from core.errors import Forbidden
from desk.attachments import (
    AttachmentRefused,
    AttachmentScanner,
    AttachmentStore,
    ScanVerdict,
    safe_filename,
    sniff,
)
from desk.records import AttachmentRecord
from desk.services.tickets import require_ticket
from desk.services.visibility import visible_tickets
from desk.tables import Attachment, Ticket
from permissions.principal import Principal

_SWEEP_BATCH = 500


@dataclass(frozen=True, slots=True)
class AttachmentPolicy:
    """What uploads may be, and where they go (built from settings once)."""

    store: AttachmentStore
    scanner: AttachmentScanner
    max_bytes: int
    max_per_ticket: int


async def upload_attachment(
    principal: Principal,
    ticket_id: uuid.UUID,
    *,
    filename: str | None,
    data: bytes,
    policy: AttachmentPolicy,
    client_ip: str | None = None,
    request_id: str | None = None,
) -> AttachmentRecord:
    """Store ``data`` as an attachment of a ticket the principal sees.

    Raises Forbidden (not a signed-in user), NotFound (ticket not visible) or
    AttachmentRefused (too large, too many, type not allowed or malformed, a polyglot,
    or the scanner said no). Nothing is stored unless every check passed.
    """
    if principal.kind != "user" or principal.user_id is None:
        raise Forbidden()
    if len(data) > policy.max_bytes:
        raise AttachmentRefused(f"The file is larger than {policy.max_bytes} bytes.")
    ticket = await require_ticket(principal, ticket_id)
    if await Attachment.count().where(Attachment.ticket == ticket.id) >= policy.max_per_ticket:
        raise AttachmentRefused(f"A ticket holds at most {policy.max_per_ticket} attachments.")
    kind = await asyncio.to_thread(sniff, data)
    actor = Actor("user", principal.user_id)
    verdict = await _scan(policy.scanner, data, kind.media_type)
    if not verdict.accepted:
        await record_event(
            "attachment_rejected",
            actor=actor,
            client_ip=client_ip,
            request_id=request_id,
            target_type="ticket",
            target_id=str(ticket.id),
            details={"reason": verdict.reason, "content_type": kind.media_type},
        )
        raise AttachmentRefused("The file was rejected by the malware scan.")
    storage_key = await asyncio.to_thread(policy.store.save, data)
    row = Attachment(
        id=uuid.uuid4(),
        ticket=ticket.id,
        uploaded_by=principal.user_id,
        filename=safe_filename(filename, kind),
        content_type=kind.media_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=storage_key,
        created_at=datetime.now(UTC),
    )
    try:
        # Counted again under a lock on the ticket: concurrent uploads that all passed
        # the first count take turns here, and only those within the limit are kept.
        async with _ticket_locked(ticket.id):
            held = await Attachment.count().where(Attachment.ticket == ticket.id)
            if held >= policy.max_per_ticket:
                raise AttachmentRefused(
                    f"A ticket holds at most {policy.max_per_ticket} attachments."
                )
            await row.save()
    except BaseException:
        await asyncio.to_thread(policy.store.delete, storage_key)
        raise
    await record_event(
        "attachment_uploaded",
        actor=actor,
        client_ip=client_ip,
        request_id=request_id,
        target_type="attachment",
        target_id=str(row.id),
        details={"ticket": str(ticket.id), "content_type": kind.media_type, "size": len(data)},
    )
    return AttachmentRecord.from_row(row.to_dict())


@asynccontextmanager
async def _ticket_locked(ticket_id: uuid.UUID) -> AsyncIterator[None]:
    """A transaction in which no other upload to the ticket can count or insert: the
    ticket's row locked on PostgreSQL; on SQLite, an IMMEDIATE transaction (one writer)."""
    engine = Attachment._meta.db
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction(transaction_type=TransactionType.immediate):
            yield
        return
    async with engine.transaction():
        await Ticket.select(Ticket.id).where(Ticket.id == ticket_id).lock_rows()
        yield


async def _scan(scanner: AttachmentScanner, data: bytes, content_type: str) -> ScanVerdict:
    try:
        return await scanner.scan(data, content_type)
    except Exception as error:  # fail closed: a broken scanner refuses, never waves through
        return ScanVerdict(accepted=False, reason=f"scanner failed: {type(error).__name__}")


async def visible_attachment(
    principal: Principal, attachment_id: uuid.UUID
) -> AttachmentRecord | None:
    """The attachment, or None when missing or on a ticket the principal cannot see.
    Signed-in users only: partner keys read no files."""
    scope = visible_tickets(principal)
    if scope is None or principal.kind != "user":
        return None
    visible = Ticket.select(Ticket.id).where(*scope) if scope else Ticket.select(Ticket.id)
    row = (
        await Attachment.select()
        .where(Attachment.id == attachment_id, Attachment.ticket.is_in(visible))
        .first()
    )
    return AttachmentRecord.from_row(row) if row else None


async def attachments_for_tickets(
    principal: Principal, ticket_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[AttachmentRecord]]:
    """Each visible ticket's attachments, oldest first, in one query (users only)."""
    result: dict[uuid.UUID, list[AttachmentRecord]] = defaultdict(list)
    scope = visible_tickets(principal)
    if not ticket_ids or scope is None or principal.kind != "user":
        return result
    visible = Ticket.select(Ticket.id).where(Ticket.id.is_in(list(ticket_ids)), *scope)
    rows = await (
        Attachment.select()
        .where(Attachment.ticket.is_in(visible))
        .order_by(Attachment.created_at, Attachment.id)
    )
    for row in rows:
        record = AttachmentRecord.from_row(row)
        result[record.ticket_id].append(record)
    return result


async def purge_erased_files(store: AttachmentStore) -> int:
    """Delete the stored file of every attachment whose content erasure or retention
    has erased (its sha256 emptied, per the data inventory), then give the row a
    tombstone key so it is not picked again. Safe to repeat; returns how many went."""
    purged = 0
    while True:
        rows = (
            await Attachment.select(Attachment.id, Attachment.storage_key)
            .where(Attachment.sha256 == "", Attachment.storage_key.not_like("erased-%"))
            .limit(_SWEEP_BATCH)
        )
        if not rows:
            return purged
        for row in rows:
            await asyncio.to_thread(store.delete, row["storage_key"])
            # Unique and unguessable, and no longer a key the store would accept.
            tombstone = f"erased-{secrets.token_hex(16)}"
            await Attachment.update({Attachment.storage_key: tombstone}).where(
                Attachment.id == row["id"]
            )
        purged += len(rows)


async def sweep_orphaned_files(store: AttachmentStore, *, now: float | None = None) -> int:
    """Delete stored files no attachment row points to any more (erasure and retention
    replace a row's storage key; a crash can leave a file without its row). Files
    younger than the store's grace period are left alone. Returns how many went."""
    candidates = await asyncio.to_thread(store.sweep_candidates, now=now)
    removed = 0
    for start in range(0, len(candidates), _SWEEP_BATCH):
        batch = candidates[start : start + _SWEEP_BATCH]
        keys = [name for name in batch if not name.endswith(".partial")]
        rows = (
            await Attachment.select(Attachment.storage_key).where(
                Attachment.storage_key.is_in(keys)
            )
            if keys
            else []
        )
        kept = {row["storage_key"] for row in rows}
        orphans = [name for name in batch if name not in kept]
        for name in orphans:
            await asyncio.to_thread(store.delete, name)
        removed += len(orphans)
    return removed


__all__ = (
    "AttachmentPolicy",
    "AttachmentRefused",
    "attachments_for_tickets",
    "purge_erased_files",
    "sweep_orphaned_files",
    "upload_attachment",
    "visible_attachment",
)
