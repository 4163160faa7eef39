"""PostgreSQL access control: the schema owner runs migrations, the API's role reads and
writes rows and nothing more.

``opendesk db roles`` prints one idempotent script (``--apply`` runs that same script):
roles created if missing, the schema and every table owned by the owner role, and the
app role limited to CONNECT, USAGE on the schema, the row rights below per table and
USAGE/SELECT on sequences: no TRUNCATE, REFERENCES or TRIGGER, no CREATE anywhere, and on
the append-only tables (the audit trail first) no UPDATE or DELETE. Passwords are never
part of the script: ``--apply`` sets them from files, as SCRAM verifiers computed here,
so not even the server's statement log sees them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

ROW_RIGHTS = ("SELECT", "INSERT", "UPDATE", "DELETE")

# Tables whose rows the service never changes once written: the app role gets only what
# their writers use (grep-checked: no update or delete of them outside migrations).
NARROWER_RIGHTS: Mapping[str, tuple[str, ...]] = {
    # The hash chain's writer reads the head and appends (audit/trail.py): no lock row,
    # no head row to update. Retention never prunes it (it would break the chain).
    "audit_events": ("SELECT", "INSERT"),
    # Written once per erasure (INSERT ... ON CONFLICT DO NOTHING) and read to re-apply
    # erasures after a restore; kept as long as old backups exist.
    "erasure_ledger": ("SELECT", "INSERT"),
    # A published consent text never changes; a correction is a new version.
    "consent_texts": ("SELECT", "INSERT"),
    # Grants and withdrawals are new rows; erasure deletes a subject's records.
    "consent_records": ("SELECT", "INSERT", "DELETE"),
    # Piccolo's migration log: /readyz reads it; only migrations (the owner) write it.
    "migration": ("SELECT",),
}

# What a table created later by the owner gets before it is granted by name (which
# `opendesk migrate` does right after migrating): the append-only rights, so a new
# table is never more open than the audit trail until it is reviewed.
DEFAULT_TABLE_RIGHTS = ("SELECT", "INSERT")

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SCRAM_ITERATIONS = 4096


class RoleSetupError(Exception):
    """Bad input for the roles script; the message is one line."""


@dataclass(frozen=True, slots=True)
class RolePlan:
    owner: str
    app: str
    database: str

    def __post_init__(self) -> None:
        for option, name in (("--owner", self.owner), ("--app", self.app)):
            if not _ROLE_NAME.fullmatch(name) or name.startswith("pg_") or name == "public":
                raise RoleSetupError(
                    f"{option} {name!r}: use a lower-case role name ([a-z_][a-z0-9_]*, "
                    "not pg_* or public)"
                )
        if self.owner == self.app:
            raise RoleSetupError("--owner and --app must be different roles")


def database_name(url: str) -> str:
    name = unquote(urlsplit(url).path.lstrip("/"))
    if not name:
        raise RoleSetupError("the database URL names no database")
    return name


def url_user(url: str) -> str | None:
    user = urlsplit(url).username
    return unquote(user) if user else None


def table_rights(table_names: list[str]) -> dict[str, tuple[str, ...]]:
    """The app role's rights on each table, by name (sorted)."""
    return {name: NARROWER_RIGHTS.get(name, ROW_RIGHTS) for name in sorted(table_names)}


def setup_statements(plan: RolePlan) -> list[str]:
    """Roles, database, schema and ownership: needs a superuser (or CREATEROLE + owner)."""
    owner, app, database = _ident(plan.owner), _ident(plan.app), _ident(plan.database)
    return [
        # Both log in: migrations connect as the owner, the API as the app role.
        _create_role_if_missing(plan.owner),
        _create_role_if_missing(plan.app),
        # An existing app role that could bypass the grants stops the script: it is
        # never silently demoted (it might be someone's administrator). Names are checked
        # identifiers (RolePlan), quoted as literals.
        "DO $$\nBEGIN\n"  # noqa: S608
        f"  IF EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(plan.app)}\n"
        "    AND (rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb OR rolreplication))"
        " THEN\n"
        f"    RAISE EXCEPTION 'role % may not be a superuser or create roles or databases',"
        f" {_literal(plan.app)};\n"
        "  END IF;\n"
        # Nor may it inherit another role's rights (GRANT owner TO app would hand it DDL
        # and UPDATE/DELETE on the audit trail) or own the database.
        "  IF EXISTS (SELECT FROM pg_auth_members\n"
        f"    WHERE member = {_literal(plan.app)}::regrole) THEN\n"
        f"    RAISE EXCEPTION 'role % may not be a member of other roles', {_literal(plan.app)};\n"
        "  END IF;\n"
        "  IF (SELECT datdba FROM pg_database WHERE datname = current_database())\n"
        f"    = {_literal(plan.app)}::regrole THEN\n"
        f"    RAISE EXCEPTION 'role % may not own the database', {_literal(plan.app)};\n"
        "  END IF;\nEND\n$$",
        f"REVOKE ALL ON DATABASE {database} FROM PUBLIC",
        f"GRANT CONNECT ON DATABASE {database} TO {owner}, {app}",
        f"ALTER SCHEMA public OWNER TO {owner}",
        "REVOKE ALL ON SCHEMA public FROM PUBLIC",
        f"REVOKE ALL ON SCHEMA public FROM {app}",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        _hand_tables_to(plan.owner),
    ]


def _hand_tables_to(owner: str) -> str:
    """Tables made by an earlier migration run as another user move to the owner (their
    serial sequences and indexes follow them)."""
    # The owner's name is a checked identifier (RolePlan), quoted as a literal.
    return (
        "DO $$\nDECLARE\n  found record;\nBEGIN\n"  # noqa: S608
        "  FOR found IN SELECT c.oid::regclass AS name FROM pg_class c\n"
        "    JOIN pg_namespace n ON n.oid = c.relnamespace\n"
        "    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')\n"
        f"      AND c.relowner <> {_literal(owner)}::regrole\n"
        "  LOOP\n"
        f"    EXECUTE format('ALTER TABLE %s OWNER TO %I', found.name, {_literal(owner)});\n"
        "  END LOOP;\nEND\n$$"
    )


def grant_statements(plan: RolePlan, table_names: list[str]) -> list[str]:
    """The app role's rights, from nothing: the owner of the tables may run these."""
    owner, app = _ident(plan.owner), _ident(plan.app)
    grants = [
        f"  IF to_regclass({_literal('public.' + name)}) IS NOT NULL THEN\n"
        f"    GRANT {', '.join(rights)} ON TABLE public.{_ident(name)} TO {app};\n"
        "  END IF;"
        for name, rights in table_rights(table_names).items()
    ]
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, {app}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, {app}",
        # Tables a migration has not created yet are skipped; `opendesk migrate` grants
        # them right after creating them.
        "DO $$\nBEGIN\n" + "\n".join(grants) + "\nEND\n$$",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"REVOKE ALL ON TABLES FROM {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT {', '.join(DEFAULT_TABLE_RIGHTS)} ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"REVOKE ALL ON SEQUENCES FROM {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {app}",
    ]


def render_script(statements: list[str]) -> str:
    """The text printed and run: each statement ends with ';' on its own line."""
    header = "-- OpenDesk database roles (opendesk db roles); idempotent; no passwords\n"
    return header + "".join(f"{statement};\n" for statement in statements)


def password_statement(role: str, password: str) -> str:
    """``ALTER ROLE ... PASSWORD`` with a SCRAM-SHA-256 verifier, never the password."""
    if not password:
        raise RoleSetupError(f"the password for {role} is empty")
    return f"ALTER ROLE {_ident(role)} PASSWORD {_literal(scram_verifier(password))}"


def scram_verifier(password: str, *, salt: bytes | None = None) -> str:
    """The verifier PostgreSQL stores for ``password`` (RFC 5802/7677, as psql's
    ``\\password`` computes it); the server checks logins against it as usual."""
    salt = salt or secrets.token_bytes(16)
    # PostgreSQL SASLpreps the password; NFKC is the normalisation step of it.
    salted = hashlib.pbkdf2_hmac(
        "sha256", unicodedata.normalize("NFKC", password).encode(), salt, _SCRAM_ITERATIONS
    )
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return f"SCRAM-SHA-256${_SCRAM_ITERATIONS}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _create_role_if_missing(name: str) -> str:
    return (
        "DO $$\nBEGIN\n"
        f"  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(name)}) THEN\n"
        f"    CREATE ROLE {_ident(name)} LOGIN;\n"
        "  END IF;\nEND\n$$"
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def app_table_names() -> list[str]:
    """Every table the code defines (each app's, and Piccolo's migration log)."""
    from api.database import all_tables

    return [table._meta.tablename for table in all_tables()]


async def run_script(database_url: str, script: str, *extra: str) -> None:
    """Run ``script`` (then ``extra`` statements, e.g. passwords) in one transaction."""
    import asyncpg

    connection = await asyncpg.connect(dsn=database_url, timeout=10)
    try:
        async with connection.transaction():
            await connection.execute(script)
            for statement in extra:
                await connection.execute(statement)
    finally:
        await connection.close()


async def grant_after_migration(migration_url: str, database_url: str) -> str | None:
    """After migrating as the owner: grant the API's role (the user of ``database_url``)
    its rights on every table, new ones included. None when the two URLs name the same
    user (no separate roles to keep apart), else what was done, in one line."""
    owner, app = url_user(migration_url), url_user(database_url)
    if owner is None or app is None or owner == app:
        return None
    plan = RolePlan(owner=owner, app=app, database=database_name(database_url))
    await run_script(migration_url, render_script(grant_statements(plan, app_table_names())))
    return f"granted {app} its table rights (opendesk db roles)"
