"""``opendesk db roles``: print the access-control script, or apply exactly that script."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from api import db_roles
from api.commands import CommandError
from api.settings import Settings


async def roles_command(
    settings: Settings,
    *,
    owner: str,
    app: str,
    apply: bool,
    password_files: dict[str, Path | None],
) -> int:
    """Print the roles script; with ``apply``, run exactly that script (then passwords)."""
    if settings.uses_sqlite:
        raise CommandError("db roles applies to PostgreSQL only; OPENDESK_DATABASE_URL is SQLite")
    wanted = {role: path for role, path in password_files.items() if path is not None}
    if wanted and not apply:
        raise CommandError("password files are read only with --apply")
    try:
        plan = db_roles.RolePlan(owner, app, db_roles.database_name(settings.database_url))
        statements = db_roles.setup_statements(plan)
        statements += db_roles.grant_statements(plan, db_roles.app_table_names())
        script = db_roles.render_script(statements)
        passwords = [
            db_roles.password_statement(role, _read_secret(path)) for role, path in wanted.items()
        ]
    except db_roles.RoleSetupError as error:
        raise CommandError(str(error)) from None
    print(script, end="")
    if not apply:
        return 0
    try:
        await db_roles.run_script(settings.schema_owner_url, script, *passwords)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
        raise CommandError(f"db roles: {' '.join(str(error).split())}") from None
    print(f"-- applied; passwords set for: {', '.join(wanted) or 'none'}")
    return 0


def _read_secret(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"{path}: cannot read it ({type(error).__name__})") from None
