"""A/B figures: medians, ranges and paired ratios from interleaved rounds.

A figure never stands alone: each holds both sides' per-round values and the ratio of
each round's pair (B / A), so drift on a shared machine shows up as a wide range
instead of a biased single number.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

Result = TypeVar("Result")


@dataclass(frozen=True, slots=True)
class Spread:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """Over the values that are numbers (a NaN marks a round with nothing to measure)."""
        values = [value for value in values if not math.isnan(value)]
        if not values:
            return cls(float("nan"), float("nan"), float("nan"))
        return cls(statistics.median(values), min(values), max(values))


@dataclass(frozen=True, slots=True)
class Target:
    """What the issue asks of a figure; ``met`` is None when it cannot be judged."""

    text: str
    met: bool | None


@dataclass(slots=True)
class Figure:
    """One metric, measured on side A and side B in the same interleaved rounds."""

    scenario: str
    metric: str
    unit: str
    a_label: str
    b_label: str
    a_values: list[float]
    b_values: list[float]
    target: Target | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        """B / A for each round (NaN when either side had nothing to measure, or A is 0)."""
        return [
            b / a if a and not (math.isnan(a) or math.isnan(b)) else math.nan
            for a, b in zip(self.a_values, self.b_values, strict=True)
        ]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (NaN, "nothing measured", becomes null)."""

        def number(value: float) -> float | None:
            return None if math.isnan(value) else value

        def spread(values: Sequence[float]) -> dict[str, Any]:
            found = Spread.of(values)
            return {
                "values": [number(value) for value in values],
                "median": number(found.median),
                "min": number(found.low),
                "max": number(found.high),
            }

        return {
            "scenario": self.scenario,
            "metric": self.metric,
            "unit": self.unit,
            "a": {"label": self.a_label, **spread(self.a_values)},
            "b": {"label": self.b_label, **spread(self.b_values)},
            "ratio_b_over_a": spread(self.ratios),
            "target": None
            if self.target is None
            else {"text": self.target.text, "met": self.target.met},
            "notes": self.notes,
        }


def interleave(
    rounds: int, run_a: Callable[[], Result], run_b: Callable[[], Result]
) -> tuple[list[Result], list[Result]]:
    """Run A and B ``rounds`` times each, alternating the order (AB, BA, AB, …)."""
    results_a: list[Result] = []
    results_b: list[Result] = []
    for index in range(rounds):
        if index % 2 == 0:
            results_a.append(run_a())
            results_b.append(run_b())
        else:
            results_b.append(run_b())
            results_a.append(run_a())
    return results_a, results_b


def at_most(figure_ratio: Sequence[float], threshold: float) -> Target:
    """Target on the median paired ratio: ≤ ``threshold``."""
    median = Spread.of(figure_ratio).median
    return Target(f"B/A ≤ {threshold:g}", None if math.isnan(median) else median <= threshold)


def at_least(figure_ratio: Sequence[float], threshold: float) -> Target:
    """Target on the median paired ratio: ≥ ``threshold``."""
    median = Spread.of(figure_ratio).median
    return Target(f"B/A ≥ {threshold:g}", None if math.isnan(median) else median >= threshold)
