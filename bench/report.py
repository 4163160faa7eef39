"""The suite's output: a table on stdout and a JSON file under ``bench/results/``."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stats import Figure, Spread

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What ran the suite: CPU, cores usable, kernel, Python, load and the git commit."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=RESULTS_DIR.parent.parent,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu": model,
        "cpus_usable": len(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": commit or "unknown",
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def _spread(values: Sequence[float], digits: int) -> str:
    found = Spread.of(values)
    if math.isnan(found.median):
        return "n/a"
    return f"{found.median:.{digits}f} [{found.low:.{digits}f}-{found.high:.{digits}f}]"


def table(figures: Sequence[Figure]) -> str:
    """One row per figure: A and B as median [min-max], the paired ratio, the target."""
    header = (
        "scenario",
        "metric",
        "A",
        "A: median [min-max]",
        "B",
        "B: median [min-max]",
        "B/A median [min-max]",
        "target",
    )
    rows = [header]
    for figure in figures:
        digits = 0 if figure.unit in ("req/s", "rows") else 2 if figure.unit in ("ms", "s") else 1
        if figure.target is None:
            target = ""
        else:
            verdict = {True: "met", False: "MISSED", None: "n/a"}[figure.target.met]
            target = f"{figure.target.text}: {verdict}"
        rows.append(
            (
                figure.scenario,
                f"{figure.metric} ({figure.unit})",
                figure.a_label,
                _spread(figure.a_values, digits),
                figure.b_label,
                _spread(figure.b_values, digits),
                _spread(figure.ratios, 2),
                target,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    notes = [
        f"- {figure.scenario} / {figure.metric}: {note}"
        for figure in figures
        for note in figure.notes
    ]
    return "\n".join(line.rstrip() for line in lines) + (
        "\n\nnotes:\n" + "\n".join(notes) if notes else ""
    )


def write_json(
    figures: Sequence[Figure], *, context: dict[str, Any], directory: Path = RESULTS_DIR
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{stamp}-{context['database']}-{context['plan']['name']}.json"
    document = {**context, "figures": [figure.to_json() for figure in figures]}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path
