"""The serving side of IP blocks: an in-memory copy of the block list, kept fresh.

Writes go through :mod:`audit.ip_blocks` (``block_ip``, ``unblock_ip``,
``list_ip_blocks``, re-exported here), which any layer may call. Each process keeps the
active blocks in memory and answers :meth:`IpBlockList.is_blocked` without I/O, except:

* at most every ``refresh_seconds`` (0.5 s) one cheap aggregate query (a fingerprint
  of the table) tells whether another process changed the list; only then is it
  reloaded — so a block made anywhere applies everywhere within about a second;
* a write in this process is seen by the next request (a process-local generation);
* a full reload every ``full_reload_seconds`` guards against a missed change.

The database, not Redis, carries the change signal: it is where the blocks are, every
process already talks to it, and the writers (GraphQL, anomaly rules, the CLI) then
need no handle on a cache to keep it coherent. If the database cannot be read, the last
good copy keeps serving (logged); an unreadable list never turns into a 500.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from api.edge import IPAddress
from audit.ip_blocks import (
    IpBlockRecord,
    IpNetwork,
    active_blocks,
    block_ip,
    blocks_fingerprint,
    list_ip_blocks,
    local_generation,
    unblock_ip,
)

__all__ = ("IpBlockList", "IpBlockRecord", "block_ip", "list_ip_blocks", "unblock_ip")

_log = structlog.get_logger("api.limits.ip_blocks")

# {ip version: {prefix length: {network address as int: expiry or None}}}
_Index = dict[int, dict[int, dict[int, datetime | None]]]


class IpBlockList:
    """Answers "is this address blocked?" from memory; one instance per process."""

    def __init__(
        self,
        *,
        refresh_seconds: float = 0.5,
        full_reload_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.refresh_seconds = refresh_seconds
        self.full_reload_seconds = full_reload_seconds
        self._clock = clock
        self._index: _Index = {4: {}, 6: {}}
        self._fingerprint: tuple[object, ...] | None = None
        self._generation = -1
        self._checked_at = float("-inf")
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def is_blocked(self, address: IPAddress) -> bool:
        """True when an unexpired block covers ``address``; never raises for I/O trouble."""
        await self._refresh_if_due()
        return self.blocks_now(address)

    def blocks_now(self, address: IPAddress) -> bool:
        """:meth:`is_blocked` by the copy in memory, without refreshing it (no I/O)."""
        now = datetime.now(UTC)
        packed = int(address)
        width = address.max_prefixlen
        for prefixlen, networks in self._index[address.version].items():
            shift = width - prefixlen
            expires_at = networks.get((packed >> shift) << shift, _ABSENT)
            if expires_at is _ABSENT:
                continue
            if expires_at is None or (isinstance(expires_at, datetime) and expires_at > now):
                return True
        return False

    async def refresh(self) -> None:
        """Reload from the database now (start-up, tests)."""
        async with self._lock:
            await self._reload()

    async def _refresh_if_due(self) -> None:
        now = self._clock()
        local_change = local_generation() != self._generation
        if not local_change and now - self._checked_at < self.refresh_seconds:
            return
        if self._lock.locked():  # another request is refreshing: serve the current copy
            return
        async with self._lock:
            self._checked_at = now
            try:
                if (
                    local_change
                    or now - self._loaded_at >= self.full_reload_seconds
                    or await blocks_fingerprint() != self._fingerprint
                ):
                    await self._reload()
            except Exception as error:  # keep serving the last good copy
                _log.error("ip_block_list_refresh_failed", error=type(error).__name__)

    async def _reload(self) -> None:
        generation = local_generation()
        fingerprint = await blocks_fingerprint()
        blocks = await active_blocks()
        self._index = _build_index(blocks)
        self._fingerprint = fingerprint
        self._generation = generation
        self._loaded_at = self._checked_at = self._clock()


_ABSENT = object()


def _build_index(blocks: list[tuple[IpNetwork, datetime | None]]) -> _Index:
    index: _Index = {4: {}, 6: {}}
    for network, expires_at in blocks:
        networks = index[network.version].setdefault(network.prefixlen, {})
        key = int(network.network_address)
        if key in networks:
            current = networks[key]
            # Two blocks on one network: the longer-lasting one wins.
            if current is None or (expires_at is not None and expires_at <= current):
                continue
        networks[key] = expires_at
    return index
