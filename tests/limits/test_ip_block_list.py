"""The in-memory block list notices other processes' changes by polling the database."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from api.limits import IpBlockList, block_ip
from audit.tables import IpBlock
from core.errors import BadUserInput

pytestmark = pytest.mark.usefixtures("db")

ADDRESS = ipaddress.ip_address("203.0.113.9")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_change_by_another_process_applies_after_the_refresh_interval() -> None:
    clock = FakeClock()
    blocks = IpBlockList(refresh_seconds=0.5, clock=clock)
    await block_ip("203.0.113.0/24", "abuse", None, "system:test")
    assert await blocks.is_blocked(ADDRESS)

    # Another process unblocks: it writes the row; this process has no local signal.
    now = datetime.now(UTC)
    await IpBlock.update({IpBlock.revoked_at: now, IpBlock.updated_at: now}, force=True)
    clock.now += 0.4
    still_cached = await blocks.is_blocked(ADDRESS)
    clock.now += 0.2
    refreshed = await blocks.is_blocked(ADDRESS)

    assert still_cached  # within the interval: the copy in memory answers, no query
    assert not refreshed


async def test_the_most_specific_and_broadest_blocks_both_apply() -> None:
    blocks = IpBlockList()
    await block_ip("10.0.0.0/8", "broad", None, "system:test")
    await block_ip("2001:db8::1", "one address", None, "system:test")

    assert await blocks.is_blocked(ipaddress.ip_address("10.200.3.4"))
    assert await blocks.is_blocked(ipaddress.ip_address("2001:db8::1"))
    assert not await blocks.is_blocked(ipaddress.ip_address("2001:db8::2"))
    assert not await blocks.is_blocked(ipaddress.ip_address("11.0.0.1"))


@pytest.mark.parametrize(
    "network", ["not-an-ip", "203.0.113.7/24", "0.0.0.0/0", "::/0", "203.0.113.0/33"]
)
async def test_malformed_or_everything_blocks_are_refused(network: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        await block_ip(network, "x", None, "system:test")

    assert refused.value.extensions["field"] == "network"


async def test_an_expiry_in_the_past_is_refused() -> None:
    with pytest.raises(BadUserInput):
        await block_ip("203.0.113.5", "x", datetime(2000, 1, 1, tzinfo=UTC), "system:test")


async def test_an_unreadable_database_keeps_the_last_good_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    blocks = IpBlockList(refresh_seconds=0.5, full_reload_seconds=0.5, clock=clock)
    await block_ip("203.0.113.0/24", "abuse", None, "system:test")
    assert await blocks.is_blocked(ADDRESS)

    async def broken() -> object:
        raise OSError("database gone")

    monkeypatch.setattr("api.limits.ip_blocks.blocks_fingerprint", broken)
    clock.now += 1

    assert await blocks.is_blocked(ADDRESS)
