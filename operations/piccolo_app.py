import os

from piccolo.conf.apps import AppConfig

from operations.tables import PersistedOperation

APP_CONFIG = AppConfig(
    app_name="operations",
    migrations_folder_path=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "piccolo_migrations"
    ),
    table_classes=[PersistedOperation],
    migration_dependencies=[],
    commands=[],
)
