"""Identity tables: organisations (the tenancy boundary) and users.

Organisations live here rather than in ``desk`` because users belong to them and
``desk`` tables point at users: keeping both in one app keeps the migration graph
acyclic (accounts <- desk).
"""

from __future__ import annotations

import uuid

from piccolo.columns import UUID, Boolean, ForeignKey, Text, Timestamptz, Varchar
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
    # Placeholder columns: the encryption issue turns these into ciphertext plus a
    # blind index; until then ``email`` holds the normalised address, unique.
    email = Varchar(length=320, unique=True, index=True, index_method=IndexMethod.btree)
    phone = Varchar(length=40, null=True, default=None)
    role = Varchar(length=16, choices=Role, default=Role.customer.value)
    password_hash = Text(null=True, default=None, secret=True)
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
