"""`opendesk db roles`: migrations as the owner, the API as a role that only reads and
writes rows (no DDL, no TRUNCATE, the audit trail append-only)."""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from api import db_roles
from api.cli import main
from api.database import bind_engine, engine_from_url
from api.db_roles import NARROWER_RIGHTS, ROW_RIGHTS, app_table_names, table_rights
from privacy.inventory import RowErasure, inventory
from privacy.retention import timed_rules
from tests.conftest import BACKENDS

needs_postgres = pytest.mark.skipif(
    BACKENDS.postgres_server_url is None, reason="database roles exist only in PostgreSQL"
)
POSTGRES_URL = "postgresql://admin@db.example:5432/opendesk"


def test_db_roles_on_sqlite_says_postgresql_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")

    code = main(["db", "roles"])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err == (
        "opendesk: db roles applies to PostgreSQL only; OPENDESK_DATABASE_URL is SQLite\n"
    )


@pytest.mark.parametrize(
    ("database_url", "migration_url", "message"),
    [
        (POSTGRES_URL, "sqlite:///var/x.sqlite3", "must start with postgresql://"),
        ("sqlite:///var/x.sqlite3", POSTGRES_URL, "only with a PostgreSQL DATABASE_URL"),
    ],
)
def test_migration_url_is_postgresql_beside_postgresql(
    database_url: str, migration_url: str, message: str
) -> None:
    from api.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="OPENDESK_MIGRATION_DATABASE_URL") as raised:
        load_settings(database_url=database_url, migration_database_url=migration_url)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--app", "Robert'); DROP"], "--app"),
        (["--owner", "pg_owner"], "--owner"),
        (["--owner", "same", "--app", "same"], "different roles"),
        (["--app-password-file", "/dev/null"], "only with --apply"),
    ],
)
def test_bad_role_options_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("OPENDESK_DATABASE_URL", POSTGRES_URL)

    code = main(["db", "roles", *arguments])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.count("\n") == 1


def test_apply_runs_exactly_the_printed_script_and_never_shows_a_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENDESK_DATABASE_URL", POSTGRES_URL)
    ran: list[tuple[str, str, tuple[str, ...]]] = []

    async def record(url: str, script: str, *extra: str) -> None:
        ran.append((url, script, extra))

    monkeypatch.setattr(db_roles, "run_script", record)
    password = "correct horse battery staple"
    password_file = tmp_path / "app-password"
    password_file.write_text(password + "\n")

    assert main(["db", "roles"]) == 0
    printed = capsys.readouterr().out
    assert main(["db", "roles", "--apply", "--app-password-file", str(password_file)]) == 0
    applied = capsys.readouterr().out

    [(url, script, extra)] = ran
    assert url == POSTGRES_URL
    assert script == printed
    assert applied == printed + "-- applied; passwords set for: opendesk_app\n"
    assert [statement.split(" PASSWORD ")[0] for statement in extra] == [
        'ALTER ROLE "opendesk_app"'
    ]
    assert "SCRAM-SHA-256$4096:" in extra[0]
    assert password not in printed + applied + extra[0]


def test_every_narrowed_table_exists_and_every_other_table_gets_row_rights() -> None:
    names = app_table_names()
    rights = table_rights(names)

    assert set(NARROWER_RIGHTS) <= set(names)  # no stale entry
    assert rights["audit_events"] == ("SELECT", "INSERT")
    for name, granted in rights.items():
        assert "TRUNCATE" not in granted
        if name not in NARROWER_RIGHTS:
            assert granted == ROW_RIGHTS


def test_erasure_and_retention_keep_the_rights_they_need() -> None:
    """Generated from the data inventory: a table erasure or retention deletes from has
    DELETE, one they update has UPDATE, so narrowing a table never breaks them."""
    rights = table_rights(app_table_names())
    for name, entry in inventory().items():
        if entry.on_erasure is RowErasure.delete:
            assert "DELETE" in rights[name], name
        if entry.on_erasure is RowErasure.update or len(entry.subject_columns()) > 1:
            assert "UPDATE" in rights[name], name
    for entry in timed_rules():
        needed = "DELETE" if entry.retention.then is RowErasure.delete else "UPDATE"
        assert needed in rights[entry.name], entry.name


@dataclass(frozen=True)
class RolesDatabase:
    owner: str
    app: str
    admin_url: str
    owner_url: str
    app_url: str


def _url(user: str, database: str) -> str:
    assert BACKENDS.postgres_server_url is not None
    parts = urlsplit(BACKENDS.postgres_server_url)
    netloc = f"{user}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{database}"))


@pytest.fixture
async def roles_database(db: object) -> AsyncIterator[RolesDatabase]:
    """A database of its own with roles of its own (roles are cluster-wide: unique
    names, dropped afterwards)."""
    assert BACKENDS.postgres_server_url is not None
    run = secrets.token_hex(4)
    name = f"opendesk_test_{BACKENDS.run_id}_roles_{run}"
    owner, app = f"opendesk_owner_{run}", f"opendesk_app_{run}"
    admin_user = urlsplit(BACKENDS.postgres_server_url).username or "postgres"
    server = await asyncpg.connect(BACKENDS.postgres_server_url, timeout=10)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
        yield RolesDatabase(owner, app, _url(admin_user, name), _url(owner, name), _url(app, name))
    finally:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.execute(f'DROP ROLE IF EXISTS "{owner}", "{app}"')
        await server.close()


async def _apply(monkeypatch: pytest.MonkeyPatch, roles: RolesDatabase, *options: str) -> int:
    # Role setup runs as an administrator (the migration URL), for the app's database.
    monkeypatch.setenv("OPENDESK_DATABASE_URL", roles.app_url)
    monkeypatch.setenv("OPENDESK_MIGRATION_DATABASE_URL", roles.admin_url)
    arguments = ["db", "roles", "--owner", roles.owner, "--app", roles.app, *options]
    # The command runs its own event loop, as from a shell.
    return await asyncio.to_thread(main, arguments)


async def _runs(connection: asyncpg.Connection, statement: str) -> bool:
    """False when PostgreSQL refuses the statement for lack of privilege."""
    try:
        await connection.execute(statement)
    except asyncpg.InsufficientPrivilegeError:
        return False
    return True


@needs_postgres
async def test_app_role_writes_rows_but_cannot_rewrite_history_or_the_schema(
    roles_database: RolesDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from accounts.services.users import get_user
    from api.migrate import migrate
    from api.settings import load_settings
    from audit.trail import Actor, record_event, verify_trail
    from privacy.consent import Channel, grant_consent
    from privacy.consent_texts import publish_text
    from privacy.erasure import erase_subject
    from privacy.retention import run_retention
    from tests.factories import make_ticket, make_user, principal_of

    roles = roles_database
    for _run in range(2):  # the script is idempotent
        code = await _apply(monkeypatch, roles, "--apply")
        assert code == 0, capsys.readouterr().err
    report = await migrate(
        load_settings(database_url=roles.app_url, migration_database_url=roles.owner_url)
    )
    assert f"granted {roles.app} its table rights" in report

    # The service layer, connected as the app role.
    bind_engine(engine_from_url(roles.app_url))
    user = await make_user(email="roles@example.com")
    ticket = await make_ticket(user)
    await record_event("test.roles", actor=Actor("user", user.id), target_id=str(ticket.id))
    published = await publish_text("roles_test", "May we write to you?", via="cli")
    await grant_consent(
        principal_of(user),
        purpose="roles_test",
        version=published.version,
        text_sha256=published.text_sha256,
        channel=Channel("cli"),
    )
    stored = await get_user(user.id)
    assert stored is not None
    assert stored.email == "roles@example.com"
    await erase_subject(user.id, pseudonym="Erased user 0123456789")
    await run_retention(datetime.now(UTC))
    assert (await verify_trail()).intact

    app = await asyncpg.connect(roles.app_url, timeout=10)
    owner = await asyncpg.connect(roles.owner_url, timeout=10)
    try:
        assert await app.fetchval("SELECT count(*) FROM audit_events") >= 1
        assert await app.fetchval("SELECT current_user") == roles.app
        refused = [
            "UPDATE audit_events SET event_type = 'forged'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
            "TRUNCATE tickets",
            "UPDATE erasure_ledger SET note = 'forged'",
            "UPDATE consent_texts SET text = 'forged'",
            "UPDATE consent_records SET action = 'granted'",
            "DELETE FROM migration",
            "DROP TABLE audit_events",
            "DROP TABLE tickets",
            "ALTER TABLE users ADD COLUMN smuggled text",
            "ALTER TABLE audit_events DISABLE TRIGGER ALL",
            "CREATE TABLE smuggled (id int)",
            "CREATE TEMPORARY TABLE smuggled (id int)",
            "CREATE INDEX smuggled ON tickets (subject)",
            "SELECT setval('audit_events_id_seq', 1)",
        ]
        assert [statement for statement in refused if await _runs(app, statement)] == []
        held = await app.fetchval(
            "SELECT array_agg(p) FROM unnest($1::text[]) AS p"
            " WHERE has_table_privilege('audit_events', p)",
            ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"],
        )
        assert held == ["SELECT", "INSERT"]
        # A table a later migration creates is append-only until it is granted by name.
        await owner.execute("CREATE TABLE later (id bigserial PRIMARY KEY, note text)")
        await app.execute("INSERT INTO later (note) VALUES ('kept')")
        assert await app.fetchval("SELECT note FROM later") == "kept"
        later = ["UPDATE later SET note = 'x'", "DELETE FROM later", "TRUNCATE later"]
        assert [statement for statement in later if await _runs(app, statement)] == []
        assert (
            await app.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            is False
        )
    finally:
        await app.close()
        await owner.close()


@needs_postgres
async def test_password_is_stored_as_the_verifier_postgresql_computes(
    roles_database: RolesDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    roles = roles_database
    password = f"pw-{uuid.uuid4()}"
    (tmp_path / "pw").write_text(password)

    code = await _apply(monkeypatch, roles, "--apply", "--app-password-file", str(tmp_path / "pw"))

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert password not in captured.out + captured.err
    admin = await asyncpg.connect(roles.admin_url, timeout=10)
    try:
        ours = await admin.fetchval(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1", roles.app
        )
        # PostgreSQL's own verifier for the same password, with its own salt:
        await admin.execute("SET password_encryption = 'scram-sha-256'")
        await admin.execute(f"ALTER ROLE \"{roles.app}\" PASSWORD '{password}'")
        theirs = await admin.fetchval(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1", roles.app
        )
    finally:
        await admin.close()
    their_salt = base64.b64decode(theirs.split("$")[1].split(":")[1])
    assert db_roles.scram_verifier(password, salt=their_salt) == theirs
    assert ours.startswith("SCRAM-SHA-256$4096:")
    assert ours != theirs  # a fresh salt each time


@needs_postgres
@pytest.mark.parametrize(
    ("arrange", "message"),
    [
        ('GRANT "{owner}" TO "{app}"', "may not be a member of other roles"),
        ('ALTER DATABASE "{database}" OWNER TO "{app}"', "may not own the database"),
    ],
    ids=["member-of-the-owner", "owns-the-database"],
)
async def test_an_app_role_that_would_inherit_rights_stops_the_script(
    roles_database: RolesDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arrange: str,
    message: str,
) -> None:
    roles = roles_database
    database = urlsplit(roles.admin_url).path.lstrip("/")
    admin = await asyncpg.connect(roles.admin_url, timeout=10)
    try:
        for role in (roles.owner, roles.app):
            await admin.execute(f'CREATE ROLE "{role}" LOGIN')
        await admin.execute(arrange.format(owner=roles.owner, app=roles.app, database=database))
    finally:
        await admin.close()

    exit_code = await _apply(monkeypatch, roles, "--apply")

    assert exit_code == 1
    assert message in capsys.readouterr().err
