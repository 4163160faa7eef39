"""ASGI entry point for the server processes (each worker builds its own app)."""

from __future__ import annotations

import gc

from api.app import OpenDeskApp, create_app
from api.settings import load_settings

# The cyclic collector's thresholds while serving (CPython's defaults: 700, 10, 10).
SERVING_GC_THRESHOLDS = (10_000, 10, 10)


def create_app_from_environment() -> OpenDeskApp:
    app = create_app(load_settings())
    # Last, once everything built at start-up is in place (allowlist prepared, pools open).
    app.litestar.on_startup.append(prepare_heap_for_serving)
    return app


def prepare_heap_for_serving() -> None:
    """Keep what start-up built out of the cyclic garbage collector's passes, and run
    the youngest generation's passes less often.

    A serving process holds a large, long-lived heap (modules, the schema and its
    policy wrappers, prepared documents, keys); every full collection walked all of it.
    ``gc.freeze`` (CPython's documented way, used for pre-fork servers) moves everything
    alive now to a permanent generation, so a full pass only walks what requests create.
    Measured on the tickets page, one worker, two servers side by side over 6 rounds:
    +11 % req/s [+1 % to +22 %]; the bench had seen full passes of ≈ 110 ms every ~50
    such requests.

    The youngest generation is collected when the count of objects allocated minus
    those freed passes its threshold. A tickets page has ≈ 2,000 objects alive at its
    peak, so the default 700 was crossed three times a request, each time walking the
    objects still in use and moving them to older generations, to be walked again.
    At 10,000 most of a request's objects are freed before any pass sees them; what
    the passes still walk is the little cyclic garbage a request leaves (≈ 80-110
    objects, schema.loaders.Loaders.release). Measured in one process through ASGI on
    PostgreSQL, 1,500 tickets pages: collector time 0.5 ms → 0.05 ms a request. The
    price: up to 10,000 objects of garbage wait for a pass (a few MB at most).

    Only for server processes: a test process builds app after app, and freezing each
    time would keep their cyclic garbage for good. The price of freezing, bounded and
    paid once: start-up objects that later become cyclic garbage (a prepared document
    revoked afterwards, a pooled connection replaced) are never collected.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_GC_THRESHOLDS)
