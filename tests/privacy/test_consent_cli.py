"""``opendesk consent publish`` and the demo seed's purposes, as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy.consent_texts import current_text, current_texts, text_sha256
from tests.api.test_cli import run_cli

pytestmark = pytest.mark.usefixtures("db")


async def test_publish_prints_the_version_and_hash_and_is_idempotent(tmp_path: Path) -> None:
    text_file = tmp_path / "marketing.txt"
    text_file.write_text("Email me news and offers.\n", encoding="utf-8")

    first = run_cli(
        "consent", "publish", "--purpose", "marketing_email", "--text-file", str(text_file)
    )
    again = run_cli(
        "consent", "publish", "--purpose", "marketing_email", "--text-file", str(text_file)
    )
    text_file.write_text("Email me news, offers and invitations.\n", encoding="utf-8")
    changed = run_cli(
        "consent", "publish", "--purpose", "marketing_email", "--text-file", str(text_file)
    )

    assert first.returncode == again.returncode == changed.returncode == 0, first.stderr
    expected = text_sha256("Email me news and offers.")
    assert first.stdout.strip() == f"marketing_email version 1 (sha256 {expected})"
    assert again.stdout == first.stdout
    assert changed.stdout.startswith("marketing_email version 2 ")
    current = await current_text("marketing_email")
    assert current is not None
    assert current.text == "Email me news, offers and invitations."


def test_publish_refuses_a_bad_purpose_or_an_unreadable_file_in_one_line(tmp_path: Path) -> None:
    text_file = tmp_path / "text.txt"
    text_file.write_bytes(b"\xff\xfe not utf-8")

    bad_purpose = run_cli(
        "consent", "publish", "--purpose", "Bad Key", "--text-file", str(text_file)
    )
    unreadable = run_cli("consent", "publish", "--purpose", "ok_key", "--text-file", str(text_file))

    assert bad_purpose.returncode == unreadable.returncode == 1
    assert bad_purpose.stderr.startswith("opendesk: ")
    assert len(unreadable.stderr.strip().splitlines()) == 1
    assert "UTF-8" in unreadable.stderr


async def test_the_demo_seed_publishes_its_purposes_once() -> None:
    assert run_cli("seed", "--demo").returncode == 0
    assert run_cli("seed", "--demo").returncode == 0

    texts = await current_texts()

    assert [(t.purpose, t.version) for t in texts] == [
        ("marketing_email", 1),
        ("product_research", 1),
    ]
