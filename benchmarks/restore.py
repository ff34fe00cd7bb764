"""Restore time of a TemporalStore timeline and of a StateProjector stream at their heads,
against growing history: the full restore (every version or delta read, as a start did before)
beside the restore at the head (the versions since the nearest snapshot,
`RestoringRecorder.read_version_tail`; the deltas since the module's checkpoint of the stream,
`RestoringRecorder.read_delta_tail`).

For each size N it fills a fresh database on its own ``spacetimedb-standalone`` with N versions
of timeline ``main`` and N deltas of projector stream ``main`` (the client pipelines
``commit_state_version`` calls built by the plugin's `VersionCommitter.call`, a snapshot when
the module's interval makes one due, and ``record_delta`` calls built by `recorder.delta_call`).
A fresh child process then times each restore, counting the rows its queries returned, and
checks that both restores give the same state, head and history (it fails the run otherwise).
Nothing else runs in that database, so the figures are the reads and the rebuilding alone.
Recording the deltas is timed too, one call awaited at a time (wall time, the reducer time the
server reported summed over the ``record_delta`` calls, and the server process's CPU seconds):
it includes the module's checkpoint upkeep. ``--state-kib K`` makes the stream's first delta
add a K KiB text member, so every later delta builds on a state that large (the checkpoint's
state with it). It prints three tables; it asserts nothing about speed.

    .venv/bin/python benchmarks/restore.py [--sizes 1000 10000 50000] [--interval 50]
        [--state-kib 0] [--json FILE] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs
from rich.console import Console
from rich.table import Table

from benchmarks.arguments import json_destination
from benchmarks.compare import (
    BenchmarkError,
    Database,
    in_child,
    process_cpu_seconds,
    spacetime_server,
)
from benchmarks.process import guarded
from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection, SpacetimeError
from nerv_inner_universe.delta import Patch
from nerv_inner_universe.nerv import DeltaMetadata, StateProjector, TemporalStore, VersionedState
from nerv_inner_universe.plugin import InnerUniverseRecorder, PluginSettings, streams
from nerv_inner_universe.plugin.recorder import delta_call, stream_anchor
from nerv_inner_universe.plugin.versions import VersionCommitter

TIMELINE = "main"
STREAM = "main"
WRITER = "bench0"
"""The writer tag the filled deltas are stored under (`streams.delta_id`)."""
IN_FLIGHT = 64
"""Calls the client keeps in flight while filling a database (one connection runs them in
order, so a version's parent is always committed before it)."""
R = TypeVar("R")


@attrs.frozen
class Timed:
    seconds: float
    cpu_seconds: float
    rows: int


@attrs.frozen
class Recorded:
    """Recording a stream's deltas: wall seconds, the reducer seconds the server reported
    (summed over the calls) and the server process's CPU seconds."""

    deltas: int
    seconds: float
    reducer_seconds: float
    server_cpu_seconds: float


@attrs.frozen
class Restores:
    """Both restores of one database's timeline and of its projector stream: full and at the
    head; and what recording the stream's deltas took (None until `fill`'s figure is added)."""

    size: int
    full: Timed
    head: Timed
    deltas_full: Timed
    deltas_head: Timed
    recorded: Recorded | None = None


def settings(db: Database) -> PluginSettings:
    section = {"url": db.url, "database": db.name, "token": db.token, "follow_remote": False}
    return PluginSettings.from_config({"nerv": {"inner_universe": section}})


async def pipelined(
    db: Database, calls: Sequence[contract.ReducerCall], in_flight: int = IN_FLIGHT
) -> float:
    """Sends ``calls`` in order over one connection, ``in_flight`` at a time; returns the
    reducer seconds the server reported, summed over them (only calls awaited one at a time
    get their own figure: with many in flight, the server reports next to nothing)."""
    reducer_seconds = 0.0
    async with DbConnection(db.url, db.name, token=db.token, call_timeout=300) as connection:
        slots = asyncio.Semaphore(in_flight)

        async def send(call: contract.ReducerCall) -> None:
            nonlocal reducer_seconds
            try:
                reducer_seconds += (await call.send(connection)).duration.seconds
            finally:
                slots.release()

        async with asyncio.TaskGroup() as group:
            for call in calls:
                await slots.acquire()
                group.create_task(send(call))
    return reducer_seconds


def version_calls(count: int, interval: int) -> list[contract.ReducerCall]:
    """``count`` versions of a small state, committed in a TemporalStore to get their ids,
    hashes and operations, as the plugin would send them."""
    store = TemporalStore(interval)
    told: list[tuple[VersionedState, list[Any]]] = []
    store.add_observer(lambda version, operations: told.append((version, operations)))
    for n in range(count):
        store.commit({"n": n, "items": list(range(n % 20)), "note": f"version {n}"}, f"v{n}")
    calls = []
    for n, (version, operations) in enumerate(told):
        due = contract.snapshot_required(n > 0, (n - 1) % interval if n else 0, interval)
        calls.append(VersionCommitter.call(TIMELINE, version, operations, snapshot=due))
    return calls


def anchor_call() -> contract.ReducerCall:
    """The root version the stream's deltas are recorded on, as the plugin sends it."""
    return VersionCommitter.call(
        streams.anchor_timeline(STREAM), stream_anchor(STREAM), [], snapshot=True
    )


def delta_calls(count: int, state_kib: int = 0) -> list[contract.ReducerCall]:
    """``count`` small root patches, as the plugin sends them; with ``state_kib``, the first
    one also adds a ``pad`` member of that many KiB of text."""
    calls = []
    for n in range(count):
        metadata = DeltaMetadata(description=f"d{n}", timestamp=1.0 + n, index=n)
        members: dict[str, Any] = {f"k{n % 50}": n, "items": list(range(n % 20))}
        if n == 0 and state_kib:
            members["pad"] = "x" * (state_kib * 1024)
        calls.append(delta_call(STREAM, n, WRITER, metadata, [Patch("", members)]))
    return calls


def fill(db: Database, size: int, interval: int, state_kib: int = 0) -> Recorded:
    """The module's ``snapshot_interval`` set to ``interval`` (the database's owner is its
    admin), then ``size`` versions of timeline ``main`` and ``size`` deltas of stream
    ``main`` (see `delta_calls`, each awaited before the next is sent); returns what recording
    the deltas took."""
    setting = contract.update_config(key="snapshot_interval", value=str(interval), description=None)
    asyncio.run(pipelined(db, [setting, *version_calls(size, interval), anchor_call()]))
    calls = delta_calls(size, state_kib)
    server_started = process_cpu_seconds(db.server_pid)
    started = time.perf_counter()
    reducer_seconds = asyncio.run(pipelined(db, calls, in_flight=1))
    seconds = time.perf_counter() - started
    server_cpu = process_cpu_seconds(db.server_pid) - server_started
    return Recorded(size, seconds, reducer_seconds, server_cpu)


class RowCounter:
    """Counts the rows every one-off query of this process returns (the child process of
    `measure` is its own, so the client's method is wrapped there alone)."""

    def __init__(self) -> None:
        self.rows = 0
        query = DbConnection.one_off_query

        async def counted(connection: DbConnection, text: str, **options: Any) -> Any:
            results = await query(connection, text, **options)
            self.rows += sum(len(result.rows) for result in results)
            return results

        DbConnection.one_off_query = counted  # type: ignore[method-assign,assignment]

    def __call__(self) -> int:
        return self.rows


def timed(work: Callable[[], R], rows: Callable[[], int]) -> tuple[R, Timed]:
    before = rows()
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return result, Timed(seconds, cpu_seconds, rows() - before)


def measure(db: Database, size: int, interval: int) -> Restores:
    """Runs in a fresh child process: both restores, timed, then compared."""
    rows = RowCounter()
    recorder = InnerUniverseRecorder(settings(db))
    try:
        full_store, head_store = TemporalStore(interval), TemporalStore(interval)

        def versions_full() -> None:
            full_store.restore([v for v, _ in recorder.read_versions(TIMELINE)])

        def versions_head() -> None:
            tail = recorder.read_version_tail(TIMELINE)
            head_store.restore(tail.versions, earlier=tail.earlier)

        _, full = timed(versions_full, rows)
        _, head = timed(versions_head, rows)
        checks = {
            "state": head_store.get() == full_store.get(),
            "head": head_store.get_current_version_id() == full_store.get_current_version_id(),
            "history": head_store.get_history() == full_store.get_history(),
        }
        full_projector, head_projector = StateProjector({}), StateProjector({})

        def deltas_full() -> None:
            full_projector.restore(recorder.read_recorded_deltas(STREAM))

        def deltas_head() -> None:
            tail = recorder.read_delta_tail(STREAM)
            head_projector.restore(tail.deltas, checkpoint=tail.checkpoint, earlier=tail.earlier)

        _, projector_full = timed(deltas_full, rows)
        _, projector_head = timed(deltas_head, rows)
        checks |= {
            "projector state": head_projector.get_current_state()
            == full_projector.get_current_state(),
            "projector history": head_projector.get_delta_history()
            == full_projector.get_delta_history(),
        }
        differ = [name for name, same in checks.items() if not same]
        if differ:
            raise BenchmarkError(f"restoring {size} at the head differs in {differ}")
    finally:
        recorder.close()
    return Restores(size, full, head, projector_full, projector_head)


def report_recording(results: Sequence[Restores], console: Console) -> None:
    table = Table(title="recording a projector stream's deltas (record_delta, one at a time)")
    for column in ("deltas", "s", "deltas/s", "server reducer s", "µs per delta", "server CPU s"):
        table.add_column(column, justify="right")
    for result in results:
        recorded = result.recorded
        if recorded is None:
            continue
        table.add_row(
            f"{recorded.deltas:,}",
            f"{recorded.seconds:.3f}",
            f"{recorded.deltas / recorded.seconds:,.0f}",
            f"{recorded.reducer_seconds:.3f}",
            f"{recorded.reducer_seconds / recorded.deltas * 1e6:,.0f}",
            f"{recorded.server_cpu_seconds:.2f}",
        )
    console.print(table)


def report(results: Sequence[Restores], console: Console) -> None:
    sides: dict[str, Callable[[Restores], tuple[Timed, Timed]]] = {
        "restore of a timeline at its head": lambda r: (r.full, r.head),
        "restore of a projector stream at its head": lambda r: (r.deltas_full, r.deltas_head),
    }
    for title, pick in sides.items():
        table = Table(title=title)
        for column in ("history", "full s", "full CPU s", "full rows"):
            table.add_column(column, justify="right")
        for column in ("at head s", "at head CPU s", "at head rows"):
            table.add_column(column, justify="right")
        for result in results:
            full, head = pick(result)
            table.add_row(
                f"{result.size:,}",
                f"{full.seconds:.3f}",
                f"{full.cpu_seconds:.3f}",
                f"{full.rows:,}",
                f"{head.seconds:.3f}",
                f"{head.cpu_seconds:.3f}",
                f"{head.rows:,}",
            )
        console.print(table)


MAX_STATE_KIB = 4_000
"""``--state-kib``'s most: the module takes at most 4 MiB of JSON per value."""


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return guarded(lambda: run_and_report(args), BenchmarkError, SpacetimeError)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    parser.add_argument("--json", type=json_destination, help="also write the figures here")
    parser.add_argument(
        "--interval",
        type=int,
        default=contract.DEFAULT_SNAPSHOT_INTERVAL,
        help="the module's snapshot_interval (1 to 10,000; past reader.WALK_BACK_LIMIT versions "
        "since the last snapshot, the restore at the head reads the timeline in one query)",
    )
    parser.add_argument(
        "--state-kib",
        type=int,
        default=0,
        help="the stream's first delta adds a member of this many KiB of text (0: none)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: proves it works")
    args = parser.parse_args(argv)
    if min(args.sizes) < 1:
        parser.error("--sizes must be positive")
    if not 1 <= args.interval <= contract.MAX_SNAPSHOT_INTERVAL:
        parser.error(f"--interval is 1 to {contract.MAX_SNAPSHOT_INTERVAL:,}")
    if not 0 <= args.state_kib <= MAX_STATE_KIB:
        parser.error(f"--state-kib is 0 to {MAX_STATE_KIB:,}")
    return args


def run_and_report(args: argparse.Namespace) -> int:
    """Fills and measures the sizes ``args`` ask for and prints the figures; 0, or what the
    run raises."""
    sizes: list[int] = [120, 240] if args.smoke else args.sizes
    console = Console()
    load = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory() as tmp, spacetime_server(Path(tmp)) as spacetime:
        interval = args.interval
        for size in sizes:
            db = spacetime.database(f"restore-{size}")
            started = time.perf_counter()
            recorded = fill(db, size, interval, args.state_kib)
            console.print(
                f"filled {size:,} versions and deltas in {time.perf_counter() - started:.1f} s"
            )
            restores = in_child(measure, db, size, interval)
            results.append(attrs.evolve(restores, recorded=recorded))
            console.print(f"measured {size:,}")
    report(results, console)
    report_recording(results, console)
    console.print(f"load average before {load}, after {os.getloadavg()}")
    if args.json is not None:
        args.json.write_text(json.dumps([attrs.asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
