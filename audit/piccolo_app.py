import os

from piccolo.conf.apps import AppConfig

from audit.tables import AuditEvent, IpBlock

APP_CONFIG = AppConfig(
    app_name="audit",
    migrations_folder_path=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "piccolo_migrations"
    ),
    table_classes=[AuditEvent, IpBlock],
    migration_dependencies=[],
    commands=[],
)
