"""The committed ``schema.graphql`` snapshot and the breaking-change check against it.

A client written against the snapshot must keep working: ``opendesk schema check``
fails on any change graphql-core's ``find_breaking_changes`` reports (a removed field,
a changed type, a new required argument, …) unless that change is listed, one per line,
in ``INTENTIONAL_BREAKING_CHANGES`` (as ``TYPE: description``, exactly as printed).
Removing a field should go through ``@deprecated`` first, which is not breaking.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from graphql import build_schema as build_sdl_schema
from graphql import find_breaking_changes

__all__ = ("SchemaCheck", "check_schema", "current_sdl")

SNAPSHOT = Path("schema.graphql")
INTENTIONAL = Path("INTENTIONAL_BREAKING_CHANGES")


def current_sdl() -> str:
    """The SDL of the schema the app serves (production configuration)."""
    from schema.build import SchemaConfig, build_schema

    return build_schema(SchemaConfig(production=True, max_page_size=100)).as_str() + "\n"


@dataclass(frozen=True, slots=True)
class SchemaCheck:
    breaking: tuple[str, ...]  # every breaking change, as "TYPE: description"
    unexplained: tuple[str, ...]  # those not listed as intentional
    snapshot_current: bool  # the snapshot already equals the served schema

    @property
    def ok(self) -> bool:
        return not self.unexplained


def check_schema(snapshot_sdl: str, served_sdl: str, intentional: str = "") -> SchemaCheck:
    """Compare the served schema with the snapshot; pure, raises GraphQLError on bad SDL."""
    changes = find_breaking_changes(build_sdl_schema(snapshot_sdl), build_sdl_schema(served_sdl))
    breaking = tuple(f"{change.type.name}: {change.description}" for change in changes)
    allowed = {line.strip() for line in intentional.splitlines()}
    allowed.discard("")
    unexplained = tuple(line for line in breaking if line not in allowed)
    return SchemaCheck(breaking, unexplained, snapshot_sdl == served_sdl)
