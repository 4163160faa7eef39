"""Versioned secret keys: the one keyring, loaded from a key file or a string.

A :class:`Keyring` holds one key family per :class:`KeyFamily`; each family is a set of
numbered versions (32 random bytes each) with one active version. New data is always
protected with the active version; older versions stay so that existing data still
decrypts (envelope keys) or is still found (blind indexes) until it is re-protected.

Key file format (JSON, mode 0600 or stricter)::

    {"format": 1,
     "families": {"kek": {"active": 2, "keys": {"1": "<base64url>", "2": "<base64url>"}},
                  "blind_index": {"active": 1, "keys": {"1": "<base64url>"}}}}

No module reads the environment: a caller that gets the JSON from an environment
variable passes the string to :meth:`Keyring.from_json`.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from privacy.crypto._encoding import b64url_decode, b64url_encode
from privacy.crypto._files import exclusive_lock, read_private_file, write_private_file
from privacy.crypto.errors import KeyringError

KEY_BYTES = 32
KEY_FILE_FORMAT = 1


class KeyFamily(StrEnum):
    """What a key is for; keys are never shared between families."""

    KEK = "kek"  # key-encryption keys: wrap per-subject data keys
    BLIND_INDEX = "blind_index"  # HMAC keys for searchable blind indexes


class Keyring:
    """An immutable set of versioned keys; every family is present and has an active key.

    ``repr``/``str`` show family names and version numbers only, never key bytes, so a
    keyring may appear in logs and tracebacks. Equality is identity: comparing secrets
    with ``==`` is not something callers should be able to do by accident.
    """

    __slots__ = ("_active", "_keys")

    def __init__(
        self, keys: Mapping[KeyFamily, Mapping[int, bytes]], active: Mapping[KeyFamily, int]
    ) -> None:
        """Validate and freeze; raises KeyringError if any family or key is unusable."""
        frozen: dict[KeyFamily, Mapping[int, bytes]] = {}
        for family in KeyFamily:
            versions = keys.get(family)
            if not versions:
                raise KeyringError(f"keyring has no {family.value!r} keys")
            for version, key in versions.items():
                if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                    raise KeyringError(f"{family.value} key version must be a positive int")
                if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                    raise KeyringError(f"{family.value} key v{version} must be {KEY_BYTES} bytes")
            if active.get(family) not in versions:
                raise KeyringError(f"{family.value} active version is not one of its keys")
            frozen[family] = MappingProxyType(dict(versions))
        self._keys: Mapping[KeyFamily, Mapping[int, bytes]] = MappingProxyType(frozen)
        self._active: Mapping[KeyFamily, int] = MappingProxyType(
            {family: active[family] for family in KeyFamily}
        )

    @classmethod
    def generate(cls) -> Keyring:
        """A fresh keyring: version 1 of every family, from the OS CSPRNG."""
        return cls(
            {family: {1: secrets.token_bytes(KEY_BYTES)} for family in KeyFamily},
            dict.fromkeys(KeyFamily, 1),
        )

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        """Parse the key-file JSON (e.g. passed in from a secret environment variable).

        Raises KeyringError with a message that never echoes the input.
        """
        try:
            document = json.loads(text)
        except (ValueError, TypeError):
            # ``from None``: JSONDecodeError carries the whole document (the keys) in .doc.
            raise KeyringError("keyring is not valid JSON") from None
        return cls._from_document(document)

    @classmethod
    def _from_document(cls, document: Any) -> Keyring:
        if not isinstance(document, dict) or document.get("format") != KEY_FILE_FORMAT:
            raise KeyringError(f'keyring must be an object with "format": {KEY_FILE_FORMAT}')
        families = document.get("families")
        if not isinstance(families, dict):
            raise KeyringError('keyring has no "families" object')
        unknown = sorted(set(families) - {family.value for family in KeyFamily})
        if unknown:
            raise KeyringError(f"keyring has unknown key families: {', '.join(unknown)}")
        keys: dict[KeyFamily, dict[int, bytes]] = {}
        active: dict[KeyFamily, int] = {}
        for family in KeyFamily:
            entry = families.get(family.value)
            if not isinstance(entry, dict) or not isinstance(entry.get("keys"), dict):
                raise KeyringError(f'keyring family {family.value!r} needs "active" and "keys"')
            keys[family] = {
                _parse_version(family, name): _parse_key(family, name, encoded)
                for name, encoded in entry["keys"].items()
            }
            active_version = entry.get("active")
            if isinstance(active_version, bool) or not isinstance(active_version, int):
                raise KeyringError(f"keyring family {family.value!r} active must be an int")
            active[family] = active_version
        return cls(keys, active)

    def to_key_file_json(self) -> str:
        """Serialise for a key file. The result CONTAINS THE KEYS: write it 0600, never log it."""
        document = {
            "format": KEY_FILE_FORMAT,
            "families": {
                family.value: {
                    "active": self._active[family],
                    "keys": {str(v): b64url_encode(k) for v, k in sorted(versions.items())},
                }
                for family, versions in self._keys.items()
            },
        }
        return json.dumps(document, indent=2) + "\n"

    def active_version(self, family: KeyFamily) -> int:
        """The version new data must be protected with."""
        return self._active[family]

    def versions(self, family: KeyFamily) -> tuple[int, ...]:
        """Every version held for ``family``, ascending."""
        return tuple(sorted(self._keys[family]))

    def key_bytes(self, family: KeyFamily, version: int) -> bytes:
        """Raw key material (for the crypto modules only). Raises KeyringError if absent."""
        try:
            return self._keys[family][version]
        except KeyError:
            raise KeyringError(f"keyring has no {family.value} key v{version}") from None

    def rotate(self, family: KeyFamily) -> Keyring:
        """A new keyring with a fresh key for ``family`` as its active version.

        Old versions are kept, so data protected under them keeps working; this keyring
        is unchanged.
        """
        new_version = max(self._keys[family]) + 1
        keys = {f: dict(versions) for f, versions in self._keys.items()}
        keys[family][new_version] = secrets.token_bytes(KEY_BYTES)
        return Keyring(keys, {**self._active, family: new_version})

    def __repr__(self) -> str:
        families = "; ".join(
            f"{family.value}: versions {list(self.versions(family))} active {self._active[family]}"
            for family in KeyFamily
        )
        return f"Keyring({families})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        # Pickling would put keys into caches, task queues and crash dumps.
        raise TypeError("Keyring cannot be pickled")


def load_keyring(path: Path) -> Keyring:
    """Load a key file; refuses (KeyringError) a file readable or writable by group/others.

    The mode is checked on the opened file, not the name, so it cannot change in between.
    """
    text = read_private_file(path, _refuse_loose_mode)
    return Keyring.from_json(text)


def generate_development_keyring(path: Path) -> Keyring:
    """Return the keyring at ``path``, creating a fresh one (0600, parent 0700) if absent.

    An existing file is loaded (with the mode check), never overwritten; if two processes
    race, both end up with the file that was written first.
    """
    if path.exists():
        return load_keyring(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    keyring = Keyring.generate()
    try:
        write_private_file(path, keyring.to_key_file_json(), replace=False)
    except FileExistsError:
        return load_keyring(path)
    return keyring


def rotate_key_file(path: Path, *families: KeyFamily) -> Keyring:
    """Add a fresh active version of each of ``families`` to the key file at ``path``, in
    one write; return the result.

    The file is replaced atomically (readers see the old or the new file, never a partial
    one) under an exclusive lock, so two concurrent rotations cannot lose a version, and
    a crash never leaves one family rotated and the other not. Running processes keep
    their loaded keyring until they reload it.
    """
    if not families:
        raise ValueError("name at least one key family to rotate")
    with exclusive_lock(path):
        rotated = load_keyring(path)
        for family in families:
            rotated = rotated.rotate(family)
        write_private_file(path, rotated.to_key_file_json(), replace=True)
    return rotated


def _refuse_loose_mode(path: Path, status: os.stat_result) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise KeyringError(f"{path}: key file is not a regular file")
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o077:
        raise KeyringError(
            f"{path}: key file mode is {mode:04o}; it must be 0600 or stricter (chmod 600 {path})"
        )


def _parse_version(family: KeyFamily, name: object) -> int:
    if not isinstance(name, str) or not name.isascii() or not name.isdigit():
        raise KeyringError(f"keyring family {family.value!r} has a non-numeric version")
    return int(name)


def _parse_key(family: KeyFamily, name: str, encoded: object) -> bytes:
    try:
        if not isinstance(encoded, str):
            raise ValueError
        return b64url_decode(encoded)
    except ValueError:
        raise KeyringError(f"{family.value} key v{name} is not base64url") from None
