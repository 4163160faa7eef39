"""Stored files follow their rows: erasure and retention delete the content, orphans
are swept, and a broken or missing scanner never lets a file through unchecked."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.privacy_runner import delete_erased_attachment_files
from desk.attachments import AcceptAll, AttachmentRefused, AttachmentStore, load_scanner
from desk.services.attachments import AttachmentPolicy, upload_attachment, visible_attachment
from desk.tables import Attachment, Ticket, TicketStatus
from permissions.roles import Role
from privacy.erasure import REDACTED, erase_subject
from privacy.retention import run_retention
from tests.desk import attachment_samples as samples
from tests.factories import make_ticket, make_user, principal_of

pytestmark = pytest.mark.usefixtures("db")


class Broken:
    async def scan(self, data: bytes, content_type: str) -> Any:
        raise ConnectionError("scanner daemon down")


def _policy(tmp_path: Path, scanner: Any = None) -> AttachmentPolicy:
    return AttachmentPolicy(
        store=AttachmentStore(tmp_path / "attachments"),
        scanner=scanner or AcceptAll(),
        max_bytes=10_000,
        max_per_ticket=10,
    )


async def _uploaded(policy: AttachmentPolicy, role: Role = Role.customer) -> tuple[Any, Any]:
    user = await make_user(role)
    ticket = await make_ticket(user)
    record = await upload_attachment(
        principal_of(user), ticket.id, filename="scan.png", data=samples.png(), policy=policy
    )
    return user, record


async def test_erasure_deletes_the_subjects_files_and_keeps_the_row_as_history(
    tmp_path: Path,
) -> None:
    policy = _policy(tmp_path)
    user, record = await _uploaded(policy)
    _, kept = await _uploaded(policy)
    stored = policy.store.path(record.storage_key)

    await erase_subject(user.id, pseudonym="Erased user test")
    deleted = await delete_erased_attachment_files(policy.store)

    row = await Attachment.select().where(Attachment.id == record.id).first()
    assert deleted == 1
    assert not stored.exists()
    assert policy.store.path(kept.storage_key).exists()  # someone else's file stays
    assert (row["filename"], row["sha256"]) == (REDACTED, "")
    assert row["storage_key"].startswith("erased-")
    assert await delete_erased_attachment_files(policy.store) == 0  # safe to repeat
    staff = principal_of(await make_user(Role.agent))
    assert await visible_attachment(staff, record.id) is not None  # the row, not the file


async def test_retention_deletes_the_files_of_old_closed_tickets(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    _, record = await _uploaded(policy)
    now = datetime.now(UTC)
    await Ticket.update(
        {Ticket.status: TicketStatus.closed.value, Ticket.updated_at: now - timedelta(days=7 * 365)}
    ).where(Ticket.id == record.ticket_id)

    report = await run_retention(now)
    deleted = await delete_erased_attachment_files(policy.store)

    assert report.anonymised["attachments"] == 1
    assert deleted == 1
    assert not policy.store.path(record.storage_key).exists()


async def test_orphans_are_swept_after_the_grace_period_only(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    _, record = await _uploaded(policy)
    orphan = policy.store.save(b"no row points here")
    fresh_orphan = policy.store.save(b"an upload still in progress")
    an_hour_and_more_ago = time.time() - 3700
    os.utime(policy.store.path(orphan), (an_hour_and_more_ago, an_hour_and_more_ago))
    os.utime(policy.store.path(record.storage_key), (an_hour_and_more_ago, an_hour_and_more_ago))

    deleted = await delete_erased_attachment_files(policy.store)

    assert deleted == 1
    assert not policy.store.path(orphan).exists()
    assert policy.store.path(fresh_orphan).exists()
    assert policy.store.path(record.storage_key).exists()


async def test_a_failing_scanner_refuses_the_file(tmp_path: Path) -> None:
    policy = _policy(tmp_path, Broken())

    with pytest.raises(AttachmentRefused):
        await _uploaded(policy)

    assert await Attachment.count() == 0
    assert not (tmp_path / "attachments").exists()


def test_scanners_are_loaded_by_name_and_a_bad_name_stops_start_up() -> None:
    assert isinstance(load_scanner(""), AcceptAll)
    assert isinstance(load_scanner("desk.attachments:AcceptAll"), AcceptAll)
    with pytest.raises(ValueError, match="cannot load"):
        load_scanner("no_such_module:Scanner")
    with pytest.raises(ValueError, match="not an attachment scanner"):
        load_scanner("os:getcwd")


def test_store_paths_accept_only_keys_it_makes(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path)

    for hostile in ("../../etc/passwd", "/etc/passwd", "erased-abc", "A" * 64):
        with pytest.raises(ValueError, match="not an attachment storage key"):
            store.path(hostile)


async def test_concurrent_uploads_never_take_a_ticket_past_its_limit(tmp_path: Path) -> None:
    policy = AttachmentPolicy(
        store=AttachmentStore(tmp_path / "attachments"),
        scanner=AcceptAll(),
        max_bytes=10_000,
        max_per_ticket=2,
    )
    user = await make_user()
    ticket = await make_ticket(user)

    outcomes = await asyncio.gather(
        *(
            upload_attachment(
                principal_of(user),
                ticket.id,
                filename=f"{n}.png",
                data=samples.png(),
                policy=policy,
            )
            for n in range(5)
        ),
        return_exceptions=True,
    )

    stored = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, AttachmentRefused)]
    assert len(stored) == 2
    assert len(refused) == 3
    assert await Attachment.count().where(Attachment.ticket == ticket.id) == 2
    files = [path for path in (tmp_path / "attachments").rglob("*") if path.is_file()]
    assert len(files) == 2  # the refused uploads' files were removed too
