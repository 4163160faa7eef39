"""Identity tables: organisations (the tenancy boundary) and users.

Organisations live here rather than in ``desk`` because users belong to them and
``desk`` tables point at users: keeping both in one app keeps the migration graph
acyclic (accounts <- desk).
"""

from __future__ import annotations

import uuid

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
    # row and column; see accounts/services/contact.py). Logins find a user by the
    # email's blind index (HMAC of the normalised address), unique.
    email = Text(secret=True)
    email_lookup = Varchar(length=32, unique=True, index=True, index_method=IndexMethod.btree)
    email_lookup_version = Integer(default=1)
    phone = Text(null=True, default=None, secret=True)
    role = Varchar(length=16, choices=Role, default=Role.customer.value)
    password_hash = Text(null=True, default=None, secret=True)
    is_active = Boolean(default=True)
    # TOTP: the secret is sealed (encrypted, bound to this row) before it is stored.
    totp_secret_sealed = Text(null=True, default=None, secret=True)
    totp_pending_sealed = Text(null=True, default=None, secret=True)
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
