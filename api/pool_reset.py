"""What a pooled PostgreSQL connection goes through when it goes back to the pool.

asyncpg's pool always does the part that matters between two users of a connection:
a transaction left open is rolled back and the connection's listeners are dropped
(``Connection._reset``, run before any ``reset`` the pool is given). By default it then
sends one more statement::

    SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;

which undoes session state: session advisory locks, ``WITH HOLD`` cursors, ``LISTEN``
registrations and settings changed with a plain ``SET``. The service creates none of
those, so that statement undoes nothing; it is a round trip on every pooled query
(Piccolo takes a connection from the pool per query outside a transaction). Left out,
measured with ``python -m bench.instructions --db postgresql``: a ``{ me { … } }``
request 3.40 → 3.26 million instructions (3.8 % fewer), the 20-ticket page 1.6 % fewer.

The rule this rests on is the one transaction-pooling PgBouncer sets for the same
reason: no session state. Each statement either
runs alone or inside a transaction, and what it changes for the session it changes
with ``SET LOCAL`` / ``pg_advisory_xact_lock`` / ``set_config(…, true)``, undone when the
transaction ends. ``tests/api/test_pool_reset.py`` holds the code to it: it reads every
string of SQL in the service's packages for a statement that would outlive its
transaction, and checks on PostgreSQL that a released connection sends nothing and
comes back out of any transaction it was left in.

What ``RESET ALL`` would still have undone is a setting changed by a statement
injected past the parameterised queries (a query sent with arguments is one statement
in PostgreSQL's extended protocol, so it would take a ``set_config(…, false)`` inside
it). Such a setting could not point at
anything of the attacker's: the API's role creates nothing, temporary tables included
(``api/db_roles.py``), and cannot take another role.
"""

from __future__ import annotations

from typing import Any


async def keep_session(connection: Any) -> None:
    """The pool's ``reset``: nothing beyond asyncpg's own rollback (see module doc)."""
    del connection
