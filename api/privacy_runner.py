"""The serving process's runner for data subject requests: every few seconds it claims
due exports and erasures (privacy/requests.py leases make that safe with any number of
workers), removes expired export archives and the files of erased attachments.
``opendesk privacy run`` does one pass."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from accounts.services.identity import Identity
from accounts.services.request_runner import run_due_requests
from desk.attachments import AttachmentStore
from desk.services.attachments import purge_erased_files, sweep_orphaned_files
from privacy import requests

logger = logging.getLogger(__name__)


async def run_once(
    identity: Identity, exports_dir: Path, attachments: AttachmentStore | None = None
) -> int:
    """One pass: due jobs, expired archives, then the stored files of attachments whose
    content an erasure (or retention) erased. Returns how many jobs finished."""
    finished = await run_due_requests(identity, exports_dir)
    for name in await requests.expire_archives(identity.now()):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(exports_dir / name)
    if attachments is not None:
        await delete_erased_attachment_files(attachments)
    return finished


async def delete_erased_attachment_files(store: AttachmentStore) -> int:
    """The files erasure and retention left behind (the database steps erase the rows;
    the files follow here), and orphans of interrupted uploads. Safe to repeat."""
    return await purge_erased_files(store) + await sweep_orphaned_files(store)


class PrivacyRunner:
    def __init__(
        self,
        identity: Identity,
        exports_dir: Path,
        interval_seconds: float,
        attachments: AttachmentStore | None = None,
    ) -> None:
        self._identity = identity
        self._exports_dir = exports_dir
        self._interval = interval_seconds
        self._attachments = attachments
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="privacy-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await run_once(self._identity, self._exports_dir, self._attachments)
            except Exception:
                # A database hiccup must not end the loop; the next pass retries.
                logger.exception("privacy runner pass failed")
            await asyncio.sleep(self._interval)
