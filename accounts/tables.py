"""Identity tables: organisations (the tenancy boundary) and users.

Organisations live here rather than in ``desk`` because users belong to them and
``desk`` tables point at users: keeping both in one app keeps the migration graph
acyclic (accounts <- desk).
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

from permissions.roles import Role
from privacy.crypto.column import encrypted
from privacy.inventory import (
    NOT_PERSONAL,
    Category,
    Column,
    Erase,
    Retention,
    RowErasure,
    classify,
    row_id,
    subject_link,
    timestamp,
)


class ContactVisibility(StrEnum):
    """Who besides staff may see a user's (masked) contact data: the user's own choice."""

    organisation = "organisation"  # colleagues in the same organisation (the default)
    private = "private"  # nobody but the user and the staff working their tickets


class Organisation(Table, tablename="organisations"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    name = Varchar(length=200)
    created_at = Timestamptz(default=TimestamptzNow())


class User(Table, tablename="users"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    # Staff (agents, admins, auditors) may belong to no customer organisation.
    organisation = ForeignKey(references=Organisation, null=True, index=True)
    display_name = Varchar(length=120)
    # Contact data is ciphertext (AES-256-GCM under the user's data key, bound to this
    # row and column: privacy.crypto.column; see accounts/services/contact.py). Logins
    # find a user by the email's blind index (HMAC of the normalised address), unique.
    email = encrypted()
    email_lookup = Varchar(length=32, unique=True, index=True, index_method=IndexMethod.btree)
    email_lookup_version = Integer(default=1)
    phone = encrypted(null=True, default=None)
    contact_visibility = Varchar(
        length=16, choices=ContactVisibility, default=ContactVisibility.organisation.value
    )
    role = Varchar(length=16, choices=Role, default=Role.customer.value)
    password_hash = Text(null=True, default=None, secret=True)
    is_active = Boolean(default=True)
    # TOTP: the secret is sealed under the user's data key too (accounts/secret_seal.py).
    totp_secret_sealed = encrypted(null=True, default=None)
    totp_pending_sealed = encrypted(null=True, default=None)
    totp_last_step = BigInt(null=True, default=None)
    mfa_enabled = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class RecoveryCode(Table, tablename="recovery_codes"):
    """Single-use MFA recovery codes, stored as salted argon2id hashes."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    user = ForeignKey(references=User, index=True)
    code_hash = Text(secret=True)
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AuthenticatorState(Table, tablename="authenticator_states"):
    """Consecutive failures per (user, authenticator), kept in the database so that a
    cache flush cannot reset NIST's hard cap; ``disabled_at`` is set at the cap."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    user = ForeignKey(references=User, index=True)
    authenticator = Varchar(length=16)
    consecutive_failures = Integer(default=0)
    disabled_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())


class PasswordResetToken(Table, tablename="password_reset_tokens"):
    """Only the SHA-256 of the token is stored; single use, short-lived."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    user = ForeignKey(references=User, index=True)
    token_digest = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class ApiKey(Table, tablename="api_keys"):
    """Partner keys ``odk_<prefix>_<secret>``: looked up by prefix, checked by digest."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    prefix = Varchar(length=16, unique=True)
    key_digest = Varchar(length=64, secret=True)
    name = Varchar(length=100)
    organisation = ForeignKey(references=Organisation, null=True, index=True)
    scopes = JSON(default="[]")
    allowed_networks = JSON(default="[]")
    created_by = ForeignKey(references=User, null=True)
    expires_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


# The data inventory (privacy/inventory.py): every column, whose it is, why, for how long.
_ACCOUNT = "the account: signing in, being reached about tickets"
_MFA = "second factor: protects the account"

classify(
    Organisation,
    subject=None,
    purpose="tenancy: which customer a ticket and its people belong to",
    retention=Retention("while the organisation is a customer"),
    on_erasure=RowErasure.keep,
    columns={
        "id": row_id(),
        # A company, not a person (a sole trader's name would be: left to the contract).
        "name": NOT_PERSONAL,
        "created_at": timestamp(),
    },
)

classify(
    User,
    subject="id",
    purpose=_ACCOUNT,
    retention=Retention("while the account exists; erased on request (art. 17)"),
    on_erasure=RowErasure.update,
    columns={
        "id": subject_link("the account's id; a pseudonym in history once erased"),
        "organisation": Column(Category.identifier, "tenancy of the account"),
        "display_name": Column(Category.identifier, _ACCOUNT, Erase.pseudonym),
        "email": Column(Category.contact, _ACCOUNT, Erase.empty, encrypted=True),
        "email_lookup": Column(
            Category.identifier,
            "finds the account at sign-in (keyed hash)",
            Erase.retire,
            exported=False,
        ),
        "email_lookup_version": Column(Category.none, "which key made the lookup hash"),
        "phone": Column(Category.contact, _ACCOUNT, Erase.null, encrypted=True),
        "contact_visibility": Column(Category.none, "the user's privacy setting (field policy)"),
        "role": Column(Category.identifier, "authorisation"),
        "password_hash": Column(Category.security, _ACCOUNT, Erase.null, exported=False),
        "is_active": Column(Category.none, "authorisation", Erase.false),
        "totp_secret_sealed": Column(
            Category.security, _MFA, Erase.null, encrypted=True, exported=False
        ),
        "totp_pending_sealed": Column(
            Category.security, _MFA, Erase.null, encrypted=True, exported=False
        ),
        "totp_last_step": Column(Category.security, _MFA, Erase.null, exported=False),
        "mfa_enabled": Column(Category.security, _MFA, Erase.false),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    },
)

classify(
    RecoveryCode,
    subject="user",
    purpose=_MFA,
    retention=Retention("used codes: 30 days after use", days=30, after="used_at"),
    on_erasure=RowErasure.delete,
    columns={
        "id": row_id(),
        "user": subject_link(_MFA),
        "code_hash": Column(Category.security, _MFA, exported=False),
        "used_at": Column(Category.security, _MFA),
        "created_at": timestamp(),
    },
)

classify(
    AuthenticatorState,
    subject="user",
    purpose="brute-force defence: failures per authenticator",
    # Not timed: deleting a disabled authenticator's row would lift NIST's hard cap.
    retention=Retention("while the account exists (a disabled factor stays disabled)"),
    on_erasure=RowErasure.delete,
    columns={
        "id": row_id(),
        "user": subject_link("brute-force defence"),
        "authenticator": Column(Category.none, "which factor"),
        "consecutive_failures": Column(Category.security, "brute-force defence"),
        "disabled_at": Column(Category.security, "brute-force defence"),
        "updated_at": timestamp(),
    },
)

classify(
    PasswordResetToken,
    subject="user",
    purpose="password reset",
    retention=Retention("a day after expiry", days=1, after="expires_at"),
    on_erasure=RowErasure.delete,
    columns={
        "id": row_id(),
        "user": subject_link("password reset"),
        "token_digest": Column(Category.security, "password reset", exported=False),
        "expires_at": Column(Category.security, "password reset"),
        "used_at": Column(Category.security, "password reset"),
        "created_at": timestamp(),
    },
)

classify(
    ApiKey,
    subject=None,
    purpose="partner integrations (keys belong to organisations, not people)",
    retention=Retention("a year after revocation", days=365, after="revoked_at"),
    on_erasure=RowErasure.update,
    columns={
        "id": row_id(),
        "prefix": Column(Category.none, "finds the key"),
        "key_digest": Column(Category.security, "checks the key", exported=False),
        "name": NOT_PERSONAL,
        "organisation": NOT_PERSONAL,
        "scopes": NOT_PERSONAL,
        "allowed_networks": NOT_PERSONAL,
        # The admin who made the key: unlinked on erasure, the key stays the partner's.
        "created_by": Column(
            Category.identifier, "accountability for keys", Erase.null, subject="created_by"
        ),
        "expires_at": timestamp(),
        "last_used_at": timestamp(),
        "revoked_at": timestamp(),
        "created_at": timestamp(),
    },
)
