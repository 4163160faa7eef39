"""Erasure (GDPR art. 17) of one subject's data in the database, driven by the inventory.

For every table and every column that links rows to the subject: rows the inventory says
to delete are deleted (credentials, tokens, the subject's data key: crypto-shredding),
rows it says to keep as history are updated column by column (content redacted, names
pseudonymised, contact data emptied, flags switched off). Each step is one statement
that is safe to repeat, so an erasure interrupted at any point finishes by running it
again (``opendesk privacy erase`` or the request runner), and running it after a
restore from backup erases again what the backup brought back.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import Or, Where

from privacy.inventory import Erase, RowErasure, TableInventory, personal_tables

REDACTED = "[erased]"
BATCH_SIZE = 1000

# Called after each step with its name ("tickets.requester"); the request runner logs
# progress with it, and the fault-injection test stops an erasure half-way through it.
StepHook = Callable[[str], Awaitable[None]]


def pseudonym_for(request_id: uuid.UUID) -> str:
    """The name an erased subject's history shows: stable per request (a re-run writes
    the same), unlinkable to the person (derived from the request's random id)."""
    return f"Erased user {hashlib.sha256(request_id.bytes).hexdigest()[:10]}"


@dataclass(slots=True)
class ErasureReport:
    rows_per_step: dict[str, int] = field(default_factory=dict)


async def erase_subject(
    subject_id: uuid.UUID,
    *,
    pseudonym: str,
    after_step: StepHook | None = None,
) -> ErasureReport:
    """Erase the subject's data from every table the inventory links to it. Idempotent."""
    report = ErasureReport()
    for entry in erasure_order():
        for link in entry.subject_columns():
            step = f"{entry.name}.{link}"
            if entry.on_erasure is RowErasure.delete and link == entry.subject:
                report.rows_per_step[step] = await _delete_rows(entry, link, subject_id)
            else:
                values = _erased_values(entry, link, pseudonym)
                if not values:
                    continue
                report.rows_per_step[step] = await _update_rows(entry, link, subject_id, values)
            if after_step is not None:
                await after_step(step)
    return report


def erasure_order() -> list[TableInventory]:
    """The data key goes first (crypto-shredding is the one step that also reaches
    backups), then credentials (nothing can sign in as the subject any more), then the
    history, and the subject's own row last: a half-done erasure still shows the operator
    re-running it whose it was."""

    def rank(entry: TableInventory) -> tuple[int, str]:
        keyed_by_subject = entry.subject == entry.table._meta.primary_key._meta.name
        if entry.on_erasure is RowErasure.delete:
            return (0 if keyed_by_subject else 1, entry.name)
        return (3 if keyed_by_subject else 2, entry.name)

    entries = [entry for entry in personal_tables() if entry.on_erasure is not RowErasure.keep]
    return sorted(entries, key=rank)


def _erased_values(entry: TableInventory, link: str, pseudonym: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, column in entry.columns_of(link).items():
        match column.erase:
            case Erase.keep:
                continue
            case Erase.redact:
                values[name] = REDACTED
            case Erase.pseudonym:
                values[name] = pseudonym
            case Erase.null:
                values[name] = None
            case Erase.empty:
                values[name] = ""
            case Erase.false:
                values[name] = False
            case Erase.retire:
                values[name] = _retired_value(entry, name)
    return values


def _retired_value(entry: TableInventory, name: str) -> str:
    # Unique and unguessable: nothing derived from the old value survives.
    length = getattr(entry.table._meta.get_column_by_name(name), "length", 32) or 32
    return f"erased-{secrets.token_hex(16)}"[: min(length, 39)]


async def _delete_rows(entry: TableInventory, link: str, subject_id: uuid.UUID) -> int:
    table = entry.table
    count = 0
    async for ids in _linked_ids(entry, link, subject_id):
        await table.delete().where(table._meta.primary_key.is_in(ids))
        count += len(ids)
    return count


async def _update_rows(
    entry: TableInventory, link: str, subject_id: uuid.UUID, values: dict[str, Any]
) -> int:
    table = entry.table
    assignments: dict[Column | str, Any] = {
        table._meta.get_column_by_name(name): value for name, value in values.items()
    }
    # Rows already erased are skipped: re-running an erasure (or re-applying every
    # ledger entry after a restore) costs a read of the linked ids, not a rewrite.
    pending = not_yet_erased(entry, values)
    count = 0
    async for ids in _linked_ids(entry, link, subject_id, pending):
        await table.update(assignments).where(table._meta.primary_key.is_in(ids))
        count += len(ids)
    return count


def not_yet_erased(entry: TableInventory, values: dict[str, Any]) -> Where | Or | None:
    """Rows where some column still differs from its erased value (random tombstones
    excluded: they differ on every run); None when there is nothing to compare."""
    conditions: list[Where] = []
    for name, value in values.items():
        if entry.columns[name].erase is Erase.retire:
            continue
        column = entry.table._meta.get_column_by_name(name)
        conditions.append(column.is_not_null() if value is None else column != value)
    if not conditions:
        return None
    combined: Where | Or = conditions[0]
    for condition in conditions[1:]:
        combined = Or(combined, condition)
    return combined


async def _linked_ids(
    entry: TableInventory,
    link: str,
    subject_id: uuid.UUID,
    pending: Where | Or | None = None,
) -> AsyncIterator[list[Any]]:
    """Primary keys of the linked rows, in batches: each statement (and, on PostgreSQL,
    each lock set) stays small however long the subject's history is."""
    table = entry.table
    primary_key = table._meta.primary_key
    link_column = table._meta.get_column_by_name(link)
    last: Any = None
    while True:
        query = table.select(primary_key).where(link_column == subject_id)
        if pending is not None:
            query = query.where(pending)
        if last is not None:
            query = query.where(primary_key > last)
        rows = await query.order_by(primary_key).limit(BATCH_SIZE)
        if not rows:
            return
        ids = [row[primary_key._meta.name] for row in rows]
        yield ids
        last = ids[-1]
