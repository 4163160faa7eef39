"""The allowlist of persisted operations: one table, read through an in-process copy.

Every serving process keeps the whole list in memory (it is short: the operations a
product's clients send). A background task (:meth:`Allowlist.keep_fresh`, started with
the app) reloads it every half ``refresh_seconds``, so requests do not wait for that;
a request reloads it itself only when the copy is older than ``refresh_seconds`` (no
task running, or the database did not answer it). So an entry registered or revoked
elsewhere takes effect everywhere within that time, and at once in the process that
made the change. Registering and revoking go through this
module only, and each is an audit-trail event.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from graphql import GraphQLError, OperationDefinitionNode, parse

from audit.trail import Actor, record_event
from operations.audiences import parse_audiences
from operations.tables import PersistedOperation

_log = structlog.get_logger("operations.allowlist")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
MAX_NAME_LENGTH = 200
_UPSERT_ATTEMPTS = 20


class OperationError(ValueError):
    """A document or hash that cannot be allowlisted; the message says why in one line."""


def document_hash(document: str) -> str:
    """Lower-case hex SHA-256 of the document's UTF-8 bytes, exactly as sent (APQ's id)."""
    return hashlib.sha256(document.encode()).hexdigest()


def is_sha256_hex(value: object) -> bool:
    return isinstance(value, str) and _SHA256_HEX.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class TrustedOperation:
    sha256: str
    name: str | None
    document: str
    audiences: frozenset[str]

    def allows(self, audiences: frozenset[str]) -> bool:
        return not self.audiences.isdisjoint(audiences)


def check_document(document: str) -> str | None:
    """Parse ``document``; it must hold exactly one operation. Returns its name."""
    try:
        parsed = parse(document)
    except GraphQLError as error:
        raise OperationError(f"not a GraphQL document: {error.message}") from None
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise OperationError(f"a persisted document holds one operation, not {len(operations)}")
    return operations[0].name.value if operations[0].name else None


def _row_to_operation(row: Mapping[str, Any]) -> TrustedOperation:
    return TrustedOperation(
        sha256=row["sha256"],
        name=row["name"],
        document=row["document"],
        audiences=frozenset(row["audiences"].split()),
    )


class Allowlist:
    """The process's copy of the table; ``find`` is what requests call."""

    def __init__(
        self,
        refresh_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        on_reload: Callable[[Iterable[str]], None] | None = None,
    ) -> None:
        """``on_reload`` is given the listed documents' texts on every reload, before
        requests see the new list (the fast path prepares them: api.persisted)."""
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._on_reload = on_reload
        self._entries: dict[str, TrustedOperation] = {}
        self._loaded_at: float | None = None
        # Bumped by forget(): a reload that began before it does not count as fresh.
        self._generation = 0
        self._lock = asyncio.Lock()

    async def find(self, sha256: str) -> TrustedOperation | None:
        if self._stale():
            async with self._lock:
                if self._stale():  # another request may have reloaded while we waited
                    await self.reload()
        return self._entries.get(sha256)

    def forget(self) -> None:
        """Reload on next use (after a change made by this process)."""
        self._generation += 1
        self._loaded_at = None

    async def keep_fresh(self) -> None:
        """Reload every half ``refresh_seconds``, until cancelled (the app's lifetime). A
        failed reload is logged and tried again next time; the copy is kept meanwhile,
        and requests reload it themselves once it is older than ``refresh_seconds``."""
        while True:
            await asyncio.sleep(self.refresh_seconds / 2)
            try:
                async with self._lock:
                    await self.reload()
            except Exception:  # a database hiccup must not end the task
                _log.warning("persisted_operations_reload_failed", exc_info=True)

    async def reload(self) -> None:
        generation = self._generation
        # The copy is as old as the read, not as its end (preparing may take a while).
        read_at = self._clock()
        rows = await PersistedOperation.select(
            PersistedOperation.sha256,
            PersistedOperation.name,
            PersistedOperation.document,
            PersistedOperation.audiences,
        )
        entries = {row["sha256"]: _row_to_operation(row) for row in rows}
        if self._on_reload is not None:
            # In a thread: preparing a newly imported list is CPU work (a few ms per new
            # document), and the event loop keeps serving the requests that need no list.
            texts = [entry.document for entry in entries.values()]
            await asyncio.to_thread(self._on_reload, texts)
        self._entries = entries
        if generation == self._generation:  # else a change since we read: not fresh
            self._loaded_at = read_at

    def _stale(self) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= self.refresh_seconds


@dataclass(frozen=True, slots=True)
class Registration:
    operation: TrustedOperation
    created: bool  # False: it existed; its audiences were widened (or already covered)


async def register(
    document: str,
    audiences: Iterable[str],
    *,
    actor: Actor,
    via: str,
    name: str | None = None,
    request_id: str | None = None,
    client_ip: Any = None,
) -> Registration:
    """Allowlist ``document`` for ``audiences`` (added to any it already has).

    Raises OperationError (bad document or name) or AudienceError (bad audience).
    """
    wanted = parse_audiences(audiences)
    operation_name = check_document(document)
    name = name if name is not None else operation_name
    if name is not None and len(name) > MAX_NAME_LENGTH:
        raise OperationError(f"operation name longer than {MAX_NAME_LENGTH} characters")
    sha256 = document_hash(document)
    created, merged = await _upsert(sha256, document, name, wanted)
    await record_event(
        "persisted_operation.registered",
        actor=actor,
        client_ip=client_ip,
        request_id=request_id,
        target_type="persisted_operation",
        target_id=sha256,
        details={"via": via, "name": name, "audiences": sorted(merged), "created": created},
    )
    return Registration(TrustedOperation(sha256, name, document, merged), created)


async def _upsert(
    sha256: str, document: str, name: str | None, wanted: frozenset[str]
) -> tuple[bool, frozenset[str]]:
    """Insert, or merge ``wanted`` into the row's audiences by compare-and-set, so two
    concurrent registrations of one document both keep their audiences."""
    for _attempt in range(_UPSERT_ATTEMPTS):
        existing = (
            await PersistedOperation.select(PersistedOperation.audiences)
            .where(PersistedOperation.sha256 == sha256)
            .first()
        )
        if existing is None:
            try:
                await PersistedOperation.insert(
                    PersistedOperation(
                        sha256=sha256, name=name, document=document, audiences=_text(wanted)
                    )
                )
            except (sqlite3.IntegrityError, asyncpg.UniqueViolationError):
                continue  # registered concurrently: merge into that row
            return True, wanted
        current = frozenset(existing["audiences"].split())
        merged = wanted | current
        if merged == current:
            return False, merged
        swapped = (
            await PersistedOperation.update({PersistedOperation.audiences: _text(merged)})
            .where(
                (PersistedOperation.sha256 == sha256)
                & (PersistedOperation.audiences == existing["audiences"])
            )
            .returning(PersistedOperation.sha256)
        )
        if swapped:
            return False, merged
        # Changed (or revoked) since we read it: read again.
    raise RuntimeError("could not register the persisted operation: too much contention")


def _text(audiences: frozenset[str]) -> str:
    return " ".join(sorted(audiences))


async def revoke(sha256: str, *, actor: Actor, via: str) -> bool:
    """Remove an entry; False when there was none. Raises OperationError on a bad hash."""
    if not is_sha256_hex(sha256):
        raise OperationError(f"not a lower-case hex SHA-256: {sha256!r}")
    removed = (
        await PersistedOperation.delete()
        .where(PersistedOperation.sha256 == sha256)
        .returning(PersistedOperation.sha256)
    )
    if removed:
        await record_event(
            "persisted_operation.revoked",
            actor=actor,
            target_type="persisted_operation",
            target_id=sha256,
            details={"via": via},
        )
    return bool(removed)


async def all_operations() -> list[TrustedOperation]:
    rows = await PersistedOperation.select().order_by(PersistedOperation.name)
    return [_row_to_operation(row) for row in rows]
