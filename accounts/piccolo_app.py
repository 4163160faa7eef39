import os

from piccolo.conf.apps import AppConfig

from accounts.tables import (
    ApiKey,
    AuthenticatorState,
    Organisation,
    PasswordResetToken,
    RecoveryCode,
    User,
)

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "piccolo_migrations"
    ),
    table_classes=[
        Organisation,
        User,
        RecoveryCode,
        AuthenticatorState,
        PasswordResetToken,
        ApiKey,
    ],
    migration_dependencies=[],
    commands=[],
)
