"""Cryptography for personal data: keyring, data keys, encrypted values, blind indexes."""

from privacy.crypto.blind_index import (
    BlindIndex,
    blind_index,
    blind_index_candidates,
    normalise_identifier,
)
from privacy.crypto.data_keys import (
    DataKey,
    WrappedDataKey,
    create_data_key,
    generate_data_key,
    rewrap,
    unwrap_data_key,
    wrap_data_key,
)
from privacy.crypto.envelope import decrypt_value, encrypt_value, read_key_id
from privacy.crypto.errors import CryptoError, DecryptionError, KeyringError
from privacy.crypto.key_provider import KeyProvider, LocalKeyProvider
from privacy.crypto.keyring import (
    KeyFamily,
    Keyring,
    generate_development_keyring,
    load_keyring,
    rotate_key_file,
)

__all__ = [
    "BlindIndex",
    "CryptoError",
    "DataKey",
    "DecryptionError",
    "KeyFamily",
    "KeyProvider",
    "Keyring",
    "KeyringError",
    "LocalKeyProvider",
    "WrappedDataKey",
    "blind_index",
    "blind_index_candidates",
    "create_data_key",
    "decrypt_value",
    "encrypt_value",
    "generate_data_key",
    "generate_development_keyring",
    "load_keyring",
    "normalise_identifier",
    "read_key_id",
    "rewrap",
    "rotate_key_file",
    "unwrap_data_key",
    "wrap_data_key",
]
