"""``opendesk operations ...``: the persisted-operation allowlist, managed by an operator.

``import`` reads an Apollo persisted-query manifest, checks every entry (id = SHA-256 of
the body, one operation, valid against the served schema) and only then registers them
all for the given audiences; ``list`` prints the list; ``revoke`` removes one entry.
Each change is an audit-trail event (actor ``system``, via ``cli``).
"""

from __future__ import annotations

from pathlib import Path

from api.commands import CommandError
from api.resources import opened_resources
from api.settings import Settings
from audit.trail import Actor
from operations.allowlist import OperationError, all_operations, register, revoke
from operations.audiences import AudienceError, parse_audiences
from operations.manifest import ManifestEntry, read_manifest

_CLI = Actor("system", None)


def _read_entries(manifest: Path) -> list[ManifestEntry]:
    from api.persisted import schema_validator
    from schema.build import SchemaConfig, build_schema

    try:
        text = manifest.read_text(encoding="utf-8")
    except OSError as error:
        raise CommandError(f"cannot read {manifest}: {error.strerror}") from None
    try:
        entries = read_manifest(text)
    except OperationError as error:
        raise CommandError(str(error)) from None
    validate = schema_validator(build_schema(SchemaConfig(production=False)))
    for entry in entries:
        problems = validate(entry.body)
        if problems:
            label = entry.name or entry.sha256[:12]
            raise CommandError(f"operation {label} does not fit the schema: {problems[0]}")
    return entries


async def import_command(settings: Settings, *, manifest: Path, audiences: list[str]) -> int:
    try:
        wanted = parse_audiences(audiences)
    except AudienceError as error:
        raise CommandError(str(error)) from None
    entries = _read_entries(manifest)
    created = 0
    async with opened_resources(settings):
        for entry in entries:
            registration = await register(
                entry.body, wanted, actor=_CLI, via="cli", name=entry.name
            )
            created += registration.created
    print(
        f"allowlisted {len(entries)} operation(s) for {', '.join(sorted(wanted))} "
        f"({created} new, {len(entries) - created} already listed)"
    )
    return 0


async def list_command(settings: Settings) -> int:
    async with opened_resources(settings):
        operations = await all_operations()
    for operation in operations:
        audiences = ",".join(sorted(operation.audiences))
        print(f"{operation.sha256}  {operation.name or '-'}  {audiences}")
    return 0


async def revoke_command(settings: Settings, *, sha256: str) -> int:
    async with opened_resources(settings):
        try:
            removed = await revoke(sha256, actor=_CLI, via="cli")
        except OperationError as error:
            raise CommandError(str(error)) from None
    if not removed:
        raise CommandError(f"no persisted operation {sha256}")
    print(f"revoked {sha256}; serving processes drop it within their refresh interval")
    return 0
