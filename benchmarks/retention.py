"""What the writer's retention costs, without a server: bytes per retained event and the
writer's CPU per event.

Events as `compare.py` publishes them (NERV events of data ``{"n": n, "payload": "x" * 64}``,
translated by `translate.event_input` as the recorder does) are queued to an `OrderedWriter`
with the plugin's default batching, whose connection acknowledges every call at once and
whose clock stands still, so every acknowledged event stays retained. Printed:

- the bytes a retained event takes: what the Python heap holds (``tracemalloc``) once the
  writer has drained, divided by the events, beside the writer's own estimate
  (`WriterHealth.retained_bytes`), beside what the same events take as the objects the
  recorder queues (an `EventInput` and a `Write` each, which is what the writer kept per event
  before it packed acknowledged batches);
- how many seconds of the given pace the default ``durability_retain`` and
  ``durability_retain_bytes`` hold at that size;
- the writer's CPU per event (queue, batch, acknowledge, keep; ``time.process_time``, best of
  three), which a loaded machine stretches far less than wall time.

    .venv/bin/python benchmarks/retention.py [--events 100000] [--pace 15000]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Sequence
from typing import cast

from nerv_inner_universe.client import ReducerEvent
from nerv_inner_universe.nerv import Event
from nerv_inner_universe.plugin import translate
from nerv_inner_universe.plugin.loop import LoopThread
from nerv_inner_universe.plugin.settings import PluginSettings
from nerv_inner_universe.plugin.writer import OrderedWriter, Write, write_budget

EVENT_TYPE = "bench.event"
"""As `compare.py` names it."""


class Acknowledging:
    """A connection that acknowledges every call at once (the writer does not read the
    outcome)."""

    async def call_reducer(self, reducer: str, *args: object) -> ReducerEvent:
        return cast(ReducerEvent, None)


def event_write(n: int) -> Write:
    """Event ``n`` as the recorder queues it in ``"async"`` mode."""
    event = Event.create(EVENT_TYPE, {"n": n, "payload": "x" * 64})
    return Write.of_event(translate.event_input(event), None)


def writer(loop: LoopThread) -> OrderedWriter:
    """The plugin's default batching; nothing ages out and nothing waits for room."""
    settings = PluginSettings()
    return OrderedWriter(
        Acknowledging(),
        loop,
        queue_size=settings.queue_size,
        batch_size=settings.batch_size,
        batch_bytes=write_budget(settings.max_message_bytes),
        retry_for=settings.retry_for,
        durability_window=settings.durability_window,
        durability_retain=1 << 62,
        durability_retain_bytes=1 << 62,
        clock=lambda: 0.0,
    )


def retained_bytes(events: int) -> tuple[float, float]:
    """(heap bytes, the writer's estimate) per retained event."""
    loop = LoopThread("retention-bench")
    try:
        tested = writer(loop)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for n in range(events):
            tested.queue(event_write(n))
        tested.barrier().result()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        health = tested.health()
        assert health.retained == events, health
        tested.stop()
    finally:
        loop.stop()
    return held / events, health.retained_bytes / events


def object_bytes(events: int) -> float:
    """Heap bytes per event of the recorder's queued writes (an `EventInput` and a `Write`)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    writes = [event_write(n) for n in range(events)]
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(writes) == events
    return held / events


def cpu_per_event(events: int) -> float:
    """The writer's CPU seconds per event, best of three (the writes are made beforehand)."""
    best = float("inf")
    for _ in range(3):
        writes = [event_write(n) for n in range(events)]
        loop = LoopThread("retention-bench")
        try:
            tested = writer(loop)
            started = time.process_time()
            for write in writes:
                tested.queue(write)
            tested.barrier().result()
            best = min(best, time.process_time() - started)
            tested.stop()
        finally:
            loop.stop()
    return best / events


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--pace", type=int, default=15_000, help="events/s the writer keeps up")
    args = parser.parse_args(argv)
    if args.events < 1 or args.pace < 1:
        parser.error("--events and --pace must be positive")
    heap, estimate = retained_bytes(args.events)
    objects = object_bytes(args.events)
    cpu = cpu_per_event(args.events)
    defaults = PluginSettings()
    held = min(defaults.durability_retain, defaults.durability_retain_bytes / estimate)
    print(f"retained event: {heap:,.0f} bytes on the heap (writer's estimate {estimate:,.0f})")
    print(f"the same event as queued objects (EventInput + Write): {objects:,.0f} bytes")
    print(
        f"defaults (durability_retain {defaults.durability_retain:,}, durability_retain_bytes "
        f"{defaults.durability_retain_bytes:,}) hold {held:,.0f} such events: "
        f"{held / args.pace:.1f} s at {args.pace:,} events/s"
    )
    print(f"writer CPU: {cpu * 1e6:.1f} us per event ({1 / cpu:,.0f} events per CPU second)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
