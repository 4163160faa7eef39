"""``privacy_scale``: export and erasure of one user with a long history (issue 9).

A fresh database of its own (SQLite file, or a new PostgreSQL database with ``--db
postgresql``), migrated and seeded by ``python -m bench.privacy_timing seed``: one
subject with 10,000 tickets and 50,000 comments (``--quick``: 2,000 / 10,000) and a
second customer with a tenth of that. Every measurement is a fresh process (``python -m
bench.privacy_timing …``, pinned like the servers), so each peak RSS is that job's:

* ``baseline`` — imports, settings, keyring, engine, one query: what every job process
  holds before its job;
* export of the subject at the product's batch (500 rows, through the runner's
  ``write_export_to``) and at 5,000, in the same rounds (order alternating);
* the same three exports again with ``tracemalloc`` (the Python heap peak of the job;
  their times are not reported) plus the second customer's export at batch 500: the
  heap peak against the history's length at the same batch;
* the erasure (``carry_out_erasure`` on a claimed request), once, then its idempotent
  re-run, untraced and traced (the heap peak of an erasure; the first run is the only
  one that deletes the data key, every other statement is the same).

Before anything is reported the archive is checked (exactly the subject's tickets and
comments, contact data decrypted, nothing of the other customer) and so is the
erasure (no ticket or comment of the subject left un-redacted, the other customer's
rows untouched); a failed check stops the scenario.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.context import Bench
from bench.scenario_support import ScenarioError
from bench.servers import REPOSITORY, fresh_database, server_environment
from bench.stats import Figure, Spread

FULL_SIZE = (10_000, 50_000)  # the issue's: tickets requested, comments written
QUICK_SIZE = (2_000, 10_000)
PRODUCT_BATCH = 500  # privacy.export.BATCH_SIZE (the job checks it)
LARGE_BATCH = 5_000
Job = Callable[[], dict[str, Any]]


class _Runner:
    """``python -m bench.privacy_timing …`` with the fresh database's settings."""

    def __init__(self, environment: dict[str, str], cpus: str | None) -> None:
        self.environment = environment
        self.cpus = cpus

    def __call__(self, *arguments: str) -> dict[str, Any]:
        command = [sys.executable, "-m", "bench.privacy_timing", *arguments]
        if self.cpus is not None:
            command = ["taskset", "-c", self.cpus, *command]
        completed = subprocess.run(
            command,
            cwd=REPOSITORY,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if completed.returncode != 0:
            raise ScenarioError(
                f"privacy_timing {arguments[0]} failed: {completed.stderr.strip()[-1500:]}"
            )
        result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
        return result


def _rounds(rounds: int, jobs: dict[str, Job]) -> dict[str, list[dict[str, Any]]]:
    """Every job once per round, the order rotating from round to round."""
    names = list(jobs)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        order = names[shift:] + names[:shift]
        for name in order if index % 2 == 0 else order[::-1]:
            results[name].append(jobs[name]())
    return results


def _values(results: Sequence[dict[str, Any]], key: str, scale: float = 1.0) -> list[float]:
    return [
        float(result[key]) * scale if result[key] is not None else math.nan for result in results
    ]


def _over(results: Sequence[dict[str, Any]], baselines: Sequence[float]) -> list[float]:
    return [
        result["peak_rss_mib"] - baseline
        for result, baseline in zip(results, baselines, strict=True)
    ]


def _check(label: str, found: dict[str, Any]) -> None:
    if found["problems"]:
        raise ScenarioError(f"privacy_scale: {label} is wrong: {'; '.join(found['problems'])}")


def privacy_scale(bench: Bench) -> list[Figure]:
    """Export and erasure of a user with 10,000 tickets and 50,000 comments: time, peak
    RSS (and over a bare process's), Python heap peak, archive size, rows touched."""
    tickets, comments = FULL_SIZE if bench.plan.name == "full" else QUICK_SIZE
    workdir = Path(tempfile.mkdtemp(prefix="opendesk-privacy-bench-"))
    try:
        with fresh_database(bench.database_kind, workdir, bench.postgres_url) as database:
            run = _Runner(server_environment(database, workdir, None), bench.placement.server)
            seeded = run("seed", str(tickets), str(comments))
            return _measure(bench, run, seeded, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _measure(bench: Bench, run: _Runner, seeded: dict[str, Any], workdir: Path) -> list[Figure]:
    subject, other = seeded["subject_id"], seeded["other_id"]
    size = f"{seeded['subject_tickets']:,} tickets + {seeded['subject_comments']:,} comments"
    other_size = f"{seeded['other_tickets']:,} + {seeded['other_comments']:,}"
    bench.notes.append(
        f"privacy_scale: fresh {bench.database_kind} database; subject with {size}, a second "
        f"customer with {other_size} (tickets + comments, of which "
        f"{seeded['other_tickets']:,} comments on the subject's tickets); seeded in "
        f"{seeded['seed_seconds']} s (not measured)"
    )
    archive = {batch: workdir / f"export-{batch}.zip" for batch in (PRODUCT_BATCH, LARGE_BATCH)}
    rounds = bench.plan.rounds
    small, large = str(PRODUCT_BATCH), str(LARGE_BATCH)
    plain = _rounds(
        rounds,
        {
            "baseline": lambda: run("baseline"),
            "small": lambda: run("export", subject, str(archive[PRODUCT_BATCH]), small),
            "large": lambda: run("export", subject, str(archive[LARGE_BATCH]), large),
        },
    )
    for batch, path in archive.items():
        _check(f"the export at batch {batch}", run("check-export", str(path), json.dumps(seeded)))
    traced = _rounds(
        rounds,
        {
            "small": lambda: run("export", subject, str(archive[PRODUCT_BATCH]), small, "--trace"),
            "large": lambda: run("export", subject, str(archive[LARGE_BATCH]), large, "--trace"),
            "other": lambda: run("export", other, str(workdir / "other.zip"), small, "--trace"),
        },
    )
    if traced["other"][0]["rows"]["tickets"] != seeded["other_tickets"]:
        raise ScenarioError(f"privacy_scale: the other customer's export: {traced['other'][0]}")
    baselines = _values(plain["baseline"], "peak_rss_mib")
    first = run("erase", subject)
    _check("the erasure", run("check-erasure", json.dumps(seeded)))
    again = run("erase", subject)
    again_traced = run("erase", subject, "--trace")
    _check("the erasure's re-run", run("check-erasure", json.dumps(seeded)))

    figures = _export_figures(size, plain, traced, baselines)
    figures += _erasure_figures(size, first, again, again_traced, Spread.of(baselines).median)
    history = Figure(
        f"privacy export, history {other_size} vs "
        f"{seeded['subject_tickets']:,} + {seeded['subject_comments']:,}",
        "Python heap peak, batch 500",
        "MiB",
        "other customer",
        "subject",
        _values(traced["other"], "heap_peak_mib"),
        _values(traced["small"], "heap_peak_mib"),
    )
    history.notes.append(
        "the same job at the same batch over a history 10x shorter (traced runs of the same "
        "rounds): a ratio near 1 means memory follows the batch, not the history"
    )
    figures.append(history)
    via = plain["small"][0]["via"]
    if not via.endswith("write_export_to"):
        raise ScenarioError(f"privacy_scale: the product's export batch is not {PRODUCT_BATCH}")
    figures[0].notes.append(
        f"batch 500 runs through {via}; batch 5000 through privacy.export.write_export_archive"
        f"(batch_size=5000); baseline process (imports + settings + keyring + engine + one "
        f"query) peak RSS {Spread.of(baselines).median:.1f} MiB"
    )
    return figures


def _export_figures(
    size: str,
    plain: dict[str, list[dict[str, Any]]],
    traced: dict[str, list[dict[str, Any]]],
    baselines: list[float],
) -> list[Figure]:
    name = f"privacy export, {size}"
    labels = ("batch 500", "batch 5000")
    small, large = plain["small"], plain["large"]
    figures = [
        Figure(name, "time", "s", *labels, _values(small, "seconds"), _values(large, "seconds")),
        Figure(
            name,
            "CPU time of the job process",
            "s",
            *labels,
            _values(small, "cpu_seconds"),
            _values(large, "cpu_seconds"),
        ),
        Figure(
            name,
            "peak RSS",
            "MiB",
            *labels,
            _values(small, "peak_rss_mib"),
            _values(large, "peak_rss_mib"),
        ),
        Figure(
            name,
            "peak RSS over baseline process",
            "MiB",
            *labels,
            _over(small, baselines),
            _over(large, baselines),
        ),
        Figure(
            name,
            "Python heap peak (tracemalloc)",
            "MiB",
            *labels,
            _values(traced["small"], "heap_peak_mib"),
            _values(traced["large"], "heap_peak_mib"),
        ),
        Figure(
            name,
            "archive size",
            "MiB",
            *labels,
            _values(small, "archive_bytes", 1 / 2**20),
            _values(large, "archive_bytes", 1 / 2**20),
        ),
    ]
    figures[2].notes.append(
        "VmHWM of the job process (/proc/self/status); getrusage ru_maxrss there reads "
        f"{Spread.of(_values(small, 'ru_maxrss_mib')).median:.1f} MiB because Linux carries "
        "it over exec from the spawning bench process, so it is not used"
    )
    rows = sum(small[0]["rows"].values())
    seconds = Spread.of(figures[0].a_values).median
    figures[0].notes.append(f"{rows:,} rows exported; {rows / seconds:,.0f} rows/s at batch 500")
    figures[5].notes.append(
        f"ZIP (deflate) of data.json + README.md; rows per section {small[0]['rows']}"
    )
    return figures


def _erasure_figures(
    size: str,
    first: dict[str, Any],
    again: dict[str, Any],
    again_traced: dict[str, Any],
    baseline: float,
) -> list[Figure]:
    name = f"privacy erasure, {size}"
    labels = ("first run", "re-run (idempotent)")

    def pair(key: str) -> tuple[list[float], list[float]]:
        return [float(first[key])], [float(again[key])]

    rows_first, rows_again = sum(first["rows"].values()), sum(again["rows"].values())
    figures = [
        Figure(name, "time", "s", *labels, *pair("seconds")),
        Figure(name, "CPU time of the job process", "s", *labels, *pair("cpu_seconds")),
        Figure(name, "peak RSS", "MiB", *labels, *pair("peak_rss_mib")),
        Figure(
            name,
            "peak RSS over baseline process",
            "MiB",
            *labels,
            [first["peak_rss_mib"] - baseline],
            [again["peak_rss_mib"] - baseline],
        ),
        Figure(
            name,
            "Python heap peak (tracemalloc)",
            "MiB",
            *labels,
            [math.nan],
            [float(again_traced["heap_peak_mib"])],
        ),
        Figure(name, "rows touched", "rows", *labels, [rows_first], [rows_again]),
    ]
    figures[0].notes.append(
        "one erasure per database (it is destructive); the re-run is what a restore from "
        "backup or an interrupted job runs again: the same statements, no data key left"
    )
    figures[4].notes.append(
        "measured on a traced re-run (the first run cannot be repeated); heap of the same "
        "statements over the same rows"
    )
    figures[5].notes.append(f"per step, first run: {first['rows']}")
    return figures
