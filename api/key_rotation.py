"""``opendesk keys rotate`` / ``keys status``: rotation without downtime, resumable.

Rotating first finishes any earlier, interrupted rotation; only when every data key is
wrapped by the active KEK (and every email index uses the active blind-index key) does
it add a new key version, then moves the data over in batches. Each row moves on its
own, so a crash at any point (kill -9 included) loses nothing: the old key versions stay
in the key file, and running the command again finishes the job. New versions of all the
families asked for are written to the key file in one atomic step. Running servers pick
up the new key file within about a second (privacy.keys_in_use); no row moves before
then, so no server meets a key version it has not loaded yet.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from piccolo.query.functions.aggregate import Count

from accounts.secret_seal import legacy_secrets
from accounts.services.contact import reindex_email_batch
from accounts.tables import User
from privacy.crypto import KeyFamily, rotate_key_file
from privacy.keys_in_use import RECHECK_SECONDS, current_keyring
from privacy.subject_keys import kek_version_counts, rewrap_batch

BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class KeyStatus:
    active_kek: int
    active_blind_index: int
    data_keys_by_kek: dict[int, int]
    email_indexes_by_version: dict[int, int]
    # TOTP secrets still under the HKDF purpose key of a KEK version, not a data key.
    legacy_totp_secrets: int = 0

    @property
    def pending(self) -> int:
        stale_keys = sum(n for v, n in self.data_keys_by_kek.items() if v != self.active_kek)
        stale_indexes = sum(
            n for v, n in self.email_indexes_by_version.items() if v != self.active_blind_index
        )
        return stale_keys + stale_indexes + self.legacy_totp_secrets

    def lines(self) -> list[str]:
        return [
            f"active KEK version: {self.active_kek}",
            f"active blind-index version: {self.active_blind_index}",
            "data keys by KEK version: " + _counts(self.data_keys_by_kek),
            "email indexes by key version: " + _counts(self.email_indexes_by_version),
            f"TOTP secrets still under a KEK-derived key: {self.legacy_totp_secrets}",
            f"rows still to move: {self.pending}",
        ]


def _counts(counts: dict[int, int]) -> str:
    return ", ".join(f"v{version}={count}" for version, count in sorted(counts.items())) or "none"


async def key_status() -> KeyStatus:
    keyring = current_keyring()
    rows = await User.select(User.email_lookup_version, Count()).group_by(User.email_lookup_version)
    return KeyStatus(
        active_kek=keyring.active_version(KeyFamily.KEK),
        active_blind_index=keyring.active_version(KeyFamily.BLIND_INDEX),
        data_keys_by_kek=await kek_version_counts(),
        email_indexes_by_version={row["email_lookup_version"]: row["count"] for row in rows},
        legacy_totp_secrets=await legacy_secrets(),
    )


async def finish_pending(batch_size: int = BATCH_SIZE, pause_seconds: float = 0.0) -> int:
    """Move every row still on an older key version; returns how many moved. Sleeps
    ``pause_seconds`` between batches (OPENDESK_KEY_ROTATION_PAUSE_SECONDS)."""
    # TOTP secrets sealed before they moved to data keys (depend on an old KEK version).
    moved = await legacy_secrets(batch_size, reseal=True)
    while True:
        batch = await rewrap_batch(batch_size) + await reindex_email_batch(batch_size)
        if batch == 0:
            return moved
        moved += batch
        if pause_seconds:
            await asyncio.sleep(pause_seconds)


async def rotate(
    key_file: Path,
    families: tuple[KeyFamily, ...],
    *,
    batch_size: int = BATCH_SIZE,
    pause_seconds: float = 0.0,
) -> tuple[bool, int]:
    """(rotated?, rows moved). Resumes an interrupted rotation instead of rotating again."""
    from privacy.crypto import load_keyring
    from privacy.keys_in_use import install_keyring

    await _until_servers_have_reloaded(key_file)  # a run killed just after writing it
    moved = await finish_pending(batch_size, pause_seconds)
    if moved:
        return False, moved
    rotate_key_file(key_file, *families)
    install_keyring(load_keyring(key_file), path=key_file, loader=lambda: load_keyring(key_file))
    await _until_servers_have_reloaded(key_file)
    return True, await finish_pending(batch_size, pause_seconds)


async def _until_servers_have_reloaded(key_file: Path) -> None:
    """Wait until every serving process has the key file's current keys: a row moved to
    a new key version before that would be unreadable (or, for an email index, not
    found) in a process still on the old keyring."""
    wait = _reload_wait_seconds(key_file)
    if wait > 0:
        await asyncio.sleep(wait)


def _reload_wait_seconds(key_file: Path) -> float:
    # The margin covers a request that took its keyring just before the reload and reads
    # the rows just after.
    return key_file.stat().st_mtime + RECHECK_SECONDS + 0.5 - time.time()
