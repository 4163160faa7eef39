"""``opendesk privacy ...``: the record of processing, and data subject requests run by
an operator (offline export, erasure, the ledger that keeps erasures erased)."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from api.commands import CommandError
from api.resources import opened_resources
from api.settings import Settings
from desk.attachments import AttachmentStore

if TYPE_CHECKING:
    from accounts.services.request_runner import LedgerEntry


def inventory_command() -> int:
    from privacy.record_of_processing import render_record

    print(render_record(), end="")
    return 0


def export_command(settings: Settings, *, user: str, out: Path) -> int:
    subject_id = _parse_user(user)
    _check_new_file(out)
    return asyncio.run(_export(settings, subject_id, out))


async def _export(settings: Settings, subject_id: uuid.UUID, out: Path) -> int:
    from accounts.services.request_runner import write_export_to
    from accounts.services.users import get_user
    from audit.trail import Actor, record_event

    async with opened_resources(settings) as resources:
        if await get_user(subject_id) is None:
            raise CommandError(f"no user {subject_id}")
        summary = await write_export_to(resources.identity, subject_id, out)
        await record_event(
            "personal_data.exported",
            actor=Actor("system", None),
            target_type="user",
            target_id=str(subject_id),
            details={"via": "cli", "rows": summary.total_rows},
        )
    print(f"wrote {summary.total_rows} rows of user {subject_id} to {out} (mode 0600)")
    return 0


async def erase_command(settings: Settings, *, user: str, confirmed: bool) -> int:
    from accounts.services.request_runner import carry_out_erasure
    from privacy import requests
    from privacy.request_tables import RequestKind

    subject_id = _parse_user(user)
    if not confirmed:
        raise CommandError("erasure cannot be undone: add --yes to erase user " + str(subject_id))
    async with opened_resources(settings) as resources:
        now = resources.identity.now()
        # An erasure already asked for (or half-done) is the one finished here.
        record = await requests.open_request(RequestKind.erasure, subject_id)
        if record is None:
            record = await requests.create_request(
                RequestKind.erasure,
                subject_id=subject_id,
                requested_by=subject_id,
                now=now,
                not_before=now,
            )
        claimed = await requests.claim_request(record.id, now)
        if claimed is None:
            raise CommandError(f"erasure {record.id} is being run by another worker; retry later")
        report = await carry_out_erasure(resources.identity, claimed)
        await _delete_erased_files(settings)
    rows = sum(report.rows_per_step.values())
    print(f"erased user {subject_id} (request {record.id}): {rows} rows changed or deleted")
    return 0


async def run_command(settings: Settings) -> int:
    from api.privacy_runner import run_once

    async with opened_resources(settings) as resources:
        finished = await run_once(
            resources.identity, settings.exports_dir, AttachmentStore(settings.attachments_dir)
        )
    print(f"data requests: {finished} finished")
    return 0


def ledger_command(settings: Settings, *, out: Path) -> int:
    from accounts.services.request_runner import ledger_entries

    _check_new_file(out)

    async def read() -> list[LedgerEntry]:
        async with opened_resources(settings):
            return await ledger_entries()

    entries = asyncio.run(read())
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise CommandError(f"cannot write {out}: {error.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.writelines(entry.to_json() + "\n" for entry in entries)
    print(f"wrote {len(entries)} ledger entries to {out}; keep it apart from database backups")
    return 0


def reapply_command(settings: Settings, *, ledger: Path) -> int:
    from accounts.services.request_runner import LedgerEntry

    try:
        lines = ledger.read_text(encoding="utf-8").splitlines()
        imported = [LedgerEntry.from_json(line) for line in lines if line.strip()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        # One line naming the problem, never a traceback (nor the ledger's content).
        raise CommandError(f"cannot read the ledger {ledger}: {type(error).__name__}") from None
    return asyncio.run(_reapply(settings, imported))


async def _reapply(settings: Settings, imported: list[LedgerEntry]) -> int:
    from accounts.services.request_runner import reapply_erasures

    async with opened_resources(settings) as resources:
        applied = await reapply_erasures(resources.identity, imported)
        await _delete_erased_files(settings)
    print(f"re-applied {applied} erasures")
    return 0


async def retention_command(settings: Settings) -> int:
    from datetime import UTC, datetime

    from privacy.leases import LeaseHeld
    from privacy.retention import run_retention

    try:
        async with opened_resources(settings):
            report = await run_retention(datetime.now(UTC))
            files = await _delete_erased_files(settings)
    except LeaseHeld:
        raise CommandError("another retention run holds the lease; nothing done") from None
    print("\n".join(report.lines()))
    print(f"attachment files: {files} deleted")
    return 0


async def _delete_erased_files(settings: Settings) -> int:
    from api.privacy_runner import delete_erased_attachment_files

    return await delete_erased_attachment_files(AttachmentStore(settings.attachments_dir))


def _check_new_file(path: Path) -> None:
    """Refuse before any work: an existing file, or a directory that is not there."""
    if path.exists():
        raise CommandError(f"{path} exists; refusing to overwrite")
    if not path.parent.is_dir():
        raise CommandError(f"{path.parent} is not a directory")


def _parse_user(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise CommandError("--user must be a user id (UUID)") from None
