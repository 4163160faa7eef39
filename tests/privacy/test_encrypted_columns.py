"""The encrypted column type: declared once, used for every personal secret, bound to
its cell; TOTP secrets under the subject's own data key (and the old seal still opens)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from accounts import secret_seal
from accounts.tables import User
from api.database import all_tables
from api.key_rotation import finish_pending, key_status
from privacy.crypto import DataKey, DecryptionError, KeyFamily, encrypt_value
from privacy.crypto.column import is_encrypted, open_cell, seal_cell
from privacy.inventory import inventory
from privacy.keys_in_use import current_keyring
from privacy.subject_keys import data_key_for, destroy_data_key
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("db")

KEY = DataKey(key_id="k1", material=bytes(32))


def test_the_inventory_marks_exactly_the_encrypted_columns() -> None:
    classified = inventory()
    for table in all_tables():
        entry = classified.get(table._meta.tablename)
        for column in table._meta.columns:
            declared = entry.columns[column._meta.name].encrypted if entry else False
            assert declared == is_encrypted(column), f"{table._meta.tablename}.{column._meta.name}"
            if declared:
                assert column._meta.secret, column._meta.name


def test_contact_and_totp_columns_are_encrypted() -> None:
    for column in (User.email, User.phone, User.totp_secret_sealed, User.totp_pending_sealed):
        assert is_encrypted(column), column._meta.name
    assert not is_encrypted(User.display_name)


def test_a_value_opens_only_in_its_own_cell() -> None:
    token = seal_cell(User.email, key=KEY, row_id="row-1", value="a@example.com")

    assert open_cell(User.email, key=KEY, row_id="row-1", token=token) == "a@example.com"
    with pytest.raises(DecryptionError):
        open_cell(User.phone, key=KEY, row_id="row-1", token=token)  # other column
    with pytest.raises(DecryptionError):
        open_cell(User.email, key=KEY, row_id="row-2", token=token)  # other row
    with pytest.raises(DecryptionError):
        open_cell(User.email, key=DataKey("k1", bytes([1]) * 32), row_id="row-1", token=token)


def test_only_declared_columns_can_be_sealed() -> None:
    with pytest.raises(TypeError, match="display_name"):
        seal_cell(User.display_name, key=KEY, row_id="row-1", value="x")


async def test_totp_secrets_are_sealed_under_the_users_data_key_and_die_with_it() -> None:
    user_id = uuid.uuid4()
    key = await data_key_for(user_id)

    sealed = await secret_seal.seal(
        "JBSWY3DPEHPK3PXP", user_id=user_id, column=User.totp_secret_sealed
    )

    assert sealed.split(".")[1] == key.key_id
    keyring = current_keyring()
    opened = await secret_seal.unseal(
        sealed, keyring=keyring, user_id=user_id, column=User.totp_secret_sealed
    )
    assert opened == "JBSWY3DPEHPK3PXP"
    with pytest.raises(DecryptionError):  # bound to its column
        await secret_seal.unseal(
            sealed, keyring=keyring, user_id=user_id, column=User.totp_pending_sealed
        )
    await destroy_data_key(user_id)
    with pytest.raises(DecryptionError):  # erased: the key is gone
        await secret_seal.unseal(
            sealed, keyring=keyring, user_id=user_id, column=User.totp_secret_sealed
        )


async def test_a_secret_sealed_the_old_way_still_opens() -> None:
    user_id = uuid.uuid4()
    await data_key_for(user_id)
    keyring = current_keyring()
    old = legacy_token(keyring, user_id, "OLDSECRET234567")

    opened = await secret_seal.unseal(
        old, keyring=keyring, user_id=user_id, column=User.totp_secret_sealed
    )

    assert opened == "OLDSECRET234567"


async def test_old_secrets_are_counted_and_moved_to_the_data_key_by_a_rotation_run() -> None:
    user = await make_user()
    key = await data_key_for(user.id)
    keyring = current_keyring()
    old = legacy_token(keyring, user.id, "OLDSECRET234567")
    await User.update({User.totp_secret_sealed: old}).where(User.id == user.id)

    before = await key_status()
    moved = await finish_pending()
    after = await key_status()

    assert before.legacy_totp_secrets == 1
    assert moved == 1
    assert after.legacy_totp_secrets == 0
    row = await User.select(User.totp_secret_sealed).where(User.id == user.id).first()
    assert row is not None
    assert row["totp_secret_sealed"].split(".")[1] == key.key_id
    assert (
        await secret_seal.unseal(
            row["totp_secret_sealed"],
            keyring=keyring,
            user_id=user.id,
            column=User.totp_secret_sealed,
        )
        == "OLDSECRET234567"
    )


def legacy_token(keyring: Any, user_id: uuid.UUID, secret: str) -> str:
    """A TOTP secret sealed the old way: under the HKDF purpose key of the active KEK."""
    version = keyring.active_version(KeyFamily.KEK)
    material = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"opendesk/totp-secret/v1"
    ).derive(keyring.key_bytes(KeyFamily.KEK, version))
    return encrypt_value(
        secret,
        key=DataKey(key_id=f"{version:016x}", material=material),
        table="users",
        column="totp_secret_sealed",
        row_id=str(user_id),
    )
