from __future__ import annotations

import pytest

from privacy.crypto import DataKey, Keyring, generate_data_key


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def data_key() -> DataKey:
    return generate_data_key()
