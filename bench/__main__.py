"""``python -m bench run [--quick] [--db sqlite|postgresql]``: see bench/README.md."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.plan import FULL, QUICK
from bench.report import RESULTS_DIR
from bench.scenarios import SCENARIOS
from bench.suite import Backend, run_suite
from bench.wrk import WrkMissing

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description="OpenDesk benchmarks")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the suite against freshly started servers")
    run.add_argument("--quick", action="store_true", help="short rounds (about 6 minutes)")
    run.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    run.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="server URL used to create (and drop) a fresh database; must be on 127.0.0.1",
    )
    run.add_argument(
        "--only",
        action="append",
        choices=[scenario.__name__ for scenario in SCENARIOS],
        help="run only this scenario (repeatable)",
    )
    run.add_argument("--results-dir", type=Path, help="where the JSON goes (bench/results/)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.db == "postgresql" and "@127.0.0.1" not in arguments.postgres_url:
        print("bench: traffic stays on 127.0.0.1; use a PostgreSQL server there", file=sys.stderr)
        return 2
    try:
        run_suite(
            QUICK if arguments.quick else FULL,
            Backend(database_kind=arguments.db, postgres_url=arguments.postgres_url),
            only=arguments.only or (),
            results_dir=arguments.results_dir or RESULTS_DIR,
        )
    except WrkMissing as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
