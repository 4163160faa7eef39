"""A composite (actor_id, id) index: export pages through one subject's audit events by
id (keyset pagination); see desk's migration of the same date for the measurements."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T03:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "actor_id + id index for keyset pagination"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="audit", description=DESCRIPTION)

    async def create() -> None:
        from audit.tables import AuditEvent

        await AuditEvent.raw(
            "CREATE INDEX IF NOT EXISTS audit_events_actor_id_id ON audit_events (actor_id, id)"
        )

    async def drop() -> None:
        from audit.tables import AuditEvent

        await AuditEvent.raw("DROP INDEX IF EXISTS audit_events_actor_id_id")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
