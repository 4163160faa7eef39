"""Export and erasure of one data subject with a long history, one job per process.

Run as ``python -m bench.privacy_timing COMMAND …`` with a fresh bench database's
settings in the environment (``bench/privacy_scenario.py`` does, one fresh process per
measurement so that each peak is the job's own); prints one JSON line.

* ``seed TICKETS COMMENTS`` — migrate, then make the subject (a customer made by
  ``accounts.services.users.create_user``, so its email and phone are really encrypted
  under its own data key) with TICKETS tickets it requested and COMMENTS comments it
  wrote, and a second customer with a tenth of that plus comments on the subject's
  tickets (rows the subject's export and erasure must leave alone). Tickets and
  comments are bulk-inserted (``Table.insert(*rows)``, one transaction): seeding is not
  measured.
* ``baseline`` — what every measuring process does before its job (imports, settings,
  keyring, engine bound, one query): the RSS the jobs' figures are compared with.
* ``export USER_ID PATH BATCH`` — ``privacy.export.write_export_archive`` with
  ``batch_size=BATCH`` (at the product's default batch, through
  ``accounts.services.request_runner.write_export_to``, the runner's call).
* ``erase USER_ID`` — an erasure request created and claimed
  (``privacy.requests.create_request`` / ``claim_request``), then
  ``request_runner.carry_out_erasure``, what the runner does once the grace period ends.
* ``check-export PATH …`` / ``check-erasure …`` — the correctness checks (separate
  processes, after the measured ones).

``--trace`` starts ``tracemalloc`` just before the job: the Python heap peak of the job
alone. Tracing slows Python down several times, so a traced run's time is not reported
as the job's time; the bench runs every job once without and once with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
import tracemalloc
import uuid
import zipfile
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from accounts.services import request_runner
from accounts.services.users import create_organisation, create_user, set_phone
from accounts.tables import User
from api.migrate import migrate
from api.resources import Resources
from api.settings import load_settings
from desk.tables import Comment, Ticket
from permissions.roles import Role
from privacy import export, requests
from privacy.erasure import REDACTED
from privacy.request_tables import RequestKind

INSERT_CHUNK = 1000  # rows per INSERT: 11 columns x 1000 stays under both backends' limits
SUBJECT_EMAIL = "subject@privacy-bench.opendesk.example"
SUBJECT_PHONE = "+44 20 7946 0000"
OTHER_EMAIL = "other@privacy-bench.opendesk.example"
Job = Callable[[], Awaitable[dict[str, Any]]]


def _chunks(rows: list[Any], size: int = INSERT_CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _tickets(user_id: uuid.UUID, organisation_id: uuid.UUID, count: int, tag: str) -> list[Any]:
    began = datetime.now(UTC) - timedelta(days=3 * 365)
    return [
        Ticket(
            id=uuid.uuid4(),
            organisation=organisation_id,
            subject=f"{tag} ticket {number}: the printer on floor {number % 7} is jammed",
            body=f"{tag} ticket {number}. Steps to reproduce: print page {number}. " * 6,
            requester=user_id,
            internal_notes=f"agent note on {tag} ticket {number}",
            created_at=began + timedelta(minutes=number),
            updated_at=began + timedelta(minutes=number),
        )
        for number in range(count)
    ]


def _comments(author: uuid.UUID, ticket_ids: list[uuid.UUID], count: int, tag: str) -> list[Any]:
    began = datetime.now(UTC) - timedelta(days=3 * 365)
    return [
        Comment(
            id=uuid.uuid4(),
            ticket=ticket_ids[number % len(ticket_ids)],
            author=author,
            body=f"{tag} comment {number}: tried again after restarting, same result. " * 3,
            created_at=began + timedelta(minutes=number),
        )
        for number in range(count)
    ]


async def seed(tickets: int, comments: int) -> dict[str, Any]:
    began = time.perf_counter()
    organisation = await create_organisation("Privacy Bench Ltd")
    subject = await create_user(
        email=SUBJECT_EMAIL,
        display_name="Privacy Subject",
        role=Role.customer,
        password_hash=None,
        organisation_id=organisation.id,
    )
    await set_phone(subject.id, SUBJECT_PHONE)
    other = await create_user(
        email=OTHER_EMAIL,
        display_name="Other Customer",
        role=Role.customer,
        password_hash=None,
        organisation_id=organisation.id,
    )
    other_tickets, other_comments = max(tickets // 10, 1), max(comments // 10, 1)
    subject_rows = _tickets(subject.id, organisation.id, tickets, "subject")
    other_rows = _tickets(other.id, organisation.id, other_tickets, "other")
    subject_ticket_ids = [row.id for row in subject_rows]
    other_ticket_ids = [row.id for row in other_rows]
    comment_rows = [
        *_comments(subject.id, subject_ticket_ids, comments, "subject"),
        *_comments(other.id, other_ticket_ids, other_comments, "other"),
        # The other customer's comments on the subject's tickets: not the subject's.
        *_comments(other.id, subject_ticket_ids, other_tickets, "other-on-subject"),
    ]
    for chunk in _chunks([*subject_rows, *other_rows]):
        await Ticket.insert(*chunk)
    for chunk in _chunks(comment_rows):
        await Comment.insert(*chunk)
    return {
        "subject_id": str(subject.id),
        "other_id": str(other.id),
        "subject_tickets": tickets,
        "subject_comments": comments,
        "other_tickets": other_tickets,
        "other_comments": other_comments + other_tickets,
        "seed_seconds": round(time.perf_counter() - began, 1),
    }


def _peak_rss_mib() -> float:
    """This process's peak RSS: ``VmHWM``, the high-water mark of its own address space.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` is not used for the figures: Linux carries it
    over ``execve`` from the address space the process was spawned from, so a job
    started by the bench (≈ 100 MiB) reports at least the bench's own peak. It is kept
    in the output (``ru_maxrss_mib``) to show that.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _ru_maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _measured(job: Job, trace: bool) -> dict[str, Any]:
    """Run ``job``; its wall and CPU time, this process's peak RSS (before and after),
    and with ``trace`` the job's Python heap peak."""
    rss_before = _peak_rss_mib()
    if trace:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    found = await job()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    heap_peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    if trace:
        tracemalloc.stop()
    return {
        **found,
        "seconds": wall,
        "cpu_seconds": cpu,
        "rss_before_mib": rss_before,
        "peak_rss_mib": _peak_rss_mib(),
        "ru_maxrss_mib": _ru_maxrss_mib(),
        "heap_peak_mib": heap_peak,
        "traced": trace,
    }


async def _export(user_id: uuid.UUID, path: Path, batch: int, resources: Resources) -> Job:
    async def job() -> dict[str, Any]:
        if batch == export.BATCH_SIZE:
            via = "accounts.services.request_runner.write_export_to"
            summary = await request_runner.write_export_to(resources.identity, user_id, path)
        else:
            via = "privacy.export.write_export_archive"
            summary = await export.write_export_archive(user_id, path, batch_size=batch)
        return {
            "rows": summary.rows_per_section,
            "via": via,
        }

    return job


async def _erase(user_id: uuid.UUID, resources: Resources) -> Job:
    now = resources.identity.now()
    created = await requests.create_request(
        RequestKind.erasure, subject_id=user_id, requested_by=user_id, now=now, not_before=now
    )
    record = await requests.claim_request(created.id, now)
    if record is None:
        raise RuntimeError("could not claim the erasure request")

    async def job() -> dict[str, Any]:
        report = await request_runner.carry_out_erasure(resources.identity, record)
        return {"rows": report.rows_per_step}

    return job


def check_export(path: Path, expected: dict[str, Any]) -> dict[str, Any]:
    """The archive holds exactly the subject's tickets and comments, decrypted contact
    data, and nothing of the other customer."""
    subject = expected["subject_id"]
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data.json"))
    sections = {section["section"]: section["rows"] for section in data["sections"]}
    tickets, comments, users = sections["tickets"], sections["comments"], sections["users"]
    problems = []
    if len(tickets) != expected["subject_tickets"]:
        problems.append(f"{len(tickets)} tickets exported, {expected['subject_tickets']} seeded")
    if len(comments) != expected["subject_comments"]:
        problems.append(f"{len(comments)} comments exported, {expected['subject_comments']} seeded")
    if any(row["requester"] != subject for row in tickets):
        problems.append("a ticket of someone else is in the export")
    if any(row["author"] != subject for row in comments):
        problems.append("a comment of someone else is in the export")
    if len({row["id"] for row in comments}) != len(comments):
        problems.append("a comment is exported twice")
    if [(row["email"], row["phone"]) for row in users] != [(SUBJECT_EMAIL, SUBJECT_PHONE)]:
        problems.append(f"contact data not decrypted: {users}")
    return {"problems": problems, "sections": {name: len(rows) for name, rows in sections.items()}}


async def check_erasure(expected: dict[str, Any]) -> dict[str, Any]:
    """No ticket or comment of the subject is left un-redacted, its contact data and key
    are gone, and the other customer's rows are untouched."""
    subject, other = uuid.UUID(expected["subject_id"]), uuid.UUID(expected["other_id"])
    clear_tickets = await Ticket.count().where(
        (Ticket.requester == subject) & ((Ticket.body != REDACTED) | (Ticket.subject != REDACTED))
    )
    clear_comments = await Comment.count().where(
        (Comment.author == subject) & (Comment.body != REDACTED)
    )
    kept_tickets = await Ticket.count().where(
        (Ticket.requester == subject) & (Ticket.body == REDACTED)
    )
    other_intact = await Ticket.count().where(
        (Ticket.requester == other) & (Ticket.body != REDACTED)
    )
    other_comments = await Comment.count().where(
        (Comment.author == other) & (Comment.body != REDACTED)
    )
    user = await User.select(User.email, User.phone).where(User.id == subject).first()
    problems = []
    if clear_tickets or clear_comments:
        problems.append(f"{clear_tickets} tickets, {clear_comments} comments not redacted")
    if kept_tickets != expected["subject_tickets"]:
        problems.append(f"{kept_tickets} redacted tickets kept, {expected['subject_tickets']}")
    if other_intact != expected["other_tickets"] or other_comments != expected["other_comments"]:
        problems.append(f"other customer's rows changed: {other_intact}, {other_comments}")
    if user is None or user["email"] or user["phone"]:
        problems.append("the subject's contact data survived")
    return {"problems": problems}


async def _main(arguments: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings()
    if arguments.command == "seed":
        await migrate(settings)
    resources = Resources.from_settings(settings)
    await resources.open()
    try:
        await User.count()  # connected: the baseline's state before any job
        if arguments.command == "seed":
            async with resources.engine.transaction():
                return await seed(arguments.tickets, arguments.comments)
        if arguments.command == "baseline":
            return {"peak_rss_mib": _peak_rss_mib(), "ru_maxrss_mib": _ru_maxrss_mib()}
        if arguments.command == "export":
            job = await _export(arguments.user_id, arguments.path, arguments.batch, resources)
            return await _measured(job, arguments.trace)
        if arguments.command == "erase":
            return await _measured(await _erase(arguments.user_id, resources), arguments.trace)
        if arguments.command == "check-export":
            return check_export(arguments.path, json.loads(arguments.expected))
        return await check_erasure(json.loads(arguments.expected))
    finally:
        await resources.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.privacy_timing")
    commands = parser.add_subparsers(dest="command", required=True)
    seeding = commands.add_parser("seed")
    seeding.add_argument("tickets", type=int)
    seeding.add_argument("comments", type=int)
    commands.add_parser("baseline")
    exporting = commands.add_parser("export")
    exporting.add_argument("user_id", type=uuid.UUID)
    exporting.add_argument("path", type=Path)
    exporting.add_argument("batch", type=int)
    exporting.add_argument("--trace", action="store_true")
    erasing = commands.add_parser("erase")
    erasing.add_argument("user_id", type=uuid.UUID)
    erasing.add_argument("--trace", action="store_true")
    checking = commands.add_parser("check-export")
    checking.add_argument("path", type=Path)
    checking.add_argument("expected")
    commands.add_parser("check-erasure").add_argument("expected")
    return parser


def main() -> int:
    arguments = _parser().parse_args()
    result = asyncio.run(_main(arguments))
    if arguments.command == "export":
        result["archive_bytes"] = arguments.path.stat().st_size
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
