"""The allowlist of persisted operations.

Who registered or revoked an entry is in the audit trail, not here: the table holds no
personal data and can be copied between environments as it is.
"""

from __future__ import annotations

from piccolo.columns import Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from privacy.inventory import NOT_PERSONAL, Retention, RowErasure, classify, timestamp


class PersistedOperation(Table, tablename="persisted_operations"):
    # Lower-case hex SHA-256 of ``document`` exactly as clients send it (Apollo's APQ id).
    sha256 = Varchar(length=64, primary_key=True)
    name = Varchar(length=200, null=True, default=None)
    document = Text()
    # Space-separated audiences (operations.audiences): who may run it.
    audiences = Text()
    created_at = Timestamptz(default=TimestamptzNow())


classify(
    PersistedOperation,
    subject=None,
    purpose="the operations clients may run (trusted documents)",
    retention=Retention("until revoked"),
    on_erasure=RowErasure.keep,
    columns={
        "sha256": NOT_PERSONAL,
        "name": NOT_PERSONAL,
        "document": NOT_PERSONAL,
        "audiences": NOT_PERSONAL,
        "created_at": timestamp(),
    },
)
