from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from enum import Enum
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T03:30:00:970941"
VERSION = "1.38.0"
DESCRIPTION = ""


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="accounts", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="User",
        tablename="users",
        column_name="contact_visibility",
        db_column_name="contact_visibility",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 16,
            "default": "organisation",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": Enum(
                "ContactVisibility",
                {"organisation": "organisation", "private": "private"},
            ),
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
