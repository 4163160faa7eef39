"""Private-file I/O for key files (private: not re-exported).

Key files are created 0600 and replaced atomically (temp file in the same directory,
fsync, rename, fsync the directory) so that a crash never leaves a half-written keyring.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from privacy.crypto.errors import KeyringError

_MAX_KEY_FILE_BYTES = 1 << 20


def read_private_file(path: Path, check: Callable[[Path, os.stat_result], None]) -> str:
    """Open ``path``, run ``check`` on the opened file's status, then return its text.

    Checking ``fstat`` of the open descriptor (not ``stat`` of the name) means the file
    that passed the check is the file that is read. OS errors become KeyringError.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise KeyringError(f"{path}: key file not found") from None
    except OSError as error:
        raise KeyringError(f"{path}: cannot open key file ({error.strerror})") from None
    try:
        check(path, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        raw = handle.read(_MAX_KEY_FILE_BYTES + 1)
    if len(raw) > _MAX_KEY_FILE_BYTES:
        raise KeyringError(f"{path}: key file is implausibly large")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyringError(f"{path}: key file is not UTF-8") from None


def write_private_file(path: Path, text: str, *, replace: bool) -> None:
    """Atomically write ``text`` to ``path`` with mode 0600.

    ``replace=False`` never overwrites: it raises FileExistsError if ``path`` exists
    (a hard link, unlike rename, refuses an existing target).
    """
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temp_name, path)
        else:
            os.link(temp_name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
    _fsync_directory(path.parent)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``<path>.lock`` for the duration of the block.

    The lock lives in a sibling file because ``path`` itself is replaced (a new inode)
    by every write, and a lock on the old inode would not exclude the next writer.
    """
    lock_path = path.with_name(f"{path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; without it a crash can resurrect the old file.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
