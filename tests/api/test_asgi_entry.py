"""The server processes' app: built from the environment, heap frozen once started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient

from api.asgi import create_app_from_environment, freeze_start_up_heap

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def unfrozen_afterwards() -> Iterator[None]:
    yield
    gc.unfreeze()  # this test process builds many apps: give the collector its heap back


async def test_a_served_app_freezes_its_heap_after_everything_else_has_started(
    unfrozen_afterwards: None,
) -> None:
    app = create_app_from_environment()
    assert app.litestar.on_startup[-1] is freeze_start_up_heap
    gc.unfreeze()

    async with AsyncTestClient(app=app) as client:
        frozen = gc.get_freeze_count()
        answer = await client.get("/healthz")

    assert frozen > 10_000  # modules, schema, policy: the start-up heap
    assert answer.status_code == 200
