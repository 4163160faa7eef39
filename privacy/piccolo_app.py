import os

from piccolo.conf.apps import AppConfig

from privacy.consent_tables import ConsentPurpose, ConsentRecord, ConsentText
from privacy.leases import JobLease
from privacy.request_tables import DataRequest, ErasureLedgerEntry
from privacy.tables import DataKeyRow

APP_CONFIG = AppConfig(
    app_name="privacy",
    migrations_folder_path=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "piccolo_migrations"
    ),
    table_classes=[
        DataKeyRow,
        ConsentPurpose,
        ConsentText,
        ConsentRecord,
        DataRequest,
        ErasureLedgerEntry,
        JobLease,
    ],
    migration_dependencies=[],
    commands=[],
)
