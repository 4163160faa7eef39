import os

from piccolo.conf.apps import AppConfig

from desk.tables import Attachment, Comment, Ticket

APP_CONFIG = AppConfig(
    app_name="desk",
    migrations_folder_path=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "piccolo_migrations"
    ),
    table_classes=[Ticket, Comment, Attachment],
    migration_dependencies=["accounts.piccolo_app"],
    commands=[],
)
