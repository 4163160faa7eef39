"""The data inventory covers every column of every table, and says sensible things."""

from __future__ import annotations

from piccolo.apps.migrations.tables import Migration

from api.database import all_tables
from privacy.inventory import Category, Erase, RowErasure, inventory, personal_tables
from privacy.record_of_processing import render_record


def test_every_column_of_every_table_is_classified() -> None:
    classified = inventory()
    for table in all_tables():
        if table is Migration:  # Piccolo's own bookkeeping
            continue
        name = table._meta.tablename
        assert name in classified, f"table {name} has no classify(...) next to it"
        columns = {column._meta.name for column in table._meta.columns}
        assert set(classified[name].columns) == columns, name


def test_encrypted_and_secret_columns_are_never_exported_in_the_clear() -> None:
    for entry in inventory().values():
        for name, column in entry.columns.items():
            secret = entry.table._meta.get_column_by_name(name)._meta.secret
            if secret and not column.encrypted:
                # Piccolo's secret=True marks hashes and sealed secrets: never exported.
                assert not column.exported, f"{entry.name}.{name}"
            if column.category is Category.security and name.endswith(("hash", "digest")):
                assert not column.exported, f"{entry.name}.{name}"


def test_history_tables_change_personal_content_on_erasure() -> None:
    for entry in personal_tables():
        if entry.on_erasure is not RowErasure.update:
            continue
        for link in entry.subject_columns():
            for name, column in entry.columns_of(link).items():
                if column.category in (Category.content, Category.contact, Category.special):
                    assert column.erase is not Erase.keep, f"{entry.name}.{name} survives erasure"


def test_the_record_of_processing_lists_every_table_and_column() -> None:
    record = render_record()
    for name, entry in inventory().items():
        assert f"## `{name}`" in record
        for column_name in entry.columns:
            assert f"| `{column_name}` |" in record
    assert "| `email` | contact |" in record
