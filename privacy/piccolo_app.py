import os

from piccolo.conf.apps import AppConfig

from privacy.tables import DataKeyRow

APP_CONFIG = AppConfig(
    app_name="privacy",
    migrations_folder_path=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "piccolo_migrations"
    ),
    table_classes=[DataKeyRow],
    migration_dependencies=[],
    commands=[],
)
