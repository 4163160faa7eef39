"""The keyring this process uses, installed once at start-up and kept current.

Services that encrypt or decrypt personal columns ask for it here instead of having it
threaded through every call; it fails closed (raises) when nothing was installed. When
installed with a loader, the keyring is reloaded (at most once a second) after the key
file changes, so servers pick up a rotation while they keep serving.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from privacy.crypto import Keyring, KeyringError

# A process sees a changed key file within this long (rotation waits this out before it
# moves any row to the new keys: api/key_rotation.py).
RECHECK_SECONDS = 1.0


@dataclass
class _Installed:
    keyring: Keyring
    path: Path | None
    loader: Callable[[], Keyring] | None
    mtime_ns: int
    checked_at: float


_installed: _Installed | None = None


def _mtime(path: Path | None) -> int:
    try:
        return path.stat().st_mtime_ns if path else 0
    except OSError:
        return 0


def install_keyring(
    keyring: Keyring, *, path: Path | None = None, loader: Callable[[], Keyring] | None = None
) -> None:
    """Install the process keyring; with ``path`` and ``loader`` it follows file changes."""
    global _installed  # one keyring per process, set by the HTTP layer / CLI at start-up
    _installed = _Installed(keyring, path, loader, _mtime(path), time.monotonic())


def current_keyring() -> Keyring:
    if _installed is None:
        raise KeyringError("no keyring installed: the process started without keys")
    now = time.monotonic()
    if _installed.loader is not None and now - _installed.checked_at >= RECHECK_SECONDS:
        _installed.checked_at = now
        mtime = _mtime(_installed.path)
        if mtime != _installed.mtime_ns:
            # A failed reload keeps the keys in use: a half-written file cannot stop service.
            try:
                _installed.keyring = _installed.loader()
                _installed.mtime_ns = mtime
            except KeyringError:
                pass
    return _installed.keyring
