"""``opendesk privacy ...`` as an operator runs it: a real process against the test database."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import pytest

from accounts.services.identity import Identity
from accounts.services.users import get_user
from desk.tables import Ticket
from privacy.erasure import REDACTED
from tests.api.test_cli import run_cli
from tests.privacy_requests.seed import seed_subject

pytestmark = pytest.mark.usefixtures("db")


def test_inventory_prints_the_record_of_processing() -> None:
    result = run_cli("privacy", "inventory")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Record of processing")
    assert "## `users`" in result.stdout
    assert "| `email` | contact |" in result.stdout


async def test_export_writes_a_private_archive_and_never_overwrites(
    identity: Identity, tmp_path: Path
) -> None:
    subject = await seed_subject(identity)
    out = tmp_path / "export.zip"

    result = run_cli("privacy", "export", "--user", str(subject.user_id), "--out", str(out))

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with zipfile.ZipFile(out) as archive:
        data = archive.read("data.json").decode()
    assert subject.email in data
    assert f"{subject.marker} ticket body" in data
    again = run_cli("privacy", "export", "--user", str(subject.user_id), "--out", str(out))
    assert again.returncode == 1
    assert "refusing to overwrite" in again.stderr


async def test_erase_needs_confirmation_then_erases_and_the_ledger_reapplies(
    identity: Identity, tmp_path: Path
) -> None:
    subject = await seed_subject(identity)
    user = str(subject.user_id)

    unconfirmed = run_cli("privacy", "erase", "--user", user)
    assert unconfirmed.returncode == 1
    assert "--yes" in unconfirmed.stderr
    still = await get_user(subject.user_id)
    assert still is not None
    assert still.email == subject.email

    erased = run_cli("privacy", "erase", "--user", user, "--yes")
    assert erased.returncode == 0, erased.stderr
    gone = await get_user(subject.user_id)
    assert gone is not None
    assert gone.email is None
    assert gone.display_name.startswith("Erased user ")

    ledger = tmp_path / "ledger.jsonl"
    assert run_cli("privacy", "ledger", "--out", str(ledger)).returncode == 0
    (line,) = ledger.read_text().splitlines()
    assert json.loads(line)["subject_id"] == user
    assert subject.marker not in line
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600

    # A restore from an older backup brings a ticket's text back; the ledger erases it again.
    await Ticket.update({Ticket.body: "restored"}).where(Ticket.requester == subject.user_id)
    reapplied = run_cli("privacy", "reapply", "--ledger", str(ledger))
    assert reapplied.returncode == 0, reapplied.stderr
    rows = await Ticket.select(Ticket.body).where(Ticket.requester == subject.user_id)
    assert [row["body"] for row in rows] == [REDACTED]


def test_a_bad_user_id_is_one_line(tmp_path: Path) -> None:
    result = run_cli("privacy", "export", "--user", "nobody", "--out", str(tmp_path / "x.zip"))

    assert result.returncode == 1
    assert result.stderr.strip() == "opendesk: --user must be a user id (UUID)"


def test_retention_run_reports_counts() -> None:
    first = run_cli("retention", "run")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip()


async def test_retention_run_stops_while_another_runner_holds_the_lease() -> None:
    from privacy.leases import lease

    async with lease("retention"):
        result = run_cli("retention", "run")
    assert result.returncode == 1
    assert "another retention run" in result.stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ("privacy", "ledger", "--out", "{existing}"),
        ("privacy", "ledger", "--out", "{missing_dir}/ledger.jsonl"),
        (
            "privacy",
            "export",
            "--user",
            "00000000-0000-0000-0000-000000000001",
            "--out",
            "{missing_dir}/x.zip",
        ),
        ("privacy", "reapply", "--ledger", "{garbage}"),
        ("privacy", "reapply", "--ledger", "{missing_dir}/ledger.jsonl"),
    ],
)
def test_bad_files_are_one_line_never_a_traceback(
    tmp_path: Path, arguments: tuple[str, ...]
) -> None:
    existing = tmp_path / "existing.jsonl"
    existing.write_text("")
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text('[]\n"text"\n')
    paths = {"existing": existing, "missing_dir": tmp_path / "nope", "garbage": garbage}

    result = run_cli(*(argument.format(**paths) for argument in arguments))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("opendesk: ")
