"""A TOTP secret still under the old KEK-derived purpose key moves to the user's data
key the first time it is used."""

from __future__ import annotations

import pyotp
import pytest

from accounts import secret_seal
from accounts.services import second_factor
from accounts.services.identity import Identity
from accounts.tables import User
from privacy.keys_in_use import current_keyring
from privacy.subject_keys import data_key_for
from tests.factories import make_user
from tests.privacy.test_encrypted_columns import legacy_token

pytestmark = pytest.mark.usefixtures("db")


async def test_a_legacy_secret_is_resealed_under_the_data_key_when_used(
    identity: Identity,
) -> None:
    user = await make_user()
    key = await data_key_for(user.id)
    secret = pyotp.random_base32()
    legacy = legacy_token(current_keyring(), user.id, secret)
    await User.update({User.totp_secret_sealed: legacy, User.mfa_enabled: True}).where(
        User.id == user.id
    )
    row = await User.select().where(User.id == user.id).first()
    assert row is not None

    await second_factor.verify(identity, row, totp=pyotp.TOTP(secret).now(), recovery_code=None)

    after = await User.select(User.totp_secret_sealed).where(User.id == user.id).first()
    assert after is not None
    assert after["totp_secret_sealed"] != legacy
    assert after["totp_secret_sealed"].split(".")[1] == key.key_id
    opened = await secret_seal.unseal(
        after["totp_secret_sealed"],
        keyring=current_keyring(),
        user_id=user.id,
        column=User.totp_secret_sealed,
    )
    assert opened == secret
