"""Fixtures of the generated policy tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from accounts.services.identity import Identity
from api.settings import Settings
from tests.permissions.identity_world import open_identity


@pytest.fixture
async def identity(settings: Settings, db: object) -> AsyncIterator[Identity]:
    """Identity services over this run's stores (memory, or Redis when configured)."""
    async with open_identity(settings) as opened:
        yield opened
