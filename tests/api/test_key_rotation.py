"""Key rotation: new versions, data moved in resumable batches, nothing unreadable."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from accounts.services.contact import user_id_for_email
from accounts.services.users import get_user, users_by_ids
from api.key_rotation import finish_pending, key_status, rotate
from api.keys import install_app_keyring, key_file_path
from api.settings import Settings
from privacy.crypto import KeyFamily, load_keyring, rotate_key_file
from privacy.keys_in_use import RECHECK_SECONDS, install_keyring
from privacy.subject_keys import kek_version_counts, rewrap_batch
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def key_file(settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A private copy of the run's keys, so rotating here leaves other tests alone."""
    original = key_file_path(settings)
    copy = tmp_path / "keys.json"
    copy.write_bytes(original.read_bytes())
    copy.chmod(0o600)
    # Written long ago, as a deployed key file is (a fresh one makes rotation wait for
    # servers to reload it).
    os.utime(copy, (time.time() - 60, time.time() - 60))
    install_keyring(load_keyring(copy), path=copy, loader=lambda: load_keyring(copy))
    yield copy
    install_app_keyring(settings)


async def test_rotation_moves_every_key_and_index_and_keeps_data_readable(key_file: Path) -> None:
    users = [await make_user(email=f"rotate{n}@example.com") for n in range(7)]

    rotated, moved = await rotate(key_file, (KeyFamily.KEK, KeyFamily.BLIND_INDEX))

    status = await key_status()
    assert rotated
    assert moved == 14  # 7 data keys re-wrapped + 7 email indexes recomputed
    assert status.active_kek == 2
    assert status.data_keys_by_kek == {2: 7}
    assert status.email_indexes_by_version == {2: 7}
    for user in users:
        assert (await get_user(user.id)).email == user.email
        assert await user_id_for_email(user.email) == user.id


async def test_interrupted_rotation_is_finished_not_repeated(key_file: Path) -> None:
    users = [await make_user() for _ in range(5)]
    # A crash after the new key version was written and two keys were moved:
    rotate_key_file(key_file, KeyFamily.KEK)
    install_keyring(load_keyring(key_file))
    assert await rewrap_batch(batch_size=2) == 2

    resumed, moved = await rotate(key_file, (KeyFamily.KEK,))
    again, _ = await rotate(key_file, (KeyFamily.KEK,))

    assert (resumed, moved) == (False, 3)
    assert again
    assert (await key_status()).data_keys_by_kek == {3: 5}
    for user in users:
        assert (await get_user(user.id)).email == user.email


async def test_lookups_work_mid_reindex(key_file: Path) -> None:
    user = await make_user(email="midway@example.com")
    rotate_key_file(key_file, KeyFamily.BLIND_INDEX)
    install_keyring(load_keyring(key_file))

    assert await user_id_for_email("midway@example.com") == user.id  # old-version index
    await finish_pending()
    assert await user_id_for_email("midway@example.com") == user.id  # new-version index


async def test_no_key_moves_before_every_server_can_have_reloaded_the_keys(
    key_file: Path,
) -> None:
    """Serving processes see a new key file within RECHECK_SECONDS; a key re-wrapped
    sooner would be unreadable in one still on the old keys."""
    await make_user()
    rotation = asyncio.create_task(rotate(key_file, (KeyFamily.KEK,)))
    first_moved_at = None
    while first_moved_at is None:
        finished = rotation.done()
        if (await kek_version_counts()).get(2):
            first_moved_at = time.time()
        assert not finished or first_moved_at is not None
        await asyncio.sleep(0.01)
    await rotation

    assert first_moved_at - key_file.stat().st_mtime >= RECHECK_SECONDS


async def test_a_rotation_under_concurrent_reads_fails_no_read(key_file: Path) -> None:
    users = [await make_user(email=f"busy{n}@example.com") for n in range(24)]
    ids = [user.id for user in users]
    failures: list[str] = []
    reads = 0
    rotating = asyncio.Event()

    async def reader() -> None:
        nonlocal reads
        while not rotating.is_set():
            found = await users_by_ids(ids)
            failures.extend(str(user.id) for user in users if found[user.id].email != user.email)
            for user in users[:4]:
                if await user_id_for_email(user.email) != user.id:
                    failures.append(f"lookup {user.id}")
            reads += 1
            await asyncio.sleep(0)

    readers = [asyncio.create_task(reader()) for _ in range(3)]
    try:
        rotated, moved = await rotate(
            key_file,
            (KeyFamily.KEK, KeyFamily.BLIND_INDEX),
            batch_size=3,
            pause_seconds=0.01,
        )
    finally:
        rotating.set()
        await asyncio.gather(*readers)

    assert rotated
    assert moved == 48  # 24 data keys re-wrapped and 24 email indexes recomputed
    assert failures == []
    assert reads >= 20  # the readers really ran alongside the batches
