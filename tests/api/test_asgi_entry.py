"""The server processes' app: built from the environment, heap frozen once started and
the collector's thresholds set for serving."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient

from api.asgi import SERVING_GC_THRESHOLDS, create_app_from_environment, prepare_heap_for_serving

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def unfrozen_afterwards() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()  # this test process builds many apps: give the collector its heap back
    gc.set_threshold(*thresholds)


async def test_a_served_app_freezes_its_heap_after_everything_else_has_started(
    unfrozen_afterwards: None,
) -> None:
    app = create_app_from_environment()
    assert app.litestar.on_startup[-1] is prepare_heap_for_serving
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)

    async with AsyncTestClient(app=app) as client:
        frozen = gc.get_freeze_count()
        answer = await client.get("/healthz")

    assert frozen > 10_000  # modules, schema, policy: the start-up heap
    assert gc.get_threshold() == SERVING_GC_THRESHOLDS
    assert answer.status_code == 200
