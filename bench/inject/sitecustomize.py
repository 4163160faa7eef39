"""Bench only: make the product act as the benchmark's agent, in every server process.

This directory is put on ``PYTHONPATH`` for the product server that the benchmark
starts (``python -m api.cli serve`` — the product's own command), and for nothing else.
Python imports ``sitecustomize`` at start-up in that process and in each uvicorn worker
it spawns; when ``BENCH_PRINCIPAL`` is set, it wraps ``api.graphql.build_context`` (see
``bench.product_server``). The product itself has no switch for this.
"""

import os

if os.environ.get("BENCH_PRINCIPAL"):
    from bench.product_server import install_principal_injection

    install_principal_injection()
