"""The `eventsourcing` library's own ``test_performance`` cases, run in one go against this
package's persistence module (``nerv_inner_universe.eventsourcing_module``) and the library's
SQLite (a file) and PostgreSQL modules, on one machine.

Each case inserts one event per call, 10 times to warm up (not for the process recorder,
whose case has no warm-up), then 100 times, and prints microseconds per insert; this script
runs the library's case classes unchanged, reads the figure they print and shows the three
modules side by side. Every case gets fresh tables (SQLite: a new file; PostgreSQL: a new
database; Inner Universe: a new store prefix in one database). The servers are private: a
``spacetimedb-standalone`` started with `compare.spacetime_server` and a PostgreSQL started
with `compare.postgres_server` (installed with apt-get when missing and run as root); both
are stopped afterwards. A failing case fails the run (exit 1).

    .venv/bin/python -m benchmarks.eventsourcing_performance [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sqlite3
import sys
import tempfile
import unittest
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, redirect_stdout
from pathlib import Path
from statistics import median
from typing import Any

from eventsourcing.persistence import InfrastructureFactory, Recorder
from eventsourcing.tests import persistence as cases
from eventsourcing.utils import Environment
from rich.console import Console

from benchmarks.compare import BenchmarkError, postgres_server, spacetime_server, sqlite_env
from nerv_inner_universe import log

CASES: dict[str, tuple[type[unittest.TestCase], str]] = {
    "aggregate recorder": (cases.AggregateRecorderTestCase, "aggregate_recorder"),
    "application recorder": (cases.ApplicationRecorderTestCase, "application_recorder"),
    "process recorder": (cases.ProcessRecorderTestCase, "process_recorder"),
}
"""The library's case class with a ``test_performance`` -> the factory method it needs."""

FIGURE = re.compile(r"([0-9.]+) μs per insert")

EnvMaker = Callable[[], dict[str, str]]


def run_case(case: type[unittest.TestCase], make: str, env: dict[str, str]) -> float:
    """Runs ``case.test_performance`` with recorders from ``env``'s factory; returns the
    microseconds per insert it printed."""
    factory = InfrastructureFactory.construct(Environment(env=env))

    def create_recorder(_: Any) -> Recorder:
        recorder: Recorder = getattr(factory, make)()
        return recorder

    concrete = type(f"Measured{case.__name__}", (case,), {"create_recorder": create_recorder})
    printed = io.StringIO()
    result = unittest.TestResult()
    try:
        with redirect_stdout(printed):
            concrete("test_performance").run(result)
    finally:
        factory.close()
    for _, trace in [*result.errors, *result.failures]:
        raise BenchmarkError(f"{case.__name__}.test_performance failed:\n{trace}")
    found = FIGURE.search(printed.getvalue())
    if found is None:
        raise BenchmarkError(f"{case.__name__} printed no figure: {printed.getvalue()!r}")
    return float(found.group(1))


def modules(stack: ExitStack, console: Console, tmp: Path) -> Iterator[tuple[str, EnvMaker]]:
    """(name, a function giving a fresh environment) for the three persistence modules."""
    spacetime = stack.enter_context(spacetime_server(tmp / "spacetime"))
    database = spacetime.database(f"es-bench-{uuid.uuid4().hex[:8]}")

    def inner_universe() -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "nerv_inner_universe.eventsourcing_module",
            "SPACETIMEDB_URL": database.url,
            "SPACETIMEDB_DATABASE": database.name,
            "SPACETIMEDB_TOKEN": database.token,
            "SPACETIMEDB_STORE_PREFIX": f"b{uuid.uuid4().hex[:12]}-",
        }

    yield "Inner Universe (SpacetimeDB 1.2.0)", inner_universe
    yield (
        f"SQLite {sqlite3.sqlite_version} (file)",
        lambda: sqlite_env(tmp / f"{uuid.uuid4().hex}.sqlite"),
    )
    postgres = stack.enter_context(postgres_server(console))
    version = re.search(r"[0-9]+\.[0-9]+", postgres.version)
    yield (
        f"PostgreSQL {version.group(0) if version else postgres.version}",
        lambda: postgres.create_database(f"b{uuid.uuid4().hex[:12]}"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat", type=int, default=5, help="runs of each case; the median is shown"
    )
    args = parser.parse_args(argv)
    log.configure("warning")
    console = Console(stderr=True)
    figures: dict[str, dict[str, float]] = {}
    try:
        with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
            for name, make_env in modules(stack, console, Path(tmp)):
                for label, (case, make) in CASES.items():
                    runs = [run_case(case, make, make_env()) for _ in range(args.repeat)]
                    figures.setdefault(label, {})[name] = median(runs)
                    console.log(f"{name}, {label}: {', '.join(f'{r:.0f}' for r in runs)} μs")
    except BenchmarkError as error:
        console.print(f"[red]{error}[/red]")
        return 1
    names = list(next(iter(figures.values())))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"`test_performance`, μs per insert (median of {args.repeat} runs), "
        f"{os.cpu_count()} cores, load average {load}:"
    )
    print()
    print("| case | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    for label, by_module in figures.items():
        print(f"| {label} | " + " | ".join(f"{by_module[n]:,.0f}" for n in names) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
