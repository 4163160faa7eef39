"""The record of processing activities (GDPR art. 30), rendered from the data inventory."""

from __future__ import annotations

from privacy.inventory import Category, TableInventory, inventory

_HEADER = """# Record of processing: OpenDesk API

Generated from the data inventory (`privacy/inventory.py` and the `classify(...)` next to
each table) by `opendesk privacy inventory`. Controller, contact details, recipients and
transfers are the operator's to state; this lists what the software stores and why.

Categories: identifier, contact, content, security, special (none stored); "none" is not
about a person. Personal values are exported to their subject unless marked withheld, and
erased as the erasure column says when the subject asks (art. 17).
"""


def render_record() -> str:
    """Markdown: one section per table, one row per column."""
    parts = [_HEADER]
    for name, entry in sorted(inventory().items()):
        parts.append(_table_section(name, entry))
    return "\n".join(parts)


def _table_section(name: str, entry: TableInventory) -> str:
    links = ", ".join(f"`{link}`" for link in entry.subject_columns()) or "none (about no person)"
    retention = entry.retention.rule
    lines = [
        f"## `{name}`",
        "",
        f"- Purpose: {entry.purpose}",
        f"- Data subject found through: {links}",
        f"- Retention: {retention}",
        f"- On erasure the subject's rows are: {entry.on_erasure.value}",
        "",
        "| column | category | purpose | erasure | exported | at rest |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for column_name, column in entry.columns.items():
        personal = column.category is not Category.none
        lines.append(
            f"| `{column_name}` | {column.category.value} | {column.purpose} "
            f"| {column.erase.value} | {_exported(column.exported, personal)} "
            f"| {'encrypted (subject key)' if column.encrypted else 'plain'} |"
        )
    lines.append("")
    return "\n".join(lines)


def _exported(exported: bool, personal: bool) -> str:
    if not exported:
        return "withheld"
    return "yes" if personal else "as context"
