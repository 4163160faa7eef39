"""Where the time of loading users goes: row fetch vs the product's decrypting load.

Run as ``python -m bench.decryption_timing RUNS`` with the bench database's settings in
the environment (the bench pins it with ``taskset``); prints one JSON line of
milliseconds per run for, on the distinct requesters of the tickets (the seeded
customers, the users a 50-ticket page loads):

* ``fetch_ms``: one ``SELECT`` of the users' rows (id, email, phone) and nothing else;
* ``users_by_ids_ms``: ``accounts.services.users.users_by_ids``, what a request that
  resolves contact fields pays in all (the GraphQL users loader fetches rows sealed and
  its contacts loader opens them: the same work in two steps): the same kind of fetch,
  then the users' data keys (one more query, one unwrap per user) and the decryption of
  email and phone;
* ``open_contacts_ms``: ``opened_contacts`` alone on already fetched rows (data-key
  query + unwraps + AES-GCM decryption), the part that is decryption;
* ``crypto_ms``: the unwraps and AES-GCM decryptions alone, the data keys' rows already
  fetched: what decrypting costs, without the query that finds the keys;
* ``page_ms``: the 50-row page with every requester's email (``tickets50_email``)
  executed in process through the served schema, as an agent (emails masked, so
  decrypted first): the query whose time the decryption is compared with.

Runs alternate the order (AB, BA, …). Each query runs outside a transaction, as in a
request (on SQLite, Piccolo opens a connection per query then).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from accounts.services.contact import opened_contacts
from accounts.services.users import users_by_ids
from accounts.tables import User
from api.resources import Resources
from api.settings import load_settings
from bench.documents import normal_documents
from desk.tables import Ticket
from permissions.principal import user_principal
from permissions.roles import Role
from privacy.crypto import WrappedDataKey, unwrap_data_key
from privacy.crypto.column import open_cell
from privacy.keys_in_use import current_keyring
from privacy.tables import DataKeyRow
from schema.build import SchemaConfig, build_schema
from schema.context import RequestContext


async def _timed(work: Callable[[], Awaitable[Any]]) -> float:
    began = time.perf_counter()
    await work()
    return (time.perf_counter() - began) * 1000


async def measure(runs: int) -> dict[str, Any]:
    settings = load_settings()
    resources = Resources.from_settings(settings)
    await resources.open()
    try:
        tickets = await Ticket.select(Ticket.requester)
        ids: list[uuid.UUID] = sorted({row["requester"] for row in tickets}, key=str)

        async def fetch() -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = await User.select(User.id, User.email, User.phone).where(
                User.id.is_in(ids)
            )
            return rows

        rows = await fetch()
        found = await users_by_ids(ids)  # warm-up, and a check of what is measured
        if len(found) != len(ids) or any(record.email is None for record in found.values()):
            raise RuntimeError("not every requester decrypted to an email")
        wrapped = {
            row["subject_id"]: WrappedDataKey.from_token(
                row["wrapped"], subject_id=str(row["subject_id"])
            )
            for row in await DataKeyRow.select().where(DataKeyRow.subject_id.is_in(ids))
        }
        keyring = current_keyring()

        async def crypto_only() -> None:
            for row in rows:
                key = unwrap_data_key(wrapped[row["id"]], provider=keyring)
                for column in (User.email, User.phone):
                    if row[column._meta.name]:
                        open_cell(
                            column, key=key, row_id=str(row["id"]), token=row[column._meta.name]
                        )

        schema = build_schema(SchemaConfig(production=False))
        agent = user_principal(uuid.uuid4(), Role.agent, None)
        page = json.loads(normal_documents()["tickets50_email"].body)["query"]

        async def page_query() -> None:
            result = await schema.execute(page, context_value=RequestContext.for_principal(agent))
            if result.errors:
                raise RuntimeError(f"page query failed: {result.errors[0].message}")

        await page_query()
        timings: dict[str, list[float]] = {
            "fetch_ms": [],
            "users_by_ids_ms": [],
            "open_contacts_ms": [],
            "crypto_ms": [],
            "page_ms": [],
        }
        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("fetch_ms", fetch),
            ("users_by_ids_ms", lambda: users_by_ids(ids)),
            ("open_contacts_ms", lambda: opened_contacts(rows)),
            ("crypto_ms", crypto_only),
            ("page_ms", page_query),
        ]
        for index in range(runs):
            for name, work in steps if index % 2 == 0 else steps[::-1]:
                timings[name].append(await _timed(work))
        return {"users": len(ids), **timings}
    finally:
        await resources.close()


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    sys.stdout.write(json.dumps(asyncio.run(measure(runs))) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
