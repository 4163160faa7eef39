"""`opendesk keys rotate` killed with SIGKILL part-way, then run again: it finishes, and
every encrypted value is still there and readable."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounts.services.contact import user_id_for_email
from accounts.services.users import get_user, set_phone
from api.keys import install_app_keyring, key_file_path
from api.settings import Settings
from privacy.crypto import load_keyring
from privacy.keys_in_use import install_keyring
from privacy.subject_keys import kek_version_counts
from tests.factories import make_organisation, make_user

pytestmark = pytest.mark.usefixtures("db")

USERS = 200
CLI = [sys.executable, "-m", "api.cli"]


@pytest.fixture
def key_file(settings: Settings, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the run's keys, so rotating here leaves other tests alone."""
    copy = tmp_path / "keys.json"
    copy.write_bytes(key_file_path(settings).read_bytes())
    copy.chmod(0o600)
    # Written long ago, as a deployed key file is (a fresh one makes rotation wait for
    # servers to reload it).
    os.utime(copy, (time.time() - 60, time.time() - 60))
    install_keyring(load_keyring(copy))
    yield copy
    install_app_keyring(settings)


def _environment(key_file: Path) -> dict[str, str]:
    # Small batches with a pause between them: the kill lands part-way, as it would in a
    # large rotation.
    return {
        **os.environ,
        "OPENDESK_KEYS_FILE": str(key_file),
        "OPENDESK_KEY_ROTATION_BATCH_SIZE": "8",
        "OPENDESK_KEY_ROTATION_PAUSE_SECONDS": "0.05",
        # As deployed (the suite's own processes open a connection per query).
        "OPENDESK_DATABASE_POOL_SIZE": "2",
    }


async def _seed(count: int) -> dict[uuid.UUID, tuple[str, str]]:
    """Users with both encrypted values set: id → (email, phone)."""
    organisation = await make_organisation()

    async def seed_one(number: int) -> tuple[uuid.UUID, tuple[str, str]]:
        email, phone = f"killed{number}@example.com", f"+44 20 7946 {number:04d}"
        user = await make_user(organisation=organisation, email=email)
        await set_phone(user.id, phone)
        return user.id, (email, phone)

    seeded: dict[uuid.UUID, tuple[str, str]] = {}
    for first in range(0, count, 16):  # a few at a time: quicker, still gentle on SQLite
        numbers = range(first, min(first + 16, count))
        seeded.update(await asyncio.gather(*(seed_one(number) for number in numbers)))
    return seeded


async def _wait_until_moved(
    process: subprocess.Popen[str], at_least: int, deadline: float
) -> dict[int, int]:
    """Poll the data keys until ``at_least`` are on the new KEK (the kill then lands in
    a batch or in the pause after one)."""
    while time.monotonic() < deadline:
        assert process.poll() is None, "the rotation finished before it could be killed"
        counts = await kek_version_counts()
        if counts.get(2, 0) >= at_least:
            return counts
        await asyncio.sleep(0.01)
    raise AssertionError("the rotation made no progress")


async def test_rotation_killed_part_way_finishes_on_the_next_run_and_loses_nothing(
    key_file: Path,
) -> None:
    seeded = await _seed(USERS)
    environment = _environment(key_file)

    rotation = subprocess.Popen(
        [*CLI, "keys", "rotate"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Anywhere in the first half: every point must be safe.
    kill_after = random.randint(1, USERS // 2)
    try:
        midway = await _wait_until_moved(rotation, kill_after, time.monotonic() + 20)
    finally:
        rotation.send_signal(signal.SIGKILL)
        rotation.wait(timeout=10)
    assert rotation.returncode == -signal.SIGKILL
    assert sorted(midway) == [1, 2], f"killed after {kill_after}: {midway}"  # both versions

    rerun = subprocess.run(
        [*CLI, "keys", "rotate"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    status = subprocess.run(
        [*CLI, "keys", "status"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith("finished an interrupted rotation")
    assert status.returncode == 0, status.stderr
    assert f"data keys by KEK version: v2={USERS}" in status.stdout
    assert f"email indexes by key version: v2={USERS}" in status.stdout
    assert "rows still to move: 0" in status.stdout
    install_keyring(load_keyring(key_file))  # this process now reads with the new keys
    for user_id, (email, phone) in seeded.items():
        stored = await get_user(user_id)
        assert stored is not None
        assert (stored.email, stored.phone) == (email, phone)
        assert await user_id_for_email(email) == user_id
