"""The allowlist itself: audiences, registration, revocation, manifests, refresh, CLI."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable
from pathlib import Path

import pytest

from audit.tables import AuditEvent
from audit.trail import Actor, verify_trail
from operations.allowlist import (
    Allowlist,
    OperationError,
    check_document,
    document_hash,
    register,
    revoke,
)
from operations.audiences import AudienceError, audiences_of, parse_audience
from operations.manifest import MANIFEST_FORMAT, read_manifest
from operations.tables import PersistedOperation
from permissions.principal import ANONYMOUS, Principal, user_principal
from permissions.roles import Role
from tests.api.test_cli import run_cli

pytestmark = pytest.mark.usefixtures("db")

SYSTEM = Actor("system", None)
ME = "query Me { me { id } }"


def manifest(*bodies: str, **changes: object) -> str:
    operations = [
        {"id": document_hash(body), "name": None, "type": "query", "body": body} for body in bodies
    ]
    return json.dumps(
        {"format": MANIFEST_FORMAT, "version": 1, "operations": operations, **changes}
    )


@pytest.mark.parametrize(
    ("token", "canonical"),
    [
        ("anonymous", "anonymous"),
        (" role:agent ", "role:agent"),
        ("partner", "partner"),
        (
            "partner:0F0E0D0C-0B0A-0908-0706-050403020100",
            "partner:0f0e0d0c-0b0a-0908-0706-050403020100",
        ),
    ],
)
def test_audiences_are_canonical(token: str, canonical: str) -> None:
    assert parse_audience(token) == canonical


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("role:root", "unknown role 'root'"),
        ("partner:acme", "not an API key id"),
        ("everyone", "unknown audience"),
        ("", "unknown audience"),
    ],
)
def test_unknown_audiences_are_refused(token: str, message: str) -> None:
    with pytest.raises(AudienceError, match=message):
        parse_audience(token)


def test_principals_belong_to_their_own_audiences_only() -> None:
    key_id = uuid.uuid4()
    partner = Principal(kind="partner", api_key_id=key_id, scopes=frozenset({"tickets:read"}))
    agent = user_principal(uuid.uuid4(), Role.agent, None)

    assert audiences_of(ANONYMOUS) == {"anonymous"}
    assert audiences_of(agent) == {"role:agent"}
    assert audiences_of(partner) == {"partner", f"partner:{key_id}"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("query {", "not a GraphQL document"),
        ("query A { me { id } } query B { me { id } }", "one operation, not 2"),
        ("fragment F on User { id }", "one operation, not 0"),
    ],
)
def test_only_single_operations_are_accepted(document: str, message: str) -> None:
    with pytest.raises(OperationError, match=message):
        check_document(document)


async def test_registering_twice_widens_the_audiences_and_both_changes_are_audited() -> None:
    first = await register(ME, ["role:agent"], actor=SYSTEM, via="test")
    second = await register(ME, ["anonymous", "role:agent"], actor=SYSTEM, via="test")

    assert first.created
    assert not second.created
    assert second.operation.audiences == {"anonymous", "role:agent"}
    assert second.operation.name == "Me"
    assert await PersistedOperation.count() == 1
    events = await AuditEvent.select(AuditEvent.event_type, AuditEvent.target_id)
    assert [event["target_id"] for event in events] == [document_hash(ME)] * 2
    assert (await verify_trail()).intact


async def test_concurrent_registrations_end_in_one_row_with_every_audience() -> None:
    audiences = ["anonymous", "role:agent", "role:admin", "partner"]

    await asyncio.gather(
        *(register(ME, [audience], actor=SYSTEM, via="test") for audience in audiences)
    )

    row = await PersistedOperation.select().first()
    assert row is not None
    assert await PersistedOperation.count() == 1
    # Each writer merges by compare-and-set: no audience is lost to a race.
    assert set(row["audiences"].split()) == set(audiences)


async def test_revoking_removes_the_entry_and_is_audited() -> None:
    await register(ME, ["anonymous"], actor=SYSTEM, via="test")

    removed = await revoke(document_hash(ME), actor=SYSTEM, via="test")
    again = await revoke(document_hash(ME), actor=SYSTEM, via="test")

    assert removed
    assert not again
    assert await PersistedOperation.count() == 0
    kinds = await AuditEvent.select(AuditEvent.event_type).order_by(AuditEvent.id)
    assert [kind["event_type"] for kind in kinds] == [
        "persisted_operation.registered",
        "persisted_operation.revoked",
    ]


async def test_revoke_refuses_what_is_not_a_hash() -> None:
    with pytest.raises(OperationError, match="not a lower-case hex SHA-256"):
        await revoke("DROP TABLE", actor=SYSTEM, via="test")


async def test_a_process_sees_changes_made_elsewhere_after_its_refresh_interval() -> None:
    now = [0.0]
    allowlist = Allowlist(refresh_seconds=10.0, clock=lambda: now[0])
    assert await allowlist.find(document_hash(ME)) is None

    await register(ME, ["anonymous"], actor=SYSTEM, via="elsewhere")
    now[0] = 9.9
    before = await allowlist.find(document_hash(ME))
    now[0] = 10.0
    after = await allowlist.find(document_hash(ME))
    await revoke(document_hash(ME), actor=SYSTEM, via="elsewhere")
    now[0] = 20.0
    revoked = await allowlist.find(document_hash(ME))

    assert before is None
    assert after is not None
    assert after.document == ME
    assert after.allows(frozenset({"anonymous"}))
    assert not after.allows(frozenset({"role:customer"}))
    assert revoked is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "manifest is not JSON"),
        (json.dumps({"format": "relay", "version": 1, "operations": []}), '"format" must be'),
        (manifest(ME, version=2), 'only "version": 1'),
        (manifest(ME, operations={}), '"operations" must be a list'),
        (
            json.dumps(
                {
                    "format": MANIFEST_FORMAT,
                    "version": 1,
                    "operations": [{"id": "0" * 64, "body": ME, "type": "query"}],
                }
            ),
            '#1: "id" is not the SHA-256 of its body',
        ),
        (
            json.dumps(
                {
                    "format": MANIFEST_FORMAT,
                    "version": 1,
                    "operations": [
                        {"id": document_hash(ME), "body": ME, "type": "mutation"},
                    ],
                }
            ),
            '"type" says mutation, the body is a query',
        ),
        (manifest(ME, "query {"), "#2: not a GraphQL document"),
    ],
)
def test_bad_manifests_are_refused_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(OperationError, match=message):
        read_manifest(text)


def test_cli_imports_lists_and_revokes(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(manifest(ME, "query Role { me { role } }"))

    imported = run_cli("operations", "import", str(path), "--audience", "role:agent")
    again = run_cli("operations", "import", str(path), "--audience", "partner")
    listed = run_cli("operations", "list")
    revoked = run_cli("operations", "revoke", document_hash(ME))
    after = run_cli("operations", "list")

    assert imported.returncode == 0, imported.stderr
    assert "allowlisted 2 operation(s) for role:agent (2 new, 0 already listed)" in imported.stdout
    assert "(0 new, 2 already listed)" in again.stdout
    assert f"{document_hash(ME)}  Me  partner,role:agent" in listed.stdout
    assert revoked.returncode == 0, revoked.stderr
    assert document_hash(ME) not in after.stdout
    assert "Role" in after.stdout


@pytest.mark.parametrize(
    ("arguments", "content", "message"),
    [
        (["--audience", "role:root"], manifest(ME), "unknown role 'root'"),
        (["--audience", "anonymous"], manifest("query { nope }"), "does not fit the schema"),
        (["--audience", "anonymous"], "{", "manifest is not JSON"),
    ],
)
def test_cli_refuses_bad_input_in_one_line_and_writes_nothing(
    tmp_path: Path, arguments: list[str], content: str, message: str
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(content)

    result = run_cli("operations", "import", str(path), *arguments)

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_refuses_a_missing_file_and_an_unknown_hash(tmp_path: Path) -> None:
    missing = run_cli("operations", "import", str(tmp_path / "no.json"), "--audience", "partner")
    unknown = run_cli("operations", "revoke", "0" * 64)

    assert missing.returncode == 1
    assert "cannot read" in missing.stderr
    assert unknown.returncode == 1
    assert "no persisted operation" in unknown.stderr


async def test_every_reload_hands_the_listed_texts_on_before_requests_see_them() -> None:
    now = [0.0]
    handed: list[list[str]] = []
    allowlist = Allowlist(
        refresh_seconds=10.0, clock=lambda: now[0], on_reload=lambda texts: handed.append([*texts])
    )
    await register(ME, ["anonymous"], actor=SYSTEM, via="test")
    found = await allowlist.find(document_hash(ME))
    await revoke(document_hash(ME), actor=SYSTEM, via="test")
    now[0] = 10.0
    await allowlist.find(document_hash(ME))

    assert handed == [[ME], []]
    assert found is not None
    assert found.document is not None


async def test_kept_fresh_in_the_background_a_request_never_reloads() -> None:
    reloads: list[list[str]] = []
    allowlist = Allowlist(refresh_seconds=0.2, on_reload=lambda texts: reloads.append([*texts]))
    await allowlist.reload()
    refresher = asyncio.create_task(allowlist.keep_fresh())
    try:
        await register(ME, ["anonymous"], actor=SYSTEM, via="elsewhere")
        for _ in range(50):  # the refresher runs every 0.1 s; allow a slow machine 5 s
            if reloads[-1] == [ME]:
                break
            await asyncio.sleep(0.1)
        before = len(reloads)
        found = await allowlist.find(document_hash(ME))
        after = len(reloads)
    finally:
        refresher.cancel()
        await asyncio.gather(refresher, return_exceptions=True)

    assert reloads[0] == []
    assert found is not None
    assert after == before  # found in the copy the refresher made: no reload by find


async def test_a_change_during_a_reload_leaves_the_copy_stale() -> None:
    changes = [True]  # forget() (a registration by this process) lands mid-reload, once

    def during_reload(_texts: Iterable[str]) -> None:
        if changes:
            changes.pop()
            allowlist.forget()

    allowlist = Allowlist(refresh_seconds=10.0, on_reload=during_reload)
    await allowlist.reload()
    await register(ME, ["anonymous"], actor=SYSTEM, via="this process")

    found = await allowlist.find(document_hash(ME))  # not fresh: reloads, finds it

    assert found is not None


async def test_the_copy_is_as_old_as_its_read_however_long_preparing_takes() -> None:
    now = [0.0]

    def slow_preparation(_texts: Iterable[str]) -> None:
        now[0] += 9.0  # preparing a large list took 9 s after the read

    allowlist = Allowlist(refresh_seconds=10.0, clock=lambda: now[0], on_reload=slow_preparation)
    await allowlist.reload()  # read at 0 s
    await register(ME, ["anonymous"], actor=SYSTEM, via="elsewhere")
    now[0] = 10.0  # 10 s after the read, 1 s after preparing ended

    found = await allowlist.find(document_hash(ME))

    assert found is not None
