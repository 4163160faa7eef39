"""Per-data-subject data keys (DEKs), wrapped under the keyring's KEK.

Every personal column of a subject is encrypted under that subject's DEK. Destroying the
row (crypto-shredding) makes every copy of those ciphertexts unreadable, backups
included, as long as key backups are kept for less time than data backups.
"""

from __future__ import annotations

from piccolo.columns import UUID, Integer, Text, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from privacy.inventory import (
    Category,
    Column,
    Retention,
    RowErasure,
    classify,
    subject_link,
    timestamp,
)


class DataKeyRow(Table, tablename="data_keys"):
    # The data subject's id (a user id); not a foreign key: the privacy app imports no
    # domain app, and the key must be destroyable independently of the subject's row.
    subject_id = UUID(primary_key=True)
    wrapped = Text(secret=True)
    kek_version = Integer(index=True)
    created_at = Timestamptz(default=TimestamptzNow())


classify(
    DataKeyRow,
    subject="subject_id",
    purpose="encryption of the subject's personal data at rest",
    retention=Retention("while the subject's data exists; destroyed on erasure"),
    # Deleting the key is the crypto-shredding itself.
    on_erasure=RowErasure.delete,
    columns={
        "subject_id": subject_link("whose key"),
        "wrapped": Column(Category.security, "encryption at rest", exported=False),
        "kek_version": Column(Category.none, "which key wraps it"),
        "created_at": timestamp(),
    },
)
