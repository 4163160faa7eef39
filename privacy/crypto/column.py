"""The encrypted column type for Piccolo tables.

``encrypted()`` declares a column that only ever holds envelope tokens
(:mod:`privacy.crypto.envelope`: AES-256-GCM under a data key, random 96-bit nonce,
versioned ``v1.<key id>.<…>`` format), never plaintext. Storage is TEXT on SQLite and
PostgreSQL alike. What it adds is that the column knows its own cell: :func:`seal_cell`
and :func:`open_cell` take the column object, refuse any column not declared this way,
and bind the ciphertext to its table and column (plus the row id given), so a caller
cannot get the associated data wrong or move a value between columns unnoticed. Its
values are ``secret`` (left out of Piccolo's ``exclude_secrets`` reads), and the data
inventory must mark exactly these columns ``encrypted``
(``tests/privacy/test_inventory.py`` checks both ways).

A marked ``Text`` rather than a ``Text`` subclass: Piccolo's migrations record a
column's class, and a new class would be a schema change that SQLite cannot apply
(``ALTER COLUMN … TYPE``), although nothing about the storage changes. Piccolo also
has no per-row, asynchronous value hook (a row's data key is looked up in the
database), so the services that write these columns encrypt through the two functions
here, and nowhere else.
"""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column, Text

from privacy.crypto.data_keys import DataKey
from privacy.crypto.envelope import decrypt_value, encrypt_value

__all__ = ("encrypted", "is_encrypted", "open_cell", "seal_cell")

_MARK = "opendesk_encrypted"


def encrypted(*, null: bool = False, default: Any = "") -> Text:
    """A TEXT column for envelope tokens; always ``secret``."""
    column = Text(default=default, null=null, secret=True)
    setattr(column, _MARK, True)
    return column


def is_encrypted(column: Column) -> bool:
    return getattr(column, _MARK, False) is True


def cell_of(column: Column) -> tuple[str, str]:
    """(table, column) as bound into the associated data."""
    if not is_encrypted(column):
        raise TypeError(f"{column._meta.name!r} is not declared with encrypted()")
    return column._meta.table._meta.tablename, column._meta.db_column_name


def seal_cell(column: Column, *, key: DataKey, row_id: str, value: str) -> str:
    table, name = cell_of(column)
    return encrypt_value(value, key=key, table=table, column=name, row_id=row_id)


def open_cell(column: Column, *, key: DataKey, row_id: str, token: str) -> str:
    """The plaintext; raises DecryptionError for any other key, cell or a modified token."""
    table, name = cell_of(column)
    return decrypt_value(token, key=key, table=table, column=name, row_id=row_id)
