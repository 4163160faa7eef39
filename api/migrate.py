"""Apply every checked-in Piccolo migration, in dependency order; safe to run again."""

from __future__ import annotations

import contextlib
import io

from piccolo.apps.migrations.commands.forwards import run_forwards

from api.database import bind_engine, engine_from_url
from api.settings import Settings


class MigrationFailed(Exception):
    pass


MIGRATION_TIMEOUT_SECONDS = 3600.0


async def migrate(settings: Settings) -> str:
    """Run pending migrations as the schema owner (``OPENDESK_MIGRATION_DATABASE_URL``,
    else ``OPENDESK_DATABASE_URL``); returns Piccolo's report. With a separate owner,
    the API's role is then granted its rights on every table (new ones included)."""
    # Schema changes (an index over a large table) legitimately outlast the per-request
    # statement timeout: migrations get an hour.
    engine = engine_from_url(settings.schema_owner_url, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)
    bind_engine(engine)
    report = io.StringIO()
    # Piccolo prints progress; keep it as the command's report instead of stray output.
    with contextlib.redirect_stdout(report):
        result = await run_forwards("all")
    if not result.success:
        raise MigrationFailed(result.message or "migration failed")
    if settings.migration_database_url:
        granted = await _grant_app_role(settings.migration_database_url, settings.database_url)
        if granted:
            report.write(f"{granted}\n")
    return report.getvalue()


async def _grant_app_role(migration_url: str, database_url: str) -> str | None:
    import asyncpg

    from api.db_roles import RoleSetupError, grant_after_migration

    try:
        return await grant_after_migration(migration_url, database_url)
    except (RoleSetupError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
        raise MigrationFailed(f"granting the API's role its rights: {error}") from None
