"""Benchmarks for OpenDesk API (not run as tests): ``python -m bench run [--quick]``.

See ``bench/README.md`` for what is measured, how, and how to add a scenario.
"""
