"""Which keyring this process uses: the configured key file, or development keys.

Development generates a keyring under ``var/`` (0600) on first run; production refuses
to start without a key file (Settings already refuses a missing OPENDESK_KEYS_FILE).
"""

from __future__ import annotations

from pathlib import Path

from api.settings import Settings
from privacy.crypto import Keyring, generate_development_keyring, load_keyring

DEVELOPMENT_KEY_FILE = "development-keys.json"


def development_key_path(settings: Settings) -> Path:
    return settings.var_dir / DEVELOPMENT_KEY_FILE


def load_app_keyring(settings: Settings) -> Keyring:
    """Raises privacy.crypto.KeyringError (one-line message) when keys are unusable."""
    if settings.keys_file is not None:
        return load_keyring(settings.keys_file)
    return generate_development_keyring(development_key_path(settings))
