"""The data inventory: what every column holds, whose it is, why, how long, and how it is
erased. Declared once, next to each table (``classify(...)`` under its class), and read by
everything that handles personal data: the record of processing (``opendesk privacy
inventory``), export, erasure and retention. A column without a classification fails the
build (tests/privacy/test_inventory.py), so new personal data cannot slip past them.

The privacy app imports no domain app: tables register themselves here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from piccolo.table import Table


class Category(StrEnum):
    none = "none"  # not about a person (status, timestamps, foreign ids of things)
    identifier = "identifier"  # names, ids and pseudonyms that single a person out
    contact = "contact"  # how to reach a person (email, phone)
    content = "content"  # what a person wrote or uploaded
    security = "security"  # credentials, secrets and security telemetry about a person
    special = "special"  # GDPR art. 9 data: none stored today; declared so it is never silent


class Erase(StrEnum):
    """What erasure does to one column of a row that belongs to the erased subject."""

    keep = "keep"  # not personal, or the row's own random id (a pseudonym once all else goes)
    redact = "redact"  # text replaced by the redaction marker
    pseudonym = "pseudonym"  # replaced by "Erased user <hash>"
    null = "null"
    empty = "empty"  # NOT NULL text: emptied
    retire = "retire"  # unique lookup value: replaced by an unguessable tombstone
    false = "false"  # a flag switched off (e.g. is_active)


class RowErasure(StrEnum):
    """What erasure does to the rows that belong to the erased subject."""

    update = "update"  # the row stays (history); its columns follow their Erase rules
    delete = "delete"  # the row goes (credentials, tokens, keys)
    keep = "keep"  # the row stays as it is (it holds no personal value beyond a pseudonym)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long rows are kept. ``days`` after ``after`` (a timestamp column), when the rows
    also match ``when`` (a column → values filter); then ``then`` (delete or anonymise).
    ``days`` None: kept for the life of what it describes (``rule`` says which)."""

    rule: str
    days: int | None = None
    after: str | None = None
    then: RowErasure = RowErasure.delete
    when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # A foreign key: rows expire with the row it points to, under that table's rule
    # (``then`` is this table's own), e.g. comments with their ticket.
    follows: str | None = None


@dataclass(frozen=True, slots=True)
class Column:
    category: Category
    purpose: str
    erase: Erase = Erase.keep
    # Ciphertext under the subject's data key (privacy.crypto.envelope), bound to
    # (table, column, row id): export decrypts it, erasure destroys the key.
    encrypted: bool = False
    # Never exported (credentials and secrets: art. 15(4), the rights of others and the
    # security of the service); ``export_reason`` says why in the record of processing.
    exported: bool = True
    # The column that links this value to its subject when it is not the table's (e.g. a
    # ticket's assignee is the assignee's, not the requester's).
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class TableInventory:
    table: type[Table]
    # The column holding the subject's user id ("id" for users themselves); None when
    # rows are about no person.
    subject: str | None
    purpose: str
    retention: Retention
    on_erasure: RowErasure
    columns: Mapping[str, Column]

    @property
    def name(self) -> str:
        return self.table._meta.tablename

    def subject_columns(self) -> list[str]:
        """Every column that links rows of this table to a subject, the table's first."""
        links = [self.subject] if self.subject else []
        for column in self.columns.values():
            if column.subject and column.subject not in links:
                links.append(column.subject)
        return links

    def columns_of(self, link: str) -> dict[str, Column]:
        """The columns whose values belong to the subject linked by ``link``."""
        if link == self.subject:
            return {
                name: column
                for name, column in self.columns.items()
                if column.subject is None or column.subject == link
            }
        return {name: column for name, column in self.columns.items() if column.subject == link}


class InventoryError(Exception):
    """An inconsistent declaration; raised when the table module is imported."""


_INVENTORY: dict[str, TableInventory] = {}


def classify(
    table: type[Table],
    *,
    subject: str | None,
    purpose: str,
    retention: Retention,
    on_erasure: RowErasure,
    columns: Mapping[str, Column],
) -> None:
    """Declare a table's classification (call it right under the table's class)."""
    names = {column._meta.name for column in table._meta.columns}
    declared = set(columns)
    if declared != names:
        missing, unknown = sorted(names - declared), sorted(declared - names)
        raise InventoryError(
            f"{table._meta.tablename}: unclassified columns {missing}, unknown columns {unknown}"
        )
    links = [subject, *(column.subject for column in columns.values())]
    for link in filter(None, links):
        if link not in names:
            raise InventoryError(f"{table._meta.tablename}: subject column {link!r} not found")
    if on_erasure is not RowErasure.keep and not any(links):
        raise InventoryError(f"{table._meta.tablename}: rows about no one cannot be erased")
    entry = TableInventory(table, subject, purpose, retention, on_erasure, dict(columns))
    _INVENTORY[entry.name] = entry


def inventory() -> dict[str, TableInventory]:
    """Every classified table by name (importing the apps' tables registers them)."""
    from api.database import all_tables

    all_tables()  # imports every app's tables module
    return dict(_INVENTORY)


def personal_tables() -> list[TableInventory]:
    """Tables that hold some subject's data, in a stable order."""
    return [entry for _, entry in sorted(inventory().items()) if entry.subject_columns()]


# Shorthands for the declarations.
NOT_PERSONAL = Column(Category.none, "operation of the service")


def row_id(purpose: str = "identifies the row") -> Column:
    return Column(Category.none, purpose)


def timestamp(purpose: str = "record keeping") -> Column:
    return Column(Category.none, purpose)


def subject_link(purpose: str) -> Column:
    """The subject's user id: a pseudonym once erasure has removed everything else."""
    return Column(Category.identifier, purpose)
