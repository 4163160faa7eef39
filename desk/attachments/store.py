"""Where attachment content lives: one directory outside any served path, random names.

Files are written to ``<name>.partial`` (0600, created exclusively), flushed, then renamed
into place, so a crash never leaves a half-written file under a real name. The directory
is created 0700. Nothing here knows about tickets or users: the row in ``attachments``
holds the storage key; a file no row points to is an orphan, removed by the desk's sweep
(after erasure or retention replaced the row's key, or a crash between write and insert).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

_KEY = re.compile(r"[0-9a-f]{64}")
# A file younger than this may belong to an upload whose row is not committed yet.
SWEEP_GRACE_SECONDS = 3600


class AttachmentStore:
    """Synchronous file operations (callers run them in a worker thread)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, data: bytes) -> str:
        """Store ``data`` under a new random key and return the key."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        partial = self.root / f"{key}.partial"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, self.root / key)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return key

    def path(self, key: str) -> Path:
        """The file of ``key``; raises ValueError for anything that is not a key we make
        (so no stored value can point outside the directory)."""
        if not _KEY.fullmatch(key):
            raise ValueError("not an attachment storage key")
        return self.root / key

    def delete(self, name: str) -> None:
        """Remove a stored file (``key``) or a leftover ``key.partial``; no error if gone."""
        if _KEY.fullmatch(name.removesuffix(".partial")):
            (self.root / name).unlink(missing_ok=True)

    def sweep_candidates(self, *, now: float | None = None) -> list[str]:
        """Names of files older than the grace period (a younger one may belong to an
        upload whose row is not committed yet); ``.partial`` names included."""
        if not self.root.is_dir():
            return []
        cutoff = (now if now is not None else time.time()) - SWEEP_GRACE_SECONDS
        names = []
        for entry in os.scandir(self.root):
            if not _KEY.fullmatch(entry.name.removesuffix(".partial")):
                continue
            try:
                if entry.is_file() and entry.stat().st_mtime <= cutoff:
                    names.append(entry.name)
            except FileNotFoundError:
                continue
        return names
