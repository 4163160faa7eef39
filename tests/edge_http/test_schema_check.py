"""API versioning: the committed schema.graphql and the breaking-change check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from api.schema_snapshot import check_schema

ROOT = Path(__file__).parents[2]
OLD = "type Query { ticket(id: String!): String, tickets: [String!]! }"
FIELD_REMOVED = "type Query { tickets: [String!]! }"
FIELD_ADDED = "type Query { ticket(id: String!): String, tickets: [String!]!, me: String }"


def test_a_removed_field_is_a_breaking_change() -> None:
    result = check_schema(OLD, FIELD_REMOVED)

    assert result.breaking == ("FIELD_REMOVED: Field Query.ticket was removed.",)
    assert not result.ok


def test_a_listed_intentional_change_passes() -> None:
    result = check_schema(OLD, FIELD_REMOVED, "FIELD_REMOVED: Field Query.ticket was removed.\n")

    assert result.ok
    assert result.breaking


def test_an_added_field_is_compatible() -> None:
    result = check_schema(OLD, FIELD_ADDED)

    assert result.ok
    assert not result.snapshot_current


def test_the_served_schema_keeps_the_committed_snapshot_working() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "api.cli", "schema", "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
