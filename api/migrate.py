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
    """Run pending migrations against ``settings.database_url``; returns Piccolo's report."""
    # Schema changes (an index over a large table) legitimately outlast the per-request
    # statement timeout: migrations get an hour.
    engine = engine_from_url(settings.database_url, timeout_seconds=MIGRATION_TIMEOUT_SECONDS)
    bind_engine(engine)
    report = io.StringIO()
    # Piccolo prints progress; keep it as the command's report instead of stray output.
    with contextlib.redirect_stdout(report):
        result = await run_forwards("all")
    if not result.success:
        raise MigrationFailed(result.message or "migration failed")
    return report.getvalue()
