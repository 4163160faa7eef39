"""One run of the suite: fresh database → seed → servers → scenarios → table + JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.comparator import comparator_command
from bench.context import Bench, Placement
from bench.documents import hostile_documents, normal_documents
from bench.plan import Plan
from bench.product_server import PRINCIPAL_VARIABLE, serve_command, serve_environment
from bench.report import RESULTS_DIR, machine, table, write_json
from bench.scenarios import SCENARIOS, Scenario
from bench.servers import (
    Server,
    free_port,
    fresh_database,
    migrate_and_seed,
    server_environment,
    start_server,
)
from bench.stats import Figure
from bench.wrk import Wrk, WrkMissing, find_wrk

SHARED_MACHINE_NOTE = (
    "measured on a shared machine (other engineers' test suites may run at the same "
    "time); A/B rounds are interleaved so drift widens the ranges instead of biasing "
    "one side"
)


def ensure_wrk() -> str:
    """wrk's path; installs it from Debian packages when missing and running as root."""
    try:
        return find_wrk()
    except WrkMissing:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise
    progress("wrk missing: apt-get install -y wrk")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=False)
        subprocess.run(install, capture_output=True, check=False)
    return find_wrk()


def choose_placement() -> Placement:
    """Generator on the first usable CPU, servers on the second, when taskset exists."""
    cpus = sorted(os.sched_getaffinity(0))
    if shutil.which("taskset") is None or len(cpus) < 2:
        return Placement(generator=None, server=None, all_cpus=None)
    return Placement(
        generator=str(cpus[0]), server=str(cpus[1]), all_cpus=",".join(str(c) for c in cpus)
    )


_STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"[bench {time.monotonic() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True, slots=True)
class Backend:
    """What to run against: the database kind, and where a PostgreSQL server listens."""

    database_kind: str
    postgres_url: str


def run_suite(
    plan: Plan, backend: Backend, *, only: Sequence[str] = (), results_dir: Path = RESULTS_DIR
) -> Path:
    """Run the selected scenarios (all by default); prints the table, returns the JSON path.

    Server logs live in a temporary directory, removed after a successful run and kept
    (and named) after a failure.
    """
    ensure_wrk()
    scenarios = [scenario for scenario in SCENARIOS if not only or scenario.__name__ in only]
    placement = choose_placement()
    workdir = Path(tempfile.mkdtemp(prefix="opendesk-bench-"))
    began = datetime.now(UTC)
    context: dict[str, Any] = {
        "date": began.isoformat(timespec="seconds"),
        "database": backend.database_kind,
        "plan": dataclasses.asdict(plan),
        "placement": dataclasses.asdict(placement),
        "machine": machine(),
        "notes": [SHARED_MACHINE_NOTE],
    }
    try:
        figures, seed = _measure(plan, backend, placement, workdir, context["notes"], scenarios)
        # The login users' throwaway password stays out of the record.
        login = seed.get("login_users")
        if isinstance(login, dict):
            login = {key: value for key, value in login.items() if key != "password"}
        context["seed"] = {**seed, "login_users": login}
    except BaseException:
        progress(f"failed; server logs kept in {workdir}")
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    context["duration_seconds"] = round((datetime.now(UTC) - began).total_seconds())
    context["load_average_at_end"] = _load_average()
    print(_header(context))
    print(table(figures))
    print("\nrun notes:\n" + "\n".join(f"- {note}" for note in context["notes"]))
    path = write_json(figures, context=context, directory=results_dir)
    print(f"\nJSON: {path}")
    return path


def _measure(
    plan: Plan,
    backend: Backend,
    placement: Placement,
    workdir: Path,
    notes: list[str],
    scenarios: Sequence[Scenario],
) -> tuple[list[Figure], dict[str, object]]:
    """Fresh database → seed → product and comparator → scenarios; stops what it started."""
    with fresh_database(backend.database_kind, workdir, backend.postgres_url) as database:
        progress(f"migrating and seeding a fresh {backend.database_kind} database")
        seed_summary = migrate_and_seed(server_environment(database, workdir, None))
        environment = server_environment(database, workdir, json.dumps(seed_summary["agent"]))
        base_environment = environment

        def start_product(
            workers: int,
            cpus: str | None,
            *,
            environment: Mapping[str, str] | None = None,
            inject: bool = True,
            name: str | None = None,
        ) -> Server:
            port = free_port()
            name = name or f"product-{workers}w"
            settings = {**base_environment, **(environment or {})}
            if not inject:
                # The product exactly as deployed: no injection directory, no principal.
                settings.pop(PRINCIPAL_VARIABLE, None)
            return start_server(
                name,
                serve_command(port, workers),
                port=port,
                environment=serve_environment(settings) if inject else settings,
                cpus=cpus,
                workers=workers,
                log=workdir / f"{name}.log",
            )

        product = start_product(1, placement.server)
        product.name = "product"
        try:
            comparator_port = free_port()
            comparator = start_server(
                "comparator",
                comparator_command(comparator_port),
                port=comparator_port,
                environment=environment,
                cpus=placement.server,
                log=workdir / "comparator.log",
            )
            try:
                bench = Bench(
                    plan=plan,
                    wrk=Wrk(workdir=workdir, cpus=placement.generator),
                    placement=placement,
                    product=product,
                    comparator=comparator,
                    documents={**normal_documents(), **hostile_documents()},
                    start_product=start_product,
                    notes=notes,
                    seed=seed_summary,
                    database_kind=backend.database_kind,
                    environment=base_environment,
                    postgres_url=backend.postgres_url,
                )
                return _run_scenarios(bench, scenarios), seed_summary
            finally:
                comparator.stop()
        finally:
            product.stop()


def _run_scenarios(bench: Bench, scenarios: Sequence[Scenario]) -> list[Figure]:
    figures: list[Figure] = []
    for scenario in scenarios:
        progress(f"scenario {scenario.__name__}")
        figures.extend(scenario(bench))
    progress("done")
    return figures


def _load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _header(context: dict[str, Any]) -> str:
    plan, machine_info = context["plan"], context["machine"]
    return (
        f"\nOpenDesk bench — {context['date']} — {context['database']} — {plan['name']} "
        f"({plan['rounds']} rounds x {plan['seconds']} s, {plan['connections']} connections)\n"
        f"machine: {machine_info['cpu']}, {machine_info['cpus_usable']} CPUs, "
        f"load {machine_info['load_average']} at start, {context['load_average_at_end']} at end; "
        f"placement {context['placement']}\n"
        "A and B run in alternating order within each round; B/A is the median of the "
        "per-round ratios.\n"
    )
