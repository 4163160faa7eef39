"""Export (GDPR arts. 15 and 20): every personal value of one subject, as a ZIP archive
holding ``data.json`` (machine-readable) and ``README.md`` (what each part is).

What goes in follows from the data inventory alone: for every table, the rows linked to
the subject through each of its subject columns, with the columns that belong to that
subject (decrypted where encrypted), minus those the inventory withholds (credentials and
secrets). Rows are read in keyset-paginated batches and written as they come, so memory
stays bounded whatever the subject's history; the archive appears under its final name
only once complete (0600), so nothing half-written is ever served.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
import zipfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from piccolo.columns import Column as PiccoloColumn

from privacy.crypto import DataKey, DecryptionError
from privacy.crypto.column import open_cell
from privacy.inventory import Column, TableInventory, personal_tables
from privacy.subject_keys import data_keys_for

FORMAT = "opendesk-export/1"
BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class ExtraSection:
    """Personal data kept outside the database (e.g. sessions in the session store)."""

    name: str
    description: str
    rows: Sequence[dict[str, Any]]


@dataclass(slots=True)
class ExportSummary:
    rows_per_section: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows_per_section.values())


async def write_export_archive(
    subject_id: uuid.UUID,
    path: Path,
    *,
    extra_sections: Sequence[ExtraSection] = (),
    batch_size: int = BATCH_SIZE,
) -> ExportSummary:
    """Write the subject's archive to ``path`` (replaced atomically, mode 0600)."""
    keys = await data_keys_for([subject_id])
    key = keys.get(subject_id)
    summary = ExportSummary()
    partial = path.with_name(f".{path.name}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with (
            os.fdopen(descriptor, "wb") as raw,
            zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            with archive.open("data.json", "w") as stream:
                await _write_data(stream, subject_id, key, extra_sections, summary, batch_size)
            archive.writestr("README.md", render_readme(extra_sections))
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return summary


async def _write_data(
    stream: IO[bytes],
    subject_id: uuid.UUID,
    key: DataKey | None,
    extra_sections: Sequence[ExtraSection],
    summary: ExportSummary,
    batch_size: int,
) -> None:
    # The archive is written in small synchronous pieces (one batch each): a batch is a
    # few hundred rows, so each write is short, and no thread hand-off is needed.
    header = {
        "format": FORMAT,
        "subject_id": str(subject_id),
        "generated_at": datetime.now(UTC).isoformat(),
    }
    stream.write(json.dumps(header)[:-1].encode() + b', "sections": [')
    first_section = True
    for section in export_sections():
        stream.write(b"" if first_section else b", ")
        first_section = False
        count = await _write_section(stream, section, subject_id, key, batch_size)
        summary.rows_per_section[section.name] = count
    for extra in extra_sections:
        stream.write(b"" if first_section else b", ")
        first_section = False
        rows = [_jsonable(row) for row in extra.rows]
        document = {"section": extra.name, "table": None, "linked_by": None, "rows": rows}
        stream.write(json.dumps(document, default=str).encode())
        summary.rows_per_section[extra.name] = len(rows)
    stream.write(b"]}")


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    entry: TableInventory
    link: str
    columns: dict[str, Column]


def export_sections() -> list[Section]:
    """Every (table, subject link) with something of the subject's to export."""
    sections = []
    for entry in personal_tables():
        for link in entry.subject_columns():
            columns = _exported_columns(entry, link)
            if columns:
                name = entry.name if link == entry.subject else f"{entry.name} (as {link})"
                sections.append(Section(name, entry, link, columns))
    return sections


async def _write_section(
    stream: IO[bytes],
    section: Section,
    subject_id: uuid.UUID,
    key: DataKey | None,
    batch_size: int,
) -> int:
    opening = {"section": section.name, "table": section.entry.name, "linked_by": section.link}
    stream.write(json.dumps(opening)[:-1].encode() + b', "rows": [')
    count = 0
    column_names = list(section.columns)
    async for batch in linked_rows(
        section.entry, section.link, subject_id, column_names, batch_size
    ):
        # Decrypting, encoding and compressing a batch is CPU work: in a thread, so the
        # serving event loop keeps answering while a large export runs. One write per
        # batch (the ZIP stream compresses per write call); batches are written in turn.
        await asyncio.to_thread(_write_batch, stream, section, batch, key, count > 0)
        count += len(batch)
    stream.write(b"]}")
    return count


async def linked_rows(
    entry: TableInventory,
    link: str,
    subject_id: uuid.UUID,
    column_names: list[str],
    batch_size: int = BATCH_SIZE,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The rows of ``entry`` whose ``link`` column holds the subject, in batches by
    primary key (keyset pagination: each batch is one indexed query)."""
    table = entry.table
    primary_key = table._meta.primary_key
    wanted = [table._meta.get_column_by_name(name) for name in column_names]
    if primary_key._meta.name not in column_names:
        wanted.append(primary_key)
    link_column = table._meta.get_column_by_name(link)
    last: Any = None
    while True:
        query = table.select(*wanted).where(link_column == subject_id)
        if last is not None:
            query = query.where(primary_key > last)
        batch = await query.order_by(primary_key).limit(batch_size).output(load_json=True)
        if not batch:
            return
        yield batch
        if len(batch) < batch_size:
            return
        last = batch[-1][primary_key._meta.name]


def _exported_columns(entry: TableInventory, link: str) -> dict[str, Column]:
    """The link's exported columns, with the row's id (rows linked through a secondary
    link, e.g. tickets one is the assignee of, show only that link and the id)."""
    columns = {name: column for name, column in entry.columns_of(link).items() if column.exported}
    primary = entry.table._meta.primary_key._meta.name
    if columns and primary not in columns:
        columns = {primary: entry.columns[primary], **columns}
    return columns


def _write_batch(
    stream: IO[bytes],
    section: Section,
    batch: list[dict[str, Any]],
    key: DataKey | None,
    after_rows: bool,
) -> None:
    encoded = ", ".join(
        json.dumps(_record(section.entry, section.columns, row, key), default=str) for row in batch
    )
    stream.write((b", " if after_rows else b"") + encoded.encode())


def _record(
    entry: TableInventory, columns: dict[str, Column], row: dict[str, Any], key: DataKey | None
) -> dict[str, Any]:
    row_id = str(row[entry.table._meta.primary_key._meta.name])
    record = {}
    for name, column in columns.items():
        value = row[name]
        if column.encrypted and value:
            value = _decrypted(value, key, entry.table._meta.get_column_by_name(name), row_id)
        record[name] = _jsonable_value(value)
    return record


def _decrypted(token: str, key: DataKey | None, column: PiccoloColumn, row_id: str) -> str | None:
    if key is None:
        return None  # erased: the key is gone
    try:
        return open_cell(column, key=key, row_id=row_id, token=token)
    except DecryptionError:
        return None


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _jsonable_value(value) for name, value in row.items()}


def _jsonable_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def render_readme(extra_sections: Sequence[ExtraSection] = ()) -> str:
    """What each part of ``data.json`` is, from the inventory."""
    lines = [
        "# Your data from OpenDesk",
        "",
        f"`data.json` (format `{FORMAT}`) holds a list of sections. Each section is the",
        "rows of one table that are linked to you (`linked_by` names the link), with the",
        "values that are yours. Ids are random identifiers; times are UTC (ISO 8601).",
        "Withheld: credentials and secrets (password and code hashes, key material) and",
        "staff's internal notes, to protect your account and the rights of others",
        "(GDPR art. 15(4)).",
        "",
    ]
    for section in export_sections():
        lines += [f"## {section.name}", "", f"Purpose: {section.entry.purpose}.", ""]
        lines += [
            f"- `{column_name}`: {column.category.value}; {column.purpose}"
            for column_name, column in section.columns.items()
        ]
        lines.append("")
    for extra in extra_sections:
        lines += [f"## {extra.name}", "", extra.description, ""]
    return "\n".join(lines)
