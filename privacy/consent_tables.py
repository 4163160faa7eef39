"""Consent (GDPR art. 7): purposes, their versioned texts, and the append-only record.

A purpose (``marketing_email``) has texts numbered 1, 2, …; a text never changes once
published (a correction is a new version). Every grant and withdrawal is one new row of
``consent_records``, bound to the version and SHA-256 of the exact text it concerns;
rows are never updated. Services: ``privacy.consent``.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from piccolo.columns import UUID, BigSerial, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from privacy.inventory import (
    NOT_PERSONAL,
    Category,
    Column,
    Retention,
    RowErasure,
    classify,
    row_id,
    subject_link,
    timestamp,
)


class ConsentAction(StrEnum):
    granted = "granted"
    withdrawn = "withdrawn"


class ConsentPurpose(Table, tablename="consent_purposes"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    # Stable machine name clients and processing code refer to, e.g. "marketing_email".
    key = Varchar(length=64, unique=True)
    # The version of the text that consent must be given to now; 0 before the first text.
    # Moved only by a conditional update, in the transaction that inserts the new text.
    current_version = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class ConsentText(Table, tablename="consent_texts"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    # Texts outlive nothing they were shown for: a purpose with texts cannot be deleted.
    purpose = ForeignKey(
        references=ConsentPurpose, null=False, on_delete=OnDelete.restrict, index=True
    )
    # 1, 2, …: issued by the conditional update of ConsentPurpose.current_version, so two
    # publishers can never both insert the same version.
    version = Integer()
    # NFC-normalised; ``text_sha256`` is the hex SHA-256 of its UTF-8 bytes.
    text = Text()
    text_sha256 = Varchar(length=64)
    published_at = Timestamptz(default=TimestamptzNow())
    # How it was published: "cli", "seed", …
    published_via = Varchar(length=16)


class ConsentRecord(Table, tablename="consent_records"):
    # Ordered: the latest row of a (subject, purpose) is the one with the highest id.
    id = BigSerial(primary_key=True)
    # A user id; not a foreign key: the privacy app imports no domain app.
    subject_id = UUID(index=True)
    purpose = Varchar(length=64, index=True)
    text_version = Integer()
    text_sha256 = Varchar(length=64)
    action = Varchar(length=16, choices=ConsentAction)
    occurred_at = Timestamptz(default=TimestamptzNow())
    # How the subject expressed it: "graphql", "cli", …
    method = Varchar(length=16)
    request_id = Varchar(length=64, null=True, default=None)


# The data inventory (privacy/inventory.py). Purposes and texts are about no one. The
# records are the proof of consent art. 7(1) asks for: kept while the account exists,
# deleted with it (the audit trail keeps the pseudonymous events).
_PROOF = "proof of consent (art. 7(1))"

classify(
    ConsentPurpose,
    subject=None,
    purpose="the purposes users may consent to",
    retention=Retention("kept while any record refers to them"),
    on_erasure=RowErasure.keep,
    columns={
        "id": row_id(),
        "key": NOT_PERSONAL,
        "current_version": NOT_PERSONAL,
        "created_at": timestamp(),
    },
)

classify(
    ConsentText,
    subject=None,
    purpose="the exact texts consent was asked with",
    retention=Retention("kept while any record refers to them"),
    on_erasure=RowErasure.keep,
    columns={
        "id": row_id(),
        "purpose": NOT_PERSONAL,
        "version": NOT_PERSONAL,
        "text": NOT_PERSONAL,
        "text_sha256": NOT_PERSONAL,
        "published_at": timestamp(),
        "published_via": NOT_PERSONAL,
    },
)

classify(
    ConsentRecord,
    subject="subject_id",
    purpose=_PROOF,
    retention=Retention("while the account exists; deleted on erasure"),
    on_erasure=RowErasure.delete,
    columns={
        "id": row_id(),
        "subject_id": subject_link(_PROOF),
        # What was consented to, and how: about the purpose, not the person.
        "purpose": Column(Category.none, _PROOF),
        "text_version": Column(Category.none, _PROOF),
        "text_sha256": Column(Category.none, _PROOF),
        # The subject's own declaration.
        "action": Column(Category.content, _PROOF),
        "occurred_at": timestamp(_PROOF),
        "method": Column(Category.none, _PROOF),
        "request_id": NOT_PERSONAL,
    },
)
