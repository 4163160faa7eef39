"""Data keys per data subject: create on first use, unwrap in batches, destroy to erase.

Unwrapped keys never leave the process and are never logged; a destroyed key makes the
subject's ciphertexts unreadable everywhere (crypto-shredding).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from piccolo.query.functions.aggregate import Count

from privacy.crypto import (
    DataKey,
    KeyFamily,
    WrappedDataKey,
    create_data_key,
    rewrap,
    unwrap_data_key,
)
from privacy.keys_in_use import current_keyring
from privacy.tables import DataKeyRow


async def data_key_for(subject_id: uuid.UUID) -> DataKey:
    """The subject's data key, created (and stored wrapped) on first use."""
    existing = await data_keys_for([subject_id])
    if subject_id in existing:
        return existing[subject_id]
    keyring = current_keyring()
    _key, wrapped = create_data_key(subject_id=str(subject_id), provider=keyring)
    # Two first uses at once: one insert wins, both then read the winner's key.
    await DataKeyRow.insert(
        DataKeyRow(
            subject_id=subject_id,
            wrapped=wrapped.to_token(),
            kek_version=wrapped.kek_version,
            created_at=datetime.now(UTC),
        )
    ).on_conflict(action="DO NOTHING")
    stored = await data_keys_for([subject_id])
    return stored[subject_id]


async def data_keys_for(subject_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, DataKey]:
    """Unwrapped keys of the subjects that have one (erased subjects are absent)."""
    if not subject_ids:
        return {}
    rows = await DataKeyRow.select(DataKeyRow.subject_id, DataKeyRow.wrapped).where(
        DataKeyRow.subject_id.is_in(list(set(subject_ids)))
    )
    # Taken after the read: a key a rotation re-wrapped meanwhile is under a KEK version
    # this process has loaded by then (api/key_rotation.py waits for the reload).
    keyring = current_keyring()
    keys = {}
    for row in rows:
        wrapped = WrappedDataKey.from_token(row["wrapped"], subject_id=str(row["subject_id"]))
        keys[row["subject_id"]] = unwrap_data_key(wrapped, provider=keyring)
    return keys


async def destroy_data_key(subject_id: uuid.UUID) -> bool:
    """Crypto-shred: delete the subject's key. True when a key was destroyed."""
    deleted = (
        await DataKeyRow.delete()
        .where(DataKeyRow.subject_id == subject_id)
        .returning(DataKeyRow.subject_id)
    )
    return bool(deleted)


async def rewrap_batch(batch_size: int = 500) -> int:
    """Re-wrap up to ``batch_size`` keys still under an older KEK; returns how many.

    Resumable: each row is updated on its own, and only if it still has the old version,
    so a crash (or a concurrent run) at any point leaves every key readable.
    """
    keyring = current_keyring()
    active = keyring.active_version(KeyFamily.KEK)
    rows = (
        await DataKeyRow.select(DataKeyRow.subject_id, DataKeyRow.wrapped, DataKeyRow.kek_version)
        .where(DataKeyRow.kek_version != active)
        .limit(batch_size)
    )
    for row in rows:
        wrapped = WrappedDataKey.from_token(row["wrapped"], subject_id=str(row["subject_id"]))
        renewed = rewrap(wrapped, keyring)
        await DataKeyRow.update(
            {DataKeyRow.wrapped: renewed.to_token(), DataKeyRow.kek_version: renewed.kek_version}
        ).where(
            (DataKeyRow.subject_id == row["subject_id"])
            & (DataKeyRow.kek_version == row["kek_version"])
        )
    return len(rows)


async def kek_version_counts() -> dict[int, int]:
    """How many data keys each KEK version wraps (for ``opendesk keys status``)."""
    rows = await DataKeyRow.select(DataKeyRow.kek_version, Count()).group_by(DataKeyRow.kek_version)
    return {row["kek_version"]: row["count"] for row in rows}
