"""Restore time of a TemporalStore timeline and a StateProjector stream at their head, against
growing history: the full restore (every version and every delta read, as a start did before)
beside the restore at the head (the versions since the nearest snapshot, and the deltas after
the stream's latest snapshot; `RestoringRecorder`).

For each size N it fills a fresh database on its own ``spacetimedb-standalone``: N versions of
timeline ``main`` (the client pipelines ``commit_state_version`` calls built by the plugin's
`VersionCommitter.call`, a snapshot when the module's interval makes one due) and N deltas of
stream ``main`` (the plugin's recorder writes the first, and so the anchor; the client
pipelines the rest), then has the plugin's recorder write a stream snapshot as a following
runtime does (`InnerUniverseRecorder.write_stream_snapshot`) at the last multiple of the
interval that leaves at least ``interval - 1`` deltas after it (a following runtime leaves at
most that many). A fresh child process then times both restores, counting the rows
its queries returned, and checks that they give the same state, history and next index (it
fails the run otherwise). Nothing else runs in that database, so the figures are the reads and
the rebuilding alone. It prints a table; it asserts nothing about speed.

    .venv/bin/python benchmarks/restore.py [--sizes 1000 10000 50000] [--json FILE] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs
from rich.console import Console
from rich.table import Table

from benchmarks.compare import BenchmarkError, Database, in_child, spacetime_server
from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection
from nerv_inner_universe.delta import Set
from nerv_inner_universe.nerv import (
    DeltaMetadata,
    LogState,
    StateProjector,
    TemporalStore,
    VersionedState,
)
from nerv_inner_universe.plugin import InnerUniverseRecorder, PluginSettings, streams, translate
from nerv_inner_universe.plugin.reader import Reader, decode_deltas
from nerv_inner_universe.plugin.versions import VersionCommitter

TIMELINE = STREAM = "main"
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
class Restores:
    """Both restores of one database: versions and deltas, full and at the head."""

    size: int
    versions_full: Timed
    versions_head: Timed
    deltas_full: Timed
    deltas_head: Timed


def settings(db: Database) -> PluginSettings:
    section = {"url": db.url, "database": db.name, "token": db.token, "follow_remote": False}
    return PluginSettings.from_config({"nerv": {"inner_universe": section}})


async def pipelined(db: Database, calls: Sequence[contract.ReducerCall]) -> None:
    """Sends ``calls`` in order over one connection, `IN_FLIGHT` at a time."""
    async with DbConnection(db.url, db.name, token=db.token, call_timeout=300) as connection:
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def send(call: contract.ReducerCall) -> None:
            try:
                await call.send(connection)
            finally:
                slots.release()

        async with asyncio.TaskGroup() as group:
            for call in calls:
                await slots.acquire()
                group.create_task(send(call))


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


def delta(n: int) -> tuple[DeltaMetadata, list[Set]]:
    return DeltaMetadata(description=f"d{n}", timestamp=time.time(), index=n), [
        Set(f"/k{n % 100}", n)
    ]


def fill(db: Database, size: int, interval: int) -> None:
    """``size`` versions and deltas, and the stream snapshot a follower would write last."""
    asyncio.run(pipelined(db, version_calls(size, interval)))
    recorder = InnerUniverseRecorder(settings(db))
    try:
        recorder.record_delta(STREAM, 0, *delta(0))  # commits the stream's anchor first
        calls = []
        for n in range(1, size):
            metadata, operations = delta(n)
            calls.append(
                contract.record_delta(
                    delta_id=streams.delta_id(STREAM, n, "bench"),
                    stream=STREAM,
                    state_version_id=streams.anchor_version(STREAM),
                    occurred_at=translate.timestamp(metadata.timestamp, "delta timestamp"),
                    operations=translate.operations(operations),
                    metadata=translate.delta_metadata_input(metadata),
                )
            )
        asyncio.run(pipelined(db, calls))
        covered = max(0, size - interval + 1) // interval * interval
        if covered:
            rows = asyncio.run(delta_rows(db))[:covered]
            projector = StateProjector({})
            projector.restore(decode_deltas(STREAM, rows).deltas)
            point = LogState(projector.get_current_state(), int(rows[-1].seq), covered)
            recorder.write_stream_snapshot(STREAM, point)
        recorder.flush()
    finally:
        recorder.close()


async def delta_rows(db: Database) -> list[Any]:
    async with DbConnection(db.url, db.name, token=db.token, call_timeout=300) as connection:
        return await Reader(connection).delta_rows(STREAM)


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
        full_projector, head_projector = StateProjector({}), StateProjector({})

        def versions_full() -> None:
            full_store.restore([v for v, _ in recorder.read_versions(TIMELINE)])

        def versions_head() -> None:
            tail = recorder.read_version_tail(TIMELINE)
            head_store.restore(tail.versions, earlier=tail.earlier)

        def deltas_full() -> None:
            full_projector.restore(recorder.read_deltas(STREAM))

        def deltas_head() -> None:
            tail = recorder.read_delta_tail(STREAM)
            head_projector.restore(tail.deltas, snapshot=tail.snapshot, position=tail.position)

        _, v_full = timed(versions_full, rows)
        _, v_head = timed(versions_head, rows)
        _, d_full = timed(deltas_full, rows)
        _, d_head = timed(deltas_head, rows)
        checks = {
            "state": head_store.get() == full_store.get(),
            "head": head_store.get_current_version_id() == full_store.get_current_version_id(),
            "projector state": head_projector.get_current_state()
            == full_projector.get_current_state(),
            "history": head_store.get_history() == full_store.get_history(),
            "delta history": head_projector.get_delta_history()
            == full_projector.get_delta_history(),
            "next index": head_projector.apply_delta({}) == full_projector.apply_delta({}) == size,
        }
        differ = [name for name, same in checks.items() if not same]
        if differ:
            raise BenchmarkError(f"restoring {size} at the head differs in {differ}")
    finally:
        recorder.close()
    return Restores(size, v_full, v_head, d_full, d_head)


def report(results: Sequence[Restores], console: Console) -> None:
    table = Table(title="restore of a timeline and a stream at their head")
    table.add_column("what", no_wrap=True)
    for column in ("history", "full s", "full CPU s", "full rows"):
        table.add_column(column, justify="right")
    for column in ("at head s", "at head CPU s", "at head rows"):
        table.add_column(column, justify="right")
    for result in results:
        for what, full, head in (
            ("versions", result.versions_full, result.versions_head),
            ("deltas", result.deltas_full, result.deltas_head),
        ):
            table.add_row(
                what,
                f"{result.size:,}",
                f"{full.seconds:.3f}",
                f"{full.cpu_seconds:.3f}",
                f"{full.rows:,}",
                f"{head.seconds:.3f}",
                f"{head.cpu_seconds:.3f}",
                f"{head.rows:,}",
            )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: proves it works")
    args = parser.parse_args(argv)
    sizes: list[int] = [120, 240] if args.smoke else args.sizes
    console = Console()
    load = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory() as tmp, spacetime_server(Path(tmp)) as spacetime:
        interval = contract.DEFAULT_SNAPSHOT_INTERVAL
        for size in sizes:
            db = spacetime.database(f"restore-{size}")
            started = time.perf_counter()
            fill(db, size, interval)
            console.print(
                f"filled {size:,} versions and deltas in {time.perf_counter() - started:.1f} s"
            )
            results.append(in_child(measure, db, size, interval))
            console.print(f"measured {size:,}")
    report(results, console)
    console.print(f"load average before {load}, after {os.getloadavg()}")
    if args.json is not None:
        args.json.write_text(json.dumps([attrs.asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
