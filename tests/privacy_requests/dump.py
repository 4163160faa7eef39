"""A plain-text dump of the whole test database, as an operator's backup tool makes it:
pg_dump on PostgreSQL, the sqlite3 module's iterdump on SQLite."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlsplit


async def database_dump(database_url: str) -> str:
    if database_url.startswith("sqlite:///"):
        path = Path(unquote(urlsplit(database_url).path))
        return await asyncio.to_thread(_sqlite_dump, path)
    pg_dump = shutil.which("pg_dump")
    assert pg_dump is not None, "pg_dump is needed to dump the PostgreSQL test database"
    process = await asyncio.create_subprocess_exec(
        pg_dump,
        "--data-only",
        "--no-owner",
        database_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


def _sqlite_dump(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()
