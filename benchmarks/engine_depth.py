"""What the engine spends per event as the event log grows, and what bounds any client of it.

One database on its own ``spacetimedb-standalone`` is filled with ``--events`` events
``{"n": n, "payload": "x" * 64}`` (``compare.py``'s workload) through the client alone, in
``publish_events`` calls of ``--batch`` events, ``--in-flight`` calls at a time (default 1:
each awaited, as for ``compare.py``'s engine ceiling). For each segment of ``--segment``
events it prints:

- ``log after``: events in the log at the segment's end;
- ``events/s``: the segment's events per wall second;
- ``reducer µs/event``: the reducer time the server reported for the segment's calls (the
  engine ceiling's measure), per event;
- ``server CPU µs/event``: the CPU time of the whole server process (all its threads) meanwhile,
  per event;
- ``busiest thread µs/event``: the CPU time of the server thread that used the most in the
  segment, per event. SpacetimeDB runs a database's reducers and commits on one thread, one
  transaction at a time, so no client gets more events per second from it than one second
  over this figure;
- ``reducer share``: reducer time over the busiest thread's CPU time. A client pipelining
  batches reaches at most this fraction of the engine ceiling (issue 10 asks for 0.70). CPU
  times come from ``/proc`` in clock ticks of 10 ms, so a segment whose busiest thread used
  less than 0.1 s shows ``-`` here (the smoke run's do).

SpacetimeDB 1.2.0 inserts each committed row into its table's pages in the commit, after the
reducer (``CommittedState::merge``, in ``spacetimedb-core``), and finds a page with room for
the row by walking the list of the table's pages that are not full
(``Pages::find_page_with_space_for_row``, in ``spacetimedb-table``). A page whose free gap
still holds a row's fixed part but not its strings stays on that list, so with rows like the
event log's the walk grows with the table: the busiest thread's time per event grows with the
log while the reducer's stays flat. This script shows it; it asserts nothing about speed, and
fails (exit 1) when the log does not end with exactly the events it published.

    .venv/bin/python benchmarks/engine_depth.py [--events 1000000] [--segment 100000]
        [--batch 500] [--in-flight 1] [--json FILE] [--markdown] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import attrs
from rich import box
from rich.console import Console
from rich.table import Table

from benchmarks.arguments import json_destination
from benchmarks.compare import (
    MIN_THREAD_SECONDS,
    BenchmarkError,
    Database,
    ServerUsage,
    event_input,
    expect_count,
    spacetime_server,
)
from benchmarks.process import guarded
from nerv_inner_universe import log
from nerv_inner_universe.client import DbConnection, SpacetimeError


@attrs.frozen
class Segment:
    """One segment's figures: ``events`` published in ``seconds`` (wall), leaving ``log_after``
    events in the log; the reducer seconds the server reported for them, the server process's
    CPU seconds and its busiest thread's CPU seconds meanwhile."""

    log_after: int
    events: int
    seconds: float
    reducer_seconds: float
    server_cpu_seconds: float
    busiest_thread_cpu_seconds: float

    def per_event_us(self, seconds: float) -> float:
        return seconds / self.events * 1e6

    @property
    def reducer_share(self) -> float | None:
        """None when the busiest thread's CPU time is below `MIN_THREAD_SECONDS` (tiny
        segments, whose CPU times are a few clock ticks)."""
        if self.busiest_thread_cpu_seconds < MIN_THREAD_SECONDS:
            return None
        return self.reducer_seconds / self.busiest_thread_cpu_seconds


async def fill(
    db: Database, events: int, *, segment: int, batch: int, in_flight: int, console: Console
) -> list[Segment]:
    """Publishes events ``0 .. events`` in segments of ``segment``, timing each."""
    segments: list[Segment] = []
    async with DbConnection(db.url, db.name, token=db.token, call_timeout=300) as connection:
        for first in range(0, events, segment):
            last = min(first + segment, events)
            numbers = range(first, last)
            segments.append(
                await _segment(db, connection, numbers, batch=batch, in_flight=in_flight)
            )
            done = segments[-1]
            console.print(
                f"{last:,} events in the log: {done.events / done.seconds:,.0f} events/s, "
                f"busiest server thread {done.per_event_us(done.busiest_thread_cpu_seconds):.1f} "
                f"µs/event, reducer share {share(done)}"
            )
    return segments


async def _segment(
    db: Database, connection: DbConnection, numbers: range, *, batch: int, in_flight: int
) -> Segment:
    """Publishes events ``numbers`` and measures them (`Segment`)."""
    slots = asyncio.Semaphore(in_flight)
    reducer_seconds = 0.0

    async def call(chunk: range) -> None:
        nonlocal reducer_seconds
        try:
            inputs = [event_input(n) for n in chunk]
            outcome = await connection.call_reducer("publish_events", inputs)
            reducer_seconds += outcome.duration.seconds
        finally:
            slots.release()

    server_before = ServerUsage.now(db.server_pid)
    started = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            for start in numbers[::batch]:
                await slots.acquire()
                group.create_task(call(range(start, min(start + batch, numbers.stop))))
    except* SpacetimeError as failed:
        raise BenchmarkError(f"a publish_events call failed: {failed.exceptions[0]}") from None
    seconds = time.perf_counter() - started
    server_cpu, busiest = server_before.since()
    return Segment(numbers.stop, len(numbers), seconds, reducer_seconds, server_cpu, busiest)


def share(segment: Segment) -> str:
    value = segment.reducer_share
    return "-" if value is None else f"{value:.2f}"


def report(segments: Sequence[Segment], console: Console, style: box.Box) -> None:
    table = Table(title="engine cost per event as the log grows", box=style)
    columns = ("log after", "events/s", "reducer µs/event", "server CPU µs/event")
    for column in (*columns, "busiest thread µs/event", "reducer share"):
        table.add_column(column, justify="right")
    for s in segments:
        table.add_row(
            f"{s.log_after:,}",
            f"{s.events / s.seconds:,.0f}",
            f"{s.per_event_us(s.reducer_seconds):.1f}",
            f"{s.per_event_us(s.server_cpu_seconds):.1f}",
            f"{s.per_event_us(s.busiest_thread_cpu_seconds):.1f}",
            share(s),
        )
    console.print(table)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, help="events to publish (default 1,000,000)")
    parser.add_argument("--segment", type=int, help="events per segment (default 100,000)")
    parser.add_argument("--batch", type=int, default=500, help="events per publish_events call")
    parser.add_argument("--in-flight", type=int, default=1, help="calls in flight at a time")
    parser.add_argument("--json", type=json_destination, help="also write the figures here")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--smoke", action="store_true", help="2,000 events in segments of 1,000: proves it works"
    )
    args = parser.parse_args(argv)
    if args.smoke and (args.events, args.segment) != (None, None):
        parser.error("--smoke sets the sizes; leave out --events and --segment")
    events, segment = (2_000, 1_000) if args.smoke else (1_000_000, 100_000)
    args.events = events if args.events is None else args.events
    args.segment = segment if args.segment is None else args.segment
    if min(args.events, args.segment, args.batch, args.in_flight) < 1:
        parser.error("--events, --segment, --batch and --in-flight must be positive")
    if args.batch > 1000:
        parser.error("--batch is at most 1000, publish_events' limit per call")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return guarded(lambda: run_and_report(args), BenchmarkError, SpacetimeError)


def run_and_report(args: argparse.Namespace) -> int:
    """Fills the log as ``args`` ask and prints the segments; 0, or what the run raises."""
    log.configure("warning")
    console = Console(stderr=True, log_path=False, width=None if sys.stderr.isatty() else 120)
    load = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, spacetime_server(Path(tmp)) as spacetime:
        db = spacetime.database("engine-depth")
        segments = asyncio.run(
            fill(
                db,
                args.events,
                segment=args.segment,
                batch=args.batch,
                in_flight=args.in_flight,
                console=console,
            )
        )
        expect_count(spacetime, db, args.events)
    out = Console(width=200)
    report(segments, out, box.MARKDOWN if args.markdown else box.HEAVY_HEAD)
    out.print(
        f"batch {args.batch}, {args.in_flight} in flight; {os.cpu_count()} CPUs, load average "
        f"{load[0]:.2f} before and {os.getloadavg()[0]:.2f} after; "
        f"{time.perf_counter() - started:.0f} s"
    )
    if args.json is not None:
        args.json.write_text(json.dumps([attrs.asdict(s) for s in segments], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
