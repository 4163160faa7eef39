"""The expected failures of :mod:`privacy.crypto`.

Messages never contain key material, plaintext or ciphertext, so they are safe to log.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class for every expected failure raised by :mod:`privacy.crypto`."""


class KeyringError(CryptoError):
    """The keyring is missing, malformed, unsafe to use, or lacks a requested key.

    Raised at start-up or by key-management commands; the message names the problem in
    one line (and the file, when there is one) so the CLI can print it as is.
    """


class DecryptionError(CryptoError):
    """A value could not be decrypted or unwrapped.

    Raised for every cause alike (tampering, wrong key, wrong row or column, truncated or
    malformed input, unknown key version) with the same message, so that an attacker who
    can submit ciphertexts learns nothing from which check failed.
    """

    def __init__(self) -> None:
        super().__init__("decryption failed")
