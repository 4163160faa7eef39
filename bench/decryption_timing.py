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
  query + unwraps + AES-GCM decryption), the part that is decryption.

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
from desk.tables import Ticket


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
        timings: dict[str, list[float]] = {
            "fetch_ms": [],
            "users_by_ids_ms": [],
            "open_contacts_ms": [],
        }
        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("fetch_ms", fetch),
            ("users_by_ids_ms", lambda: users_by_ids(ids)),
            ("open_contacts_ms", lambda: opened_contacts(rows)),
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
