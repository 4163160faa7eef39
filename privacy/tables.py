"""Per-data-subject data keys (DEKs), wrapped under the keyring's KEK.

Every personal column of a subject is encrypted under that subject's DEK. Destroying the
row (crypto-shredding) makes every copy of those ciphertexts unreadable, backups
included, as long as key backups are kept for less time than data backups.
"""

from __future__ import annotations

from piccolo.columns import UUID, Integer, Text, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class DataKeyRow(Table, tablename="data_keys"):
    # The data subject's id (a user id); not a foreign key: the privacy app imports no
    # domain app, and the key must be destroyable independently of the subject's row.
    subject_id = UUID(primary_key=True)
    wrapped = Text(secret=True)
    kek_version = Integer(index=True)
    created_at = Timestamptz(default=TimestamptzNow())
