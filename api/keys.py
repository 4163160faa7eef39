"""Which keyring this process uses: the configured key file, or development keys.

Development generates a keyring under ``var/`` (0600) on first run; production refuses
to start without a key file (Settings already refuses a missing OPENDESK_KEYS_FILE).
"""

from __future__ import annotations

from pathlib import Path

from api.settings import Settings
from privacy.crypto import Keyring, generate_development_keyring, load_keyring
from privacy.keys_in_use import install_keyring

DEVELOPMENT_KEY_FILE = "development-keys.json"


def development_key_path(settings: Settings) -> Path:
    return settings.var_dir / DEVELOPMENT_KEY_FILE


def key_file_path(settings: Settings) -> Path:
    return settings.keys_file or development_key_path(settings)


def load_app_keyring(settings: Settings) -> Keyring:
    """Raises privacy.crypto.KeyringError (one-line message) when keys are unusable."""
    if settings.keys_file is not None:
        return load_keyring(settings.keys_file)
    return generate_development_keyring(development_key_path(settings))


def install_app_keyring(settings: Settings) -> Keyring:
    """Load the keys and make them the process keyring, following later rotations."""
    keyring = load_app_keyring(settings)
    path = key_file_path(settings)
    install_keyring(keyring, path=path, loader=lambda: load_keyring(path))
    return keyring
