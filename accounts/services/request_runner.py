"""Runs data subject requests: builds export archives and carries out erasures.

Called by the serving process's background runner and by ``opendesk privacy run`` /
``erase`` / ``export``. Every job can be run again after a crash: an export is rewritten
whole, an erasure repeats only idempotent steps, and the ledger entry and the request's
completion are written last.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from accounts.services.identity import Identity
from accounts.sessions import SessionRecord
from audit.trail import Actor, record_event
from privacy import requests
from privacy.erasure import ErasureReport, StepHook, erase_subject, pseudonym_for
from privacy.export import ExportSummary, ExtraSection, write_export_archive
from privacy.request_tables import ErasureLedgerEntry, RequestKind
from privacy.requests import RequestRecord

logger = logging.getLogger(__name__)
SYSTEM = Actor("system", None)


async def run_due_requests(identity: Identity, exports_dir: Path, *, limit: int = 10) -> int:
    """Claim and run what is due; returns how many jobs finished. A failing job is
    recorded as failed (retried later, up to a limit) and does not stop the others."""
    finished = 0
    for record in await requests.claim_due(identity.now(), limit=limit):
        error_id = uuid.uuid4().hex[:12]
        try:
            await run_request(identity, record, exports_dir)
        except Exception:
            # The exception may quote personal data: it goes to the log, keyed by an id;
            # the request row keeps only the id.
            logger.exception("data request %s failed (error id %s)", record.id, error_id)
            await requests.fail_request(record.id, f"error {error_id}")
        else:
            finished += 1
    return finished


async def run_request(
    identity: Identity,
    record: RequestRecord,
    exports_dir: Path,
) -> None:
    if record.kind is RequestKind.export:
        await build_export(identity, record, exports_dir)
    else:
        await carry_out_erasure(identity, record)


async def build_export(
    identity: Identity, record: RequestRecord, exports_dir: Path
) -> ExportSummary:
    os.makedirs(exports_dir, mode=0o700, exist_ok=True)
    name = f"{record.id}.zip"
    summary = await write_export_to(identity, record.subject_id, exports_dir / name)
    await requests.finish_export(record.id, name, identity.now())
    await record_event(
        "personal_data.exported",
        actor=SYSTEM,
        target_type="data_request",
        target_id=str(record.id),
        details={"rows": summary.total_rows},
    )
    return summary


async def write_export_to(identity: Identity, subject_id: uuid.UUID, path: Path) -> ExportSummary:
    """The subject's archive, with what the session store holds about them."""
    sessions = await identity.sessions.for_user(subject_id)
    return await write_export_archive(
        subject_id, path, extra_sections=[_sessions_section(sessions.values())]
    )


def _sessions_section(sessions: Iterable[SessionRecord]) -> ExtraSection:
    rows = []
    for session in sessions:
        values = asdict(session)
        values.pop("user_id")
        rows.append(values)
    return ExtraSection(
        name="sessions",
        description="Your signed-in sessions: when they began and were last used, the "
        "network (a /24 or /48, never the full address) and the browser they came from.",
        rows=rows,
    )


async def carry_out_erasure(identity: Identity, record: RequestRecord) -> ErasureReport:
    """Erase the subject: sessions first (nobody stays signed in as them), then every
    table by the inventory, then the ledger entry and the request's completion."""
    subject_id = record.subject_id
    pseudonym = pseudonym_for(record.id)
    ended = 0
    for digest in await identity.sessions.for_user(subject_id):
        await identity.sessions.delete(digest)
        ended += 1
    report = await erase_subject(
        subject_id, pseudonym=pseudonym, after_step=_progress(identity, record.id)
    )
    summary = {"sessions": ended, **report.rows_per_step}
    await ErasureLedgerEntry.insert(
        ErasureLedgerEntry(
            request_id=record.id,
            subject_id=subject_id,
            erased_at=identity.now(),
            summary=summary,
            pseudonym=pseudonym,
        )
    ).on_conflict(action="DO NOTHING")
    await requests.finish_erasure(record.id, identity.now())
    await record_event(
        "personal_data.erased",
        actor=SYSTEM,
        target_type="data_request",
        target_id=str(record.id),
        details={"rows": sum(summary.values())},
    )
    return report


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    request_id: uuid.UUID
    subject_id: uuid.UUID
    erased_at: datetime
    pseudonym: str

    def to_json(self) -> str:
        return json.dumps({name: str(value) for name, value in asdict(self).items()})

    @classmethod
    def from_json(cls, line: str) -> LedgerEntry:
        values = json.loads(line)
        return cls(
            request_id=uuid.UUID(values["request_id"]),
            subject_id=uuid.UUID(values["subject_id"]),
            erased_at=datetime.fromisoformat(values["erased_at"]),
            pseudonym=str(values["pseudonym"])[:40],
        )


async def ledger_entries() -> list[LedgerEntry]:
    """The ledger, oldest first: what ``opendesk privacy ledger`` writes out, to be kept
    apart from the database backups it must outlive."""
    rows = await ErasureLedgerEntry.select(
        ErasureLedgerEntry.request_id,
        ErasureLedgerEntry.subject_id,
        ErasureLedgerEntry.erased_at,
        ErasureLedgerEntry.pseudonym,
    ).order_by(ErasureLedgerEntry.erased_at)
    return [LedgerEntry(**row) for row in rows]


def _progress(identity: Identity, request_id: uuid.UUID) -> StepHook:
    """After each step: log it, and renew the job's lease (a long erasure keeps it)."""

    async def step_done(step: str) -> None:
        logger.info("erasure %s: %s done", request_id, step)
        await requests.renew_claim(request_id, identity.now())

    return step_done


async def reapply_erasures(identity: Identity, imported: Sequence[LedgerEntry] = ()) -> int:
    """After a restore from backup: take back into the ledger the entries kept outside
    the database (``imported``), then erase again every subject in it (a no-op for those
    the backup did not bring back). Returns how many ledger entries were applied."""
    for entry in imported:
        await ErasureLedgerEntry.insert(
            ErasureLedgerEntry(
                request_id=entry.request_id,
                subject_id=entry.subject_id,
                erased_at=entry.erased_at,
                summary={},
                pseudonym=entry.pseudonym,
                note="re-imported after a restore",
            )
        ).on_conflict(action="DO NOTHING")
    entries = await ledger_entries()
    for entry in entries:
        for digest in await identity.sessions.for_user(entry.subject_id):
            await identity.sessions.delete(digest)
        await erase_subject(entry.subject_id, pseudonym=entry.pseudonym)
    return len(entries)
