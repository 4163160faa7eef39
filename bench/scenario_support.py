"""What every scenario module shares: the refusal to report a wrong measurement, and
the req/s, p50 and p99 figures of paired wrk runs."""

from __future__ import annotations

from bench.stats import Figure
from bench.wrk import WrkResult


class ScenarioError(RuntimeError):
    """A server did not answer what the scenario measures; nothing is reported for it."""


def load_figures(
    scenario: str, a_label: str, b_label: str, a: list[WrkResult], b: list[WrkResult]
) -> list[Figure]:
    """req/s (B/A), p50 and p99 (ms) from paired wrk runs."""
    return [
        Figure(
            scenario,
            "req/s",
            "req/s",
            a_label,
            b_label,
            [r.requests_per_second for r in a],
            [r.requests_per_second for r in b],
        ),
        Figure(
            scenario, "p50", "ms", a_label, b_label, [r.p50_ms for r in a], [r.p50_ms for r in b]
        ),
        Figure(
            scenario, "p99", "ms", a_label, b_label, [r.p99_ms for r in a], [r.p99_ms for r in b]
        ),
    ]
