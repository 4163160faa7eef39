"""Bench only: make the product act as the benchmark's agent, in every server process.

This directory is put on ``PYTHONPATH`` for the product server that the benchmark starts
(``python -m api.cli serve`` — the product's own command), and for nothing else. Python
imports ``sitecustomize`` at start-up in that process and in each uvicorn worker it
spawns; when ``BENCH_PRINCIPAL`` is set, it wraps the ``authenticate`` that
``api.graphql.build_context`` calls (see ``bench.product_server``); when
``BENCH_STUB_FIELD_POLICY`` is set too, the schema is built without the field policy
(the ``policy_overhead`` scenario's B side); with ``BENCH_STUB_GUARDS``, without the
request guards (``guards_overhead``). The product itself has no switch for any of them.
"""

import os

if os.environ.get("BENCH_PRINCIPAL"):
    from bench.product_server import install_principal_injection

    install_principal_injection()

if os.environ.get("BENCH_STUB_FIELD_POLICY"):
    from bench.product_server import stub_field_policy

    stub_field_policy()

if os.environ.get("BENCH_STUB_GUARDS"):
    from bench.product_server import stub_guards

    stub_guards()
