"""Erasure: nothing of the subject left readable, history kept under a pseudonym,
everyone else untouched, and an interrupted erasure finished by running it again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from accounts.services import request_runner
from accounts.services.contact import opened_contacts
from accounts.services.identity import Identity
from accounts.services.request_runner import carry_out_erasure, reapply_erasures
from accounts.services.users import get_user
from accounts.tables import User
from api.settings import Settings
from desk.tables import Comment, Ticket
from privacy import erasure, requests
from privacy.erasure import REDACTED, pseudonym_for
from privacy.request_tables import DataRequest, ErasureLedgerEntry, RequestKind, RequestStatus
from privacy.subject_keys import data_keys_for
from tests.privacy_requests.dump import database_dump
from tests.privacy_requests.seed import SeededSubject, seed_subject


async def _erasure_request(identity: Identity, subject: SeededSubject) -> requests.RequestRecord:
    now = identity.now()
    await requests.create_request(
        RequestKind.erasure,
        subject_id=subject.user_id,
        requested_by=subject.user_id,
        now=now - timedelta(days=15),
        not_before=now - timedelta(days=1),
    )
    (claimed,) = [r for r in await requests.claim_due(now) if r.kind is RequestKind.erasure]
    return claimed


async def test_erased_subject_leaves_nothing_readable_in_a_database_dump(
    identity: Identity, settings: Settings
) -> None:
    subject = await seed_subject(identity)
    other = await seed_subject(identity)
    before = await database_dump(settings.database_url)
    # Contact data is encrypted and sessions live outside the database; the rest is clear.
    in_clear = [v for v in subject.values if v not in (subject.email, subject.phone)][:-1]
    for value in in_clear:
        assert value in before
    ciphertexts = await User.select(User.email, User.phone).where(User.id == subject.user_id)

    record = await _erasure_request(identity, subject)
    await carry_out_erasure(identity, record)

    dump = await database_dump(settings.database_url)
    for value in subject.values:
        assert value not in dump, f"{value!r} survived erasure"
    assert subject.marker not in dump.replace(f"{subject.marker} Ltd", "")  # the company stays
    for ciphertext in (ciphertexts[0]["email"], ciphertexts[0]["phone"]):
        assert ciphertext not in dump
    # Its key is gone: nothing encrypted for it can be opened any more.
    assert await data_keys_for([subject.user_id]) == {}
    row = await User.select().where(User.id == subject.user_id).first()
    assert row is not None
    assert await opened_contacts([row]) == {subject.user_id: (None, None)}
    assert row["display_name"] == pseudonym_for(record.id)
    assert row["password_hash"] is None
    assert not row["is_active"]
    assert await identity.sessions.for_user(subject.user_id) == {}

    # Everyone else's data is intact.
    for value in other.values[2:-1]:  # all but contact data (encrypted) and the session
        assert value in dump, f"{value!r} of another user was lost"
    assert len(await identity.sessions.for_user(other.user_id)) == 1
    other_user = await get_user(other.user_id)
    assert other_user is not None
    assert other_user.email == other.email
    assert other_user.phone == other.phone


async def test_tickets_and_comments_stay_with_a_pseudonymous_author(identity: Identity) -> None:
    subject = await seed_subject(identity)
    record = await _erasure_request(identity, subject)
    await carry_out_erasure(identity, record)

    tickets = await Ticket.select().where(Ticket.requester == subject.user_id)
    assert [t["id"] for t in tickets] == subject.ticket_ids
    assert tickets[0]["subject"] == REDACTED
    assert tickets[0]["body"] == REDACTED
    comments = await Comment.select().where(Comment.author == subject.user_id)
    assert [c["body"] for c in comments] == [REDACTED]
    author = await get_user(subject.user_id)
    assert author is not None
    assert author.display_name.startswith("Erased user ")
    assigned = await Ticket.count().where(Ticket.assignee == subject.user_id)
    assert assigned == 1  # history of who worked what stays

    ledger = await ErasureLedgerEntry.select().where(ErasureLedgerEntry.request_id == record.id)
    assert len(ledger) == 1
    assert ledger[0]["subject_id"] == subject.user_id
    assert subject.marker not in str(ledger[0])
    # Running it again rewrites nothing already erased (re-applying a ledger is cheap).
    again = await erasure.erase_subject(subject.user_id, pseudonym=pseudonym_for(record.id))
    assert again.rows_per_step["tickets.requester"] == 0
    assert again.rows_per_step["comments.author"] == 0
    done = await requests.get_request(record.id)
    assert done is not None
    assert done.status is RequestStatus.completed


async def test_an_erasure_killed_half_way_is_finished_by_the_next_run(
    identity: Identity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject = await seed_subject(identity)
    await DataRequest.delete(force=True)  # only this erasure is due
    now = identity.now()
    record = await requests.create_request(
        RequestKind.erasure,
        subject_id=subject.user_id,
        requested_by=subject.user_id,
        now=now,
        not_before=now,
    )
    real_update = erasure._update_rows

    async def crash_at_tickets(entry, link, subject_id, values):  # type: ignore[no-untyped-def]
        if entry.name == "tickets":
            raise ConnectionError("server closed the connection unexpectedly")
        return await real_update(entry, link, subject_id, values)

    monkeypatch.setattr(erasure, "_update_rows", crash_at_tickets)
    assert await request_runner.run_due_requests(identity, tmp_path) == 0

    # Half-way: the key and credentials are gone, the history is not yet pseudonymised.
    failed = await requests.get_request(record.id)
    assert failed is not None
    assert failed.status is RequestStatus.failed
    assert failed.error is not None
    assert "server closed" not in failed.error
    assert await data_keys_for([subject.user_id]) == {}
    half = await Ticket.select(Ticket.body).where(Ticket.requester == subject.user_id)
    assert half[0]["body"] == f"{subject.marker} ticket body"

    monkeypatch.setattr(erasure, "_update_rows", real_update)
    assert await request_runner.run_due_requests(identity, tmp_path) == 1

    finished = await requests.get_request(record.id)
    assert finished is not None
    assert finished.status is RequestStatus.completed
    assert finished.attempts == 2
    tickets = await Ticket.select(Ticket.body).where(Ticket.requester == subject.user_id)
    assert tickets[0]["body"] == REDACTED
    user = await get_user(subject.user_id)
    assert user is not None
    assert user.display_name == pseudonym_for(record.id)


async def test_a_restored_backup_is_erased_again_from_the_ledger(identity: Identity) -> None:
    subject = await seed_subject(identity)
    record = await _erasure_request(identity, subject)
    await carry_out_erasure(identity, record)
    exported_ledger = await request_runner.ledger_entries()

    # A restore from before the erasure: the subject's rows are back, the ledger is not.
    await ErasureLedgerEntry.delete(force=True)
    await User.update({User.display_name: f"{subject.marker} Person"}).where(
        User.id == subject.user_id
    )
    await Ticket.update({Ticket.body: "restored body"}).where(Ticket.requester == subject.user_id)

    applied = await reapply_erasures(identity, exported_ledger)

    assert applied == 1
    user = await get_user(subject.user_id)
    assert user is not None
    assert user.display_name == pseudonym_for(record.id)
    tickets = await Ticket.select(Ticket.body).where(Ticket.requester == subject.user_id)
    assert tickets[0]["body"] == REDACTED


async def test_erasure_waits_for_its_grace_period_and_can_be_cancelled(
    identity: Identity, tmp_path: Path
) -> None:
    subject = await seed_subject(identity)
    now = identity.now()
    record = await requests.create_request(
        RequestKind.erasure,
        subject_id=subject.user_id,
        requested_by=subject.user_id,
        now=now,
        not_before=now + timedelta(days=14),
    )
    await DataRequest.delete().where(DataRequest.kind == RequestKind.export.value)

    assert await request_runner.run_due_requests(identity, tmp_path) == 0
    assert await requests.cancel_waiting_erasure(record.id, subject.user_id, now)
    assert not await requests.cancel_waiting_erasure(record.id, subject.user_id, now)
    user = await get_user(subject.user_id)
    assert user is not None
    assert user.email == subject.email
