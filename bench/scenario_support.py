"""What every scenario module shares: the refusal to report a wrong measurement, and
the req/s, p50 and p99 figures of paired wrk runs."""

from __future__ import annotations

from typing import Any

from bench.stats import Figure
from bench.wrk import WrkResult


class ScenarioError(RuntimeError):
    """A server did not answer what the scenario measures; nothing is reported for it."""


def check_tickets(response: dict[str, Any]) -> None:
    """The tickets page is 20 tickets, each with its requester and 5 comments."""
    edges = (((response.get("data") or {}).get("tickets")) or {}).get("edges") or []
    complete = [
        edge for edge in edges if edge["node"]["requester"] and len(edge["node"]["comments"]) == 5
    ]
    if len(edges) != 20 or len(complete) != 20 or response.get("errors"):
        raise ScenarioError(f"tickets page is not 20 full tickets: {str(response)[:300]}")


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
