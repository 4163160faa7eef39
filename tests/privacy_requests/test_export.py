"""Export: every personal value of the subject, nothing of anyone else's."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

from accounts.services.identity import Identity
from accounts.services.request_runner import write_export_to
from privacy.export import export_sections
from tests.privacy_requests.seed import seed_subject


def _read(archive: Path) -> tuple[dict, str, str]:  # type: ignore[type-arg]
    with zipfile.ZipFile(archive) as opened:
        text = opened.read("data.json").decode()
        return json.loads(text), text, opened.read("README.md").decode()


async def test_export_holds_every_personal_value_of_the_subject_and_none_of_others(
    identity: Identity, tmp_path: Path
) -> None:
    subject = await seed_subject(identity)
    other = await seed_subject(identity)

    archive = tmp_path / "export.zip"
    summary = await write_export_to(identity, subject.user_id, archive)

    data, text, readme = _read(archive)
    assert data["subject_id"] == str(subject.user_id)
    for value in subject.values:
        assert value in text, f"{value!r} missing from the export"
    assert other.marker not in text
    # Every table the inventory links to a subject has a section, with the seeded rows.
    sections = {section["section"]: section for section in data["sections"]}
    for section in export_sections():
        assert sections[section.name]["rows"], f"nothing seeded for {section.name}"
    assert summary.rows_per_section["tickets (as assignee)"] == 1
    assigned = sections["tickets (as assignee)"]["rows"][0]
    assert set(assigned) == {"id", "assignee"}  # not the requester's subject or body
    assert sections["sessions"]["rows"][0]["user_agent"] == f"{subject.marker}-browser/1.0"
    assert "## tickets" in readme
    assert "## sessions" in readme
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600


async def test_export_withholds_credentials_and_secrets(identity: Identity, tmp_path: Path) -> None:
    subject = await seed_subject(identity)
    archive = tmp_path / "export.zip"
    await write_export_to(identity, subject.user_id, archive)

    data, text, _ = _read(archive)
    users = next(s for s in data["sections"] if s["section"] == "users")["rows"][0]
    for withheld in ("password_hash", "totp_secret_sealed", "email_lookup"):
        assert withheld not in users
    assert "code_hash" not in text
    assert "key_digest" not in text
    assert "wrapped" not in text
    assert "internal_notes" not in text


async def test_export_reads_in_batches_and_is_complete(identity: Identity, tmp_path: Path) -> None:
    from privacy.export import write_export_archive

    subject = await seed_subject(identity)
    one_row_batches = tmp_path / "small.zip"
    default_batches = tmp_path / "default.zip"
    small = await write_export_archive(subject.user_id, one_row_batches, batch_size=1)
    default = await write_export_archive(subject.user_id, default_batches)

    assert small.rows_per_section == default.rows_per_section
    assert _read(one_row_batches)[0]["sections"] == _read(default_batches)[0]["sections"]


async def test_a_failed_export_leaves_no_file(identity: Identity, tmp_path: Path) -> None:
    import pytest

    from privacy import export

    subject = await seed_subject(identity)
    archive = tmp_path / "export.zip"

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database went away")

    original = export._write_section
    export._write_section = broken  # type: ignore[assignment]
    try:
        with pytest.raises(RuntimeError):
            await export.write_export_archive(subject.user_id, archive)
    finally:
        export._write_section = original  # type: ignore[assignment]
    assert list(tmp_path.iterdir()) == []
