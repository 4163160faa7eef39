"""The roles a user can hold. Stored as their string value."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    customer = "customer"
    agent = "agent"
    admin = "admin"
    auditor = "auditor"


STAFF_ROLES = frozenset({Role.agent, Role.admin})
