"""Side by side, in one run on one machine: NERV + Inner Universe, the SpacetimeDB client alone,
the engine ceiling, and `eventsourcing` on SQLite and PostgreSQL.

The workload everywhere is N events ``{"n": n, "payload": "x" * 64}`` from one Python process:

- NERV + the plugin with ``events = "async"`` and ``"sync"`` (default settings otherwise), and
  for scale NERV alone, with no plugin (nothing stored: the NERV core's own cost);
- the project's client alone: ``publish_event`` awaited one by one, ``publish_event``
  pipelined, and ``publish_events`` batches pipelined with several in flight; a
  ``publish_event`` the module refuses in its argument checks (it stores nothing) awaited one by
  one on the calling thread; and the wire floor, the same stored calls with the client's Python
  taken out (frames made beforehand, answers not decoded: `wire_floor`), about the least a
  client of this server waits for a sync publish;
- the engine ceiling: the reducer time the server reports for ``publish_events`` batches
  (awaited one by one), as events/s;
- ``eventsourcing`` on a SQLite file and on a private PostgreSQL: one aggregate, one ``save()``
  per event ("sync") and per batch ("batched"), then reading the aggregate back;
- replay on start (a NERV start against a database holding 10k, 100k, 1M events), with a
  subscriber (every event is delivered) and with nothing listening (a start at the head: only
  the events the EventBus keeps something of are read, see `EventBus.replay_window`);
- memory: one long async publish (1M events, default settings, following on): the RSS growth
  from just after the start to the end, and the peak, measured, not extrapolated.

Every scenario runs in a fresh child process, so its RSS growth is its own. The script starts
its own ``spacetimedb-standalone`` (built by ``inner-universe setup``) and its own PostgreSQL
from Debian's ``postgresql`` package (installed with apt-get when missing and run as root) on
private ports and temporary data dirs, and stops both afterwards, also on error. Any failing
path fails the run (exit 1). It asserts nothing about speed: it measures; ratios that miss the
targets of issue 10 are marked (RSS growth per 100k replayed has its target from a replay of
`RSS_TARGET_EVENTS` on: below, a start's fixed cost is most of it). Every connection (the
plugin's and the client's) speaks the binary ``v1.bsatn.spacetimedb`` protocol, the default;
``--protocol json`` runs them all with ``v1.json.spacetimedb`` instead.

    .venv/bin/python benchmarks/compare.py [--events 20000] [--replay 10000 100000 1000000]
        [--batch 500] [--memory-events 1000000] [--json FILE] [--smoke]
        [--writes-only | --replay-only | --memory-only] [--paths PATH [PATH ...]]
        [--protocol bsatn|json] [--profile DIR]

``--profile DIR`` samples each measured publish and start (the timed part of its child process:
replay on start included; whichever thread holds the GIL, so the samples show where Python time
goes, not where a thread waits)
with ``py-spy`` (in the ``bench`` extras), writes the collapsed stacks to
``DIR/<path>.txt`` and prints, per thread, the functions with the most samples of their own and
in all (the run's figures then include py-spy's cost, sampling without pausing the process).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar
from uuid import UUID

import attrs
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from rich import box
from rich.console import Console
from rich.table import Table

from benchmarks.arguments import json_destination, profile_directory
from benchmarks.process import guarded
from benchmarks.wire_floor import RawWebSocket, client_frame
from nerv_inner_universe import log
from nerv_inner_universe.client import (
    BlockingConnection,
    BsatnCodec,
    CodecFactory,
    DbConnection,
    JsonCodec,
    ModuleSchema,
    ReducerFailedError,
    SpacetimeError,
    SpacetimeHttp,
    Timestamp,
)
from nerv_inner_universe.client.protocol import CallReducer, Committed, TransactionUpdate
from nerv_inner_universe.client.wire import call_args, encode_checked
from nerv_inner_universe.contract import ErrorCode, Refusal
from nerv_inner_universe.controller import ServerProcess, free_port
from nerv_inner_universe.controller.process import signal_when_parent_dies
from nerv_inner_universe.delta import JSON, canonical_json
from nerv_inner_universe.nerv import Event, Nerv, NervSettings
from nerv_inner_universe.plugin.loop import LoopThread
from nerv_inner_universe.toolchain import setup

P = ParamSpec("P")
R = TypeVar("R")

EVENT_TYPE = "BENCH"
WRITE_PATHS = (
    "nerv_alone",
    "plugin_async",
    "plugin_sync",
    "plugin_sync_unfollowed",
    "client_awaited",
    "client_awaited_thread",
    "client_direct",
    "client_refused",
    "wire_floor",
    "client_pipelined",
    "client_batches_awaited",
    "client_batches",
    "es_sqlite_sync",
    "es_sqlite_batched",
    "es_pg_sync",
    "es_pg_batched",
)
"""The write paths ``--paths`` chooses from (the engine ceiling comes with
``client_batches_awaited``)."""
PG_USER = "bench"
PG_START_SECONDS = 60.0
"""How long PostgreSQL may take to accept connections after it is started."""
Mode = Literal["sync", "async"]
Protocol = Literal["json", "bsatn"]


class BenchmarkError(Exception):
    """A path of the benchmark failed (a wrong count, a server that would not start...)."""


# --- what one scenario measured ------------------------------------------------------------


@attrs.frozen
class Measured:
    """One scenario's figures. ``seconds``: wall time for ``events`` events (for the engine
    ceiling: the server's summed reducer time). ``p50_ms``/``p99_ms``: per call or publish,
    when calls were made one at a time. ``server_seconds``: reducer time the server reported,
    summed over calls. ``rss_growth_mib``: the child process's RSS change across the work.
    ``cpu_seconds``: CPU time the child process (all its threads) used for the work, which a
    loaded machine stretches less than the wall time. ``server_cpu_seconds``: CPU time the
    ``spacetimedb-standalone`` process used meanwhile (all of its work, not only reducers);
    ``server_thread_cpu_seconds``: its busiest thread's (the database's own, which runs the
    reducers and the commits one transaction at a time, so no client commits events faster
    than it gets through them)."""

    events: int
    seconds: float
    rss_growth_mib: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    server_seconds: float | None = None
    cpu_seconds: float | None = None
    server_cpu_seconds: float | None = None
    server_thread_cpu_seconds: float | None = None
    rss_peak_growth_mib: float | None = None
    """The child's peak RSS (``VmHWM``) minus its RSS before the work, when measured."""

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds

    @property
    def rss_per_100k_mib(self) -> float | None:
        if self.rss_growth_mib is None:
            return None
        return self.rss_growth_mib * 100_000 / self.events


def rss_mib() -> float:
    """This process's resident set size now (Linux ``/proc``), after a garbage collection."""
    gc.collect()
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def stat_cpu_seconds(stat: Path) -> float:
    """User + system CPU seconds in a Linux ``/proc`` ``stat`` file (a process's or a
    thread's)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far (Linux ``/proc``)."""
    return stat_cpu_seconds(Path(f"/proc/{pid}/stat"))


MIN_THREAD_SECONDS = 10 / os.sysconf("SC_CLK_TCK")
"""The kernel counts a thread's CPU time in clock ticks (10 ms here): below ten of them, a
share of it says nothing, and the ratios built on it are left out."""


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU seconds each thread of process ``pid`` has used so far, by thread id
    (Linux ``/proc/<pid>/task``); a thread that ends while it is read is left out."""
    used: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            used[int(task.name)] = stat_cpu_seconds(task / "stat")
        except FileNotFoundError:
            continue
    return used


@attrs.frozen
class ServerUsage:
    """The CPU seconds a server process has used so far, in all and per thread."""

    pid: int
    process: float
    threads: dict[int, float]

    @classmethod
    def now(cls, pid: int) -> ServerUsage:
        return cls(pid, process_cpu_seconds(pid), thread_cpu_seconds(pid))

    def since(self) -> tuple[float, float]:
        """(the process's CPU seconds, its busiest thread's) since this reading."""
        later = ServerUsage.now(self.pid)
        busiest = max(
            used - self.threads.get(thread, 0.0) for thread, used in later.threads.items()
        )
        return later.process - self.process, busiest


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (``VmHWM`` in ``/proc/self/status``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**10
    raise BenchmarkError("/proc/self/status has no VmHWM line")


def latency_buffer(count: int) -> array[float]:
    """Room for ``count`` latencies, allocated up front so filling it does not grow the RSS
    being measured."""
    return array("d", bytes(8 * count))


def percentiles(latencies: array[float]) -> tuple[float, float]:
    """(p50, p99) of latencies in seconds, in milliseconds (nearest rank)."""
    ordered = sorted(latencies)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3

    return rank(0.50), rank(0.99)


def payload(n: int) -> dict[str, JSON]:
    return {"n": n, "payload": "x" * 64}


def in_child(work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Runs ``work`` in a fresh spawned Python process and returns its result; its error is
    raised here. However this call ends (a SIGTERM or Ctrl-C while it waits too), the child
    is killed on the way out, so nothing is left running against servers that then stop; and
    Linux sends it SIGTERM if this process dies, even by SIGKILL, which no cleanup here sees."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, initializer=_child_setup) as pool:  # its exit terminates the child
        result: R = pool.apply(_reporting, (work.__name__, partial(work, *args, **kwargs)))
        return result


def _reporting(name: str, work: Callable[[], R]) -> R:
    """Runs ``work``; its error is printed with its traceback on the child's stderr and comes
    back as a one-line BenchmarkError (not every exception survives pickling to the parent)."""
    try:
        return work()
    except BaseException as error:
        traceback.print_exception(error)
        raise BenchmarkError(
            f"{name} failed in its child process: {type(error).__name__}: {error}"
        ) from None


def _child_setup() -> None:
    """In a scenario's child: dies with the benchmark (SIGTERM), logs warnings only."""
    signal_when_parent_dies(signal.SIGTERM)
    log.configure("warning")


PROFILE_RATE = 500
"""py-spy's samples per second with ``--profile``."""
_profile_to: list[Path] = []
"""Where `profiled` writes the child's profile (set in the child by `profiling`; empty: it
does not profile)."""


def profiling(to: Path, work: Callable[[], R]) -> R:
    """Runs ``work`` (in a child process), its `profiled` block sampled into the file ``to``."""
    _profile_to[:] = [to]
    return work()


@contextmanager
def profiled() -> Iterator[None]:
    """Samples this process with ``py-spy record`` (the thread holding the GIL, collapsed
    stacks) while the block runs, when `profiling` asked for it; else does nothing.
    BenchmarkError when py-spy cannot be started or fails."""
    if not _profile_to:
        yield
        return
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise BenchmarkError("--profile needs py-spy: pip install -e '.[bench]'")
    argv = [spy, "record", "--pid", str(os.getpid()), "--rate", str(PROFILE_RATE)]
    argv += ["--format", "raw", "--threads", "--gil", "--nonblocking", "-o", str(_profile_to[0])]
    sampler = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert sampler.stdout is not None
    started = sampler.stdout.readline()  # "py-spy> Sampling process ..." once it is attached
    if "Sampling" not in started:
        sampler.kill()
        raise BenchmarkError(f"py-spy did not start: {started}{sampler.communicate()[0]}")
    try:
        yield
    finally:
        sampler.send_signal(signal.SIGINT)
        said = sampler.communicate()[0]
    if sampler.returncode:
        raise BenchmarkError(f"py-spy failed ({sampler.returncode}): {said}")


_STACK = re.compile(r"thread \(\d+\): (?P<thread>[^;]*)(?P<frames>(;[^;]*)*) (?P<hits>\d+)")
"""One line of py-spy's collapsed stacks: ``thread (PID): NAME;FRAME;FRAME... HITS``."""


def profile_summary(path: Path, top: int = 12, share: float = 0.05) -> list[str]:
    """Lines summing up the py-spy profile ``path`` (collapsed stacks): per thread holding at
    least ``share`` of the samples, its ``top`` functions by samples of their own ("self") and
    by samples in which they are on the stack ("total"), as percentages of the thread's."""
    own: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    total: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    samples: collections.Counter[str] = collections.Counter()
    unread = 0
    for line in path.read_bytes().decode(errors="replace").split("\n"):
        record = _STACK.fullmatch(line)
        if record is None:
            unread += bool(line)
            continue
        name, stack, hits = record["thread"], record["frames"], int(record["hits"])
        functions = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";") if frame]
        samples[name] += hits
        if functions:
            own[name][functions[-1]] += hits
        for function in set(functions):
            total[name][function] += hits
    lines = [f"{path.name}: {samples.total()} samples at {PROFILE_RATE}/s"]
    if unread:
        lines.append(f"  ({unread} garbled lines left out: py-spy read a stack mid-change)")
    for name, count in samples.most_common():
        if count < share * samples.total():
            break
        lines.append(f"  thread {name}: {count} samples")
        for label, counter in (("self", own[name]), ("total", total[name])):
            for function, hits in counter.most_common(top):
                lines.append(f"    {label:5} {100 * hits / count:5.1f}%  {function}")
    return lines


# --- SpacetimeDB: the server, the plugin and the client --------------------------------------


@attrs.frozen
class Database:
    url: str
    name: str
    token: str
    server_pid: int


@attrs.frozen
class Spacetime:
    """The benchmark's own server; every scenario gets a fresh database on it."""

    url: str
    wasm: bytes
    token: str
    pid: int

    def database(self, name: str) -> Database:
        async def publish() -> None:
            async with SpacetimeHttp(self.url, token=self.token, timeout=120) as http:
                await http.publish(name, self.wasm)

        asyncio.run(publish())
        return Database(self.url, name, self.token, self.pid)

    def count_events(self, db: Database) -> int:
        """How many benchmark events ``event_log`` holds."""

        async def count() -> int:
            async with SpacetimeHttp(self.url, token=self.token, timeout=120) as http:
                query = f"SELECT COUNT(*) AS n FROM event_log WHERE event_type = '{EVENT_TYPE}'"  # noqa: S608
                [result] = await http.sql(db.name, query)
                return int(result.rows[0]["n"])

        return asyncio.run(count())


@contextmanager
def spacetime_server(root: Path) -> Iterator[Spacetime]:
    machine = setup()
    server = ServerProcess(machine.server_binary, root, port=free_port())
    server.start()
    try:

        async def identity() -> str:
            async with SpacetimeHttp(server.base_url) as http:
                return (await http.create_identity()).token

        if server.pid is None:
            raise BenchmarkError("spacetimedb-standalone started without a process id")
        wasm = machine.module_wasm.read_bytes()
        yield Spacetime(server.base_url, wasm, asyncio.run(identity()), server.pid)
    finally:
        server.stop()


def nerv_config(
    db: Database, mode: Mode, protocol: Protocol, *, follow_remote: bool = True
) -> dict[str, Any]:
    section = {
        "url": db.url,
        "database": db.name,
        "token": db.token,
        "events": mode,
        "protocol": protocol,
        "follow_remote": follow_remote,
    }
    return {"nerv": {"plugins": ["inner_universe"], "inner_universe": section}}


def workload_publisher(runtime: Nerv) -> Callable[[int], None]:
    """``publish(n)``: publishes the workload's event ``n`` on ``runtime``'s EventBus."""
    publish = runtime.event_bus.publish

    def one(n: int) -> None:
        publish(EVENT_TYPE, payload(n))

    return one


def plugin_publish(
    db: Database, events: int, mode: Mode, protocol: Protocol, *, follow_remote: bool = True
) -> Measured:
    """Publishes through a started NERV runtime and flushes; latency is per ``publish``.
    ``follow_remote`` False leaves the plugin's following of the event log off (its share of a
    sync publish: the own event's row in every answer, decoded and passed over)."""
    runtime = Nerv(nerv_config(db, mode, protocol, follow_remote=follow_remote)).start()
    try:
        recorder = runtime.recorder
        if recorder is None:
            raise BenchmarkError("the inner_universe plugin provided no recorder")
        return one_by_one(db, events, workload_publisher(runtime), finish=recorder.flush)
    finally:
        runtime.stop()


def nerv_alone(db: Database, events: int) -> Measured:
    """Publishes through a started NERV runtime with no plugin, so nothing is stored: what the
    NERV core itself costs the workload, for scale (``db`` is only where the server's usage is
    read; it stays idle)."""
    runtime = Nerv({"nerv": {"plugins": []}}).start()
    try:
        return one_by_one(db, events, workload_publisher(runtime))
    finally:
        runtime.stop()


def plugin_memory(db: Database, events: int, protocol: Protocol) -> Measured:
    """Publishes ``events`` events with ``events = "async"`` and every other setting at its
    default (following on), as one long run, and flushes: the RSS growth from just after the
    start to the end (once the writer has drained), and the peak on the way. No latencies are
    kept, so nothing but the runtime grows."""
    runtime = Nerv(nerv_config(db, "async", protocol)).start()
    try:
        recorder = runtime.recorder
        if recorder is None:
            raise BenchmarkError("the inner_universe plugin provided no recorder")
        publish = runtime.event_bus.publish
        before = rss_mib()
        with profiled():
            started, cpu_started = time.perf_counter(), time.process_time()
            for n in range(events):
                publish(EVENT_TYPE, payload(n))
            recorder.flush()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        growth = rss_mib() - before
        peak = peak_rss_mib() - before
    finally:
        runtime.stop()
    return Measured(events, seconds, growth, cpu_seconds=cpu, rss_peak_growth_mib=peak)


def timed_start(
    db: Database,
    expected: int,
    empty: Database,
    protocol: Protocol,
    prepare: Callable[[Nerv], object],
) -> tuple[Measured, list[Event]]:
    """Times ``Nerv.start()`` against ``db`` (holding ``expected`` events) of a runtime that
    ``prepare`` was given first, with the CPU time the server spent meanwhile (its queries,
    besides what else runs on it); returns the figures and the bus's history after the start.
    The RSS baseline is taken after a first start and stop against the ``empty`` database, so
    the growth is the replay's, not the first connection's."""
    Nerv(nerv_config(empty, "async", protocol)).start().stop()
    runtime = Nerv(nerv_config(db, "async", protocol))
    prepare(runtime)
    before = rss_mib()
    server_started = ServerUsage.now(db.server_pid)
    with profiled():
        started, cpu_started = time.perf_counter(), time.process_time()
        runtime.start()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    try:
        server_cpu, server_thread = server_started.since()
        growth = rss_mib() - before
        history = runtime.event_bus.get_history(limit=None)
    finally:
        runtime.stop()
    measured = Measured(
        expected,
        seconds,
        growth,
        cpu_seconds=cpu,
        server_cpu_seconds=server_cpu,
        server_thread_cpu_seconds=server_thread,
    )
    return measured, history


def plugin_replay(db: Database, expected: int, empty: Database, protocol: Protocol) -> Measured:
    """Times a start whose EventBus has a subscriber counting every event (so every event is
    replayed and delivered), as `timed_start` does."""
    replayed = 0

    def count(event: Event) -> None:
        nonlocal replayed
        replayed += 1

    measured, _ = timed_start(
        db,
        expected,
        empty,
        protocol,
        lambda runtime: runtime.event_bus.subscribe(EVENT_TYPE, count),
    )
    if replayed != expected:
        raise BenchmarkError(f"replay delivered {replayed} events; the database holds {expected}")
    return measured


def plugin_start_at_head(
    db: Database, expected: int, empty: Database, protocol: Protocol
) -> Measured:
    """Times a start with nothing listening to the EventBus, as `timed_start` does: the
    runtime replays only the events the bus keeps something of (`EventBus.replay_window`, from
    `InnerUniverseRecorder.replay_event_tail`), not the whole log as `plugin_replay` does.
    ``events`` is the log's length, so the rate says how fast a log of that length is started
    from. BenchmarkError unless the bus then holds the log's last ``max_history`` events."""
    measured, history = timed_start(db, expected, empty, protocol, lambda runtime: None)
    kept = min(expected, NervSettings.from_config(nerv_config(db, "async", protocol)).max_history)
    newest = f"bench-{expected - 1}"
    if len(history) != kept or history[0].id != newest:
        raise BenchmarkError(
            f"a start at the head kept {len(history)} events, newest "
            f"{history[0].id if history else None!r}; expected the last {kept} of {expected}, "
            f"newest {newest!r}"
        )
    return measured


def event_input(n: int) -> dict[str, object]:
    """The module's ``EventInput`` for event ``n``, as the plugin would send it."""
    return {
        "event_id": f"bench-{n}",
        "event_type": EVENT_TYPE,
        "source": None,
        "occurred_at": Timestamp.now(),
        "data": canonical_json(payload(n)),
        "metadata": "{}",
    }


def client_publish(
    db: Database, first: int, events: int, batch: int, in_flight: int, *, protocol: Protocol
) -> Measured:
    """Publishes events ``first ..`` through the client alone, ``in_flight`` calls at a time:
    ``publish_event`` when ``batch`` is 1, else ``publish_events`` with ``batch`` events."""
    return asyncio.run(_client_publish(db, first, events, batch, in_flight, protocol=protocol))


async def _client_publish(
    db: Database, first: int, events: int, batch: int, in_flight: int, *, protocol: Protocol
) -> Measured:
    starts = range(first, first + events, batch)
    latencies = latency_buffer(len(starts))
    server_seconds = 0.0
    codec = codec_factory(protocol)
    async with DbConnection(db.url, db.name, token=db.token, call_timeout=120, codec=codec) as conn:
        slots = asyncio.Semaphore(in_flight)

        async def call(index: int, numbers: range) -> None:
            nonlocal server_seconds
            try:
                sent = time.perf_counter()
                if batch == 1:
                    outcome = await conn.call_reducer("publish_event", event_input(numbers.start))
                else:
                    inputs = [event_input(n) for n in numbers]
                    outcome = await conn.call_reducer("publish_events", inputs)
                latencies[index] = time.perf_counter() - sent
                server_seconds += outcome.duration.seconds
            finally:
                slots.release()

        before = rss_mib()
        server_started = ServerUsage.now(db.server_pid)
        with profiled():
            started, cpu_started = time.perf_counter(), time.process_time()
            async with asyncio.TaskGroup() as group:
                for index, start in enumerate(starts):
                    await slots.acquire()
                    numbers = range(start, min(start + batch, first + events))
                    group.create_task(call(index, numbers))
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        server = server_started.since()
        growth = rss_mib() - before
    p50, p99 = percentiles(latencies) if in_flight == 1 else (None, None)
    return Measured(events, seconds, growth, p50, p99, server_seconds, cpu, *server)


def client_awaited_thread(db: Database, events: int, *, protocol: Protocol) -> Measured:
    """`client_publish` of ``publish_event`` awaited one by one, but each call made from this
    thread and run on a loop in another (the plugin's `LoopThread`, through `LoopThread.run`):
    the client's awaited call plus the hop between a publishing thread and a loop thread that a
    sync publish through the plugin makes too."""
    loop = LoopThread("bench-client-loop")
    codec = codec_factory(protocol)
    try:
        conn = DbConnection(db.url, db.name, token=db.token, call_timeout=120, codec=codec)
        loop.run(conn.connect())

        def publish(n: int) -> float:
            outcome = loop.run(conn.call_reducer("publish_event", event_input(n)))
            return outcome.duration.seconds

        try:
            return one_by_one(db, events, publish)
        finally:
            loop.run(conn.disconnect())
    finally:
        loop.stop()


def codec_factory(protocol: Protocol) -> CodecFactory:
    """The client's codec for ``protocol``."""
    return BsatnCodec if protocol == "bsatn" else JsonCodec


def module_schema(db: Database) -> ModuleSchema:
    """``db``'s module schema, fetched over HTTP."""

    async def fetch() -> ModuleSchema:
        async with SpacetimeHttp(db.url, token=db.token, timeout=120) as http:
            return await http.schema(db.name)

    return asyncio.run(fetch())


def blocking_connection(db: Database, protocol: Protocol) -> BlockingConnection:
    """The client's `BlockingConnection` to ``db`` (not yet open: use it with ``with``), with
    the module's schema fetched over HTTP first."""
    return BlockingConnection(
        db.url,
        db.name,
        module_schema(db),
        token=db.token,
        call_timeout=120,
        codec=codec_factory(protocol),
    )


def client_direct(db: Database, events: int, *, protocol: Protocol) -> Measured:
    """``publish_event`` awaited one by one from this thread with no event loop at all: the
    client's `BlockingConnection` (its codec, `websockets`' sans-I/O protocol and a blocking
    socket that this thread writes and reads itself, no subscriptions): the floor of a sync
    write made on the publishing thread (no hop to a loop thread, no subscription rows in its
    answers)."""
    with blocking_connection(db, protocol) as conn:

        def publish(n: int) -> float:
            return conn.call_reducer("publish_event", event_input(n)).duration.seconds

        return one_by_one(db, events, publish)


def client_refused(db: Database, events: int, *, protocol: Protocol) -> Measured:
    """`client_direct`, but every call is one the module refuses in its argument checks (an
    event with an empty id: ``invalid_argument``, after only the size check): the round trip
    of a reducer call that stores nothing (the server still reads the message, runs the
    reducer on its database's thread, rolls back and answers), through the quickest client
    this project has. A call that stores its event does that and more on the server.
    BenchmarkError when a call is not refused so."""
    with blocking_connection(db, protocol) as conn:

        def refused(n: int) -> None:
            try:
                conn.call_reducer("publish_event", {**event_input(n), "event_id": ""})
            except ReducerFailedError as error:
                if Refusal.parse(error.reducer_message).code is ErrorCode.INVALID_ARGUMENT:
                    return
                raise BenchmarkError(f"the empty event id was refused otherwise: {error}") from None
            raise BenchmarkError("the module stored an event with an empty id")

        return one_by_one(db, events, refused)


def wire_floor(db: Database, events: int, *, protocol: Protocol) -> Measured:
    """`client_direct`'s stored calls with the client's Python taken out: every call's frame
    made before the clock starts, sent as it is over a WebSocket of its own, and each answer
    only unframed (`wire_floor.RawWebSocket`); after the clock, every answer is decoded and
    must be its call's committed outcome, whose reducer times are summed. About the floor of
    a stored call's round trip through SpacetimeDB and the loopback socket: what is left on
    the client is the socket's system calls and a few lines of framing. RSS growth holds the
    answers kept for that check. BenchmarkError when a call was not stored."""
    schema = module_schema(db)
    codec = codec_factory(protocol)(schema, None)
    frames = [
        client_frame(
            encode_checked(
                codec,
                CallReducer(
                    "publish_event",
                    call_args(schema, codec, "publish_event", (event_input(n),)),
                    n + 1,
                ),
            )
        )
        for n in range(events)
    ]
    answers: list[str | bytes] = []
    with RawWebSocket.open(db.url, db.name, codec, db.token) as wire:

        def publish(n: int) -> None:
            wire.send(frames[n])
            answers.append(wire.receive())

        measured = one_by_one(db, events, publish)
    reducer_seconds = 0.0
    for n, answer in enumerate(answers):
        message = codec.decode_message(answer)
        if not (
            isinstance(message, TransactionUpdate)
            and isinstance(message.status, Committed)
            and message.reducer_call.request_id == n + 1
        ):
            raise BenchmarkError(f"call {n + 1} was not stored: {message!r}"[:500])
        reducer_seconds += message.total_host_execution_duration.seconds
    return attrs.evolve(measured, server_seconds=reducer_seconds)


def one_by_one(
    db: Database,
    events: int,
    publish: Callable[[int], float | None],
    finish: Callable[[], None] | None = None,
) -> Measured:
    """Calls ``publish(n)`` for events ``0 ..`` one at a time, timing each, then ``finish()``
    (a flush, timed with the rest); ``publish`` returns the reducer time the server reported
    for the event in seconds, or None when it is not known (then none is reported)."""
    latencies = latency_buffer(events)
    server_seconds: float | None = 0.0
    before = rss_mib()
    server_started = ServerUsage.now(db.server_pid)
    with profiled():
        started, cpu_started = time.perf_counter(), time.process_time()
        for n in range(events):
            sent = time.perf_counter()
            reducer_seconds = publish(n)
            latencies[n] = time.perf_counter() - sent
            if reducer_seconds is None or server_seconds is None:
                server_seconds = None
            else:
                server_seconds += reducer_seconds
        if finish is not None:
            finish()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    server = server_started.since()
    growth = rss_mib() - before
    p50, p99 = percentiles(latencies)
    return Measured(events, seconds, growth, p50, p99, server_seconds, cpu, *server)


# --- eventsourcing ---------------------------------------------------------------------------


class BenchLog(Aggregate):
    """One aggregate that every benchmark event is recorded on."""

    def __init__(self) -> None:
        self.count = 0

    @event("Recorded")
    def record(self, data: dict[str, JSON]) -> None:
        self.count += 1


def es_write(env: dict[str, str], events: int, per_save: int) -> tuple[Measured, str]:
    """Records ``events`` events on one new aggregate, one ``save()`` per ``per_save``; returns
    the figures and the aggregate's id."""
    app: Application[UUID] = Application(env=env)
    aggregate = BenchLog()
    app.save(aggregate)
    before = rss_mib()
    started = time.perf_counter()
    for n in range(events):
        aggregate.record(payload(n))
        if (n + 1) % per_save == 0 or n + 1 == events:
            app.save(aggregate)
    seconds = time.perf_counter() - started
    growth = rss_mib() - before
    app.close()
    return Measured(events, seconds, growth), str(aggregate.id)


def es_read(env: dict[str, str], aggregate_id: str, expected: int) -> Measured:
    """Reconstructs the aggregate from its stored events, in a new application."""
    app: Application[UUID] = Application(env=env)
    before = rss_mib()
    started = time.perf_counter()
    aggregate: object = app.repository.get(UUID(aggregate_id))
    seconds = time.perf_counter() - started
    growth = rss_mib() - before
    app.close()
    if not isinstance(aggregate, BenchLog) or aggregate.count != expected:
        raise BenchmarkError(f"read back {aggregate!r}, expected a BenchLog of {expected} events")
    return Measured(expected, seconds, growth)


def sqlite_env(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


# --- PostgreSQL ------------------------------------------------------------------------------


@attrs.frozen
class Postgres:
    """A private PostgreSQL on loopback, user ``bench`` trusted."""

    bin_dir: Path
    port: int
    version: str

    def create_database(self, name: str) -> dict[str, str]:
        """Creates database ``name``; returns the eventsourcing environment that uses it."""
        run_checked([str(self.bin_dir / "createdb"), *self._where(), name])
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": name,
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": PG_USER,
            "POSTGRES_PASSWORD": "",  # trust authentication on a private loopback server
        }

    def wait_until_ready(self, server: subprocess.Popen[bytes], server_log: Path) -> None:
        """Returns once ``server`` accepts connections; BenchmarkError, with the end of its
        log, when it exits first or is not ready within `PG_START_SECONDS`."""
        deadline = time.monotonic() + PG_START_SECONDS
        ready = [str(self.bin_dir / "pg_isready"), *self._where(), "-d", "postgres", "-q"]
        while subprocess.run(ready, check=False).returncode != 0:
            if server.poll() is not None or time.monotonic() > deadline:
                tail = server_log.read_text(errors="replace")[-2000:]
                state = "exited" if server.returncode is not None else "is not ready"
                raise BenchmarkError(f"PostgreSQL {state}; server.log:\n{tail}")
            time.sleep(0.05)

    def _where(self) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER]


def run_checked(argv: Sequence[str]) -> str:
    """Runs ``argv``; returns its stdout, or raises BenchmarkError with its output."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchmarkError(
            f"{' '.join(argv)} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def postgres_bin_dir(console: Console) -> Path:
    """Debian's PostgreSQL binaries (the newest major installed); installs ``postgresql`` with
    apt-get when missing and running as root."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise BenchmarkError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl); install it with "
            "`sudo apt-get install -y postgresql` and rerun"
        )
    console.log("installing Debian's postgresql package (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
        subprocess.run(argv, check=True, env=env)
    return postgres_bin_dir(console)


@contextmanager
def postgres_server(console: Console) -> Iterator[Postgres]:
    """Starts PostgreSQL in a new temporary data dir on a free port (as the ``postgres`` user
    when running as root: it refuses to run as root), as a child that Linux stops (SIGQUIT,
    immediate shutdown) if this process dies, even by SIGKILL; on exit stops it (SIGINT, fast
    shutdown) and removes the dir."""
    bin_dir = postgres_bin_dir(console)
    root = Path(tempfile.mkdtemp(prefix="nerv-compare-pg-"))
    owner = "postgres" if os.geteuid() == 0 else None
    if owner is not None:
        shutil.chown(root, owner, owner)
    data = root / "data"
    server_log = root / "server.log"
    server: subprocess.Popen[bytes] | None = None
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER, "-A", "trust"]
        run_checked(
            [*(["runuser", "-u", owner, "--"] if owner else []), *initdb, "-E", "UTF8", "--no-sync"]
        )
        port = free_port()
        settings = [f"port={port}", "listen_addresses=127.0.0.1", f"unix_socket_directories={root}"]
        with server_log.open("wb") as log_file:
            server = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data)]
                + [part for setting in settings for part in ("-c", setting)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                user=owner,
                group=owner,
                preexec_fn=partial(signal_when_parent_dies, signal.SIGQUIT),  # noqa: PLW1509
            )
        version = run_checked([str(bin_dir / "postgres"), "--version"]).strip()
        postgres = Postgres(bin_dir, port, version)
        postgres.wait_until_ready(server, server_log)
        yield postgres
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(root, ignore_errors=True)


# --- the run ---------------------------------------------------------------------------------


@attrs.frozen
class Figure:
    key: str
    label: str
    measured: Measured


@attrs.frozen
class Ratio:
    label: str
    value: float
    unit: str
    target: str | None
    met: bool | None


class Run:
    """Runs the scenarios in order and keeps their figures."""

    def __init__(self, args: argparse.Namespace, console: Console) -> None:
        self.args = args
        self.console = console
        self.figures: dict[str, Figure] = {}
        self.profiles: list[Path] = []
        """The profiles ``--profile`` wrote, in order."""

    def measure(
        self, key: str, label: str, work: Callable[P, Measured], *args: P.args, **kwargs: P.kwargs
    ) -> Measured:
        self.console.log(f"{label} ...")
        if self.args.profile is None:
            measured = in_child(work, *args, **kwargs)
        else:
            self.args.profile.mkdir(parents=True, exist_ok=True)
            to = self.args.profile / f"{key}.txt"
            measured = in_child(profiling, to, partial(work, *args, **kwargs))
            self.profiles.append(to)
        self.add(key, label, measured)
        return measured

    def add(self, key: str, label: str, measured: Measured) -> None:
        self.figures[key] = Figure(key, label, measured)
        self.console.log(f"  {label}: {describe(measured)}")

    def wanted(self, key: str) -> bool:
        """Whether ``--paths`` (all when left out) selects the write path ``key``."""
        return self.args.paths is None or key in self.args.paths

    def nerv_and_client(self, spacetime: Spacetime, empty: Database) -> None:
        n, batch, protocol = self.args.events, self.args.batch, self.args.protocol
        written: dict[str, Database] = {}
        if self.wanted("nerv_alone"):
            label = "NERV alone, no plugin (nothing stored)"
            self.measure("nerv_alone", label, nerv_alone, empty, n)
        for mode in ("async", "sync"):
            if not self.wanted(f"plugin_{mode}"):
                continue
            db = written[mode] = spacetime.database(f"plugin-{mode}")
            label = f'NERV + plugin, events="{mode}"'
            self.measure(f"plugin_{mode}", label, plugin_publish, db, n, mode, protocol)
            expect_count(spacetime, db, n)
        if self.wanted("plugin_sync_unfollowed"):
            db = spacetime.database("plugin-sync-unfollowed")
            label = 'NERV + plugin, events="sync", follow_remote = false'
            self.measure(
                "plugin_sync_unfollowed",
                label,
                plugin_publish,
                db,
                n,
                "sync",
                protocol,
                follow_remote=False,
            )
            expect_count(spacetime, db, n)
        if not self.args.writes_only:
            label = "NERV + plugin, read back (replay on start)"
            self.measure("plugin_read", label, plugin_replay, written["async"], n, empty, protocol)
        calls: list[tuple[str, str, int, int]] = [
            ("client_awaited", "client, publish_event, awaited one by one", 1, 1),
            (
                "client_pipelined",
                f"client, publish_event, {self.args.singles_in_flight} in flight",
                1,
                self.args.singles_in_flight,
            ),
            ("client_batches_awaited", f"client, publish_events x{batch}, awaited", batch, 1),
            (
                "client_batches",
                f"client, publish_events x{batch}, {self.args.batches_in_flight} in flight",
                batch,
                self.args.batches_in_flight,
            ),
        ]
        for key, label, size, in_flight in calls:
            if not self.wanted(key):
                continue
            db = spacetime.database(key.replace("_", "-"))
            self.measure(key, label, client_publish, db, 0, n, size, in_flight, protocol=protocol)
            expect_count(spacetime, db, n)
        if self.wanted("client_awaited_thread"):
            db = spacetime.database("client-awaited-thread")
            label = "client, publish_event, awaited one by one from another thread"
            self.measure(
                "client_awaited_thread", label, client_awaited_thread, db, n, protocol=protocol
            )
            expect_count(spacetime, db, n)
        if self.wanted("client_direct"):
            db = spacetime.database("client-direct")
            label = "publish_event awaited one by one on this thread, no event loop"
            self.measure("client_direct", label, client_direct, db, n, protocol=protocol)
            expect_count(spacetime, db, n)
        if self.wanted("client_refused"):
            db = spacetime.database("client-refused")
            label = "publish_event refused (an empty id), awaited one by one on this thread"
            self.measure("client_refused", label, client_refused, db, n, protocol=protocol)
            expect_count(spacetime, db, 0)
        if self.wanted("wire_floor"):
            db = spacetime.database("wire-floor")
            label = "publish_event frames made beforehand, answers not decoded (the wire floor)"
            self.measure("wire_floor", label, wire_floor, db, n, protocol=protocol)
            expect_count(spacetime, db, n)
        if "client_batches_awaited" not in self.figures:
            return
        awaited = self.figures["client_batches_awaited"].measured
        self.add(
            "engine_ceiling",
            f"engine ceiling (server's reducer time, publish_events x{batch})",
            Measured(n, known(awaited.server_seconds)),
        )

    def memory(self, spacetime: Spacetime) -> None:
        n = self.args.memory_events
        db = spacetime.database("plugin-memory")
        label = f'NERV + plugin, events="async", one long run of {n:,}'
        self.measure("plugin_async_long", label, plugin_memory, db, n, self.args.protocol)
        expect_count(spacetime, db, n)

    def eventsourcing(self, tmp: Path, postgres: Postgres | None) -> None:
        n, batch = self.args.events, self.args.batch
        stores: list[tuple[str, str, Callable[[str], dict[str, str]]]] = [
            ("es_sqlite", "eventsourcing + SQLite", lambda name: sqlite_env(tmp / name)),
        ]
        if postgres is not None:
            stores.append(("es_pg", "eventsourcing + PostgreSQL", postgres.create_database))
        for key, store, environment in stores:
            if self.wanted(f"{key}_sync"):
                label = f"{store}, save() per event"
                self.console.log(f"{label} ...")
                measured, _ = in_child(es_write, environment("es_sync"), n, 1)
                self.add(f"{key}_sync", label, measured)
            if not self.wanted(f"{key}_batched"):
                continue
            label = f"{store}, save() per {batch}"
            self.console.log(f"{label} ...")
            batched = environment("es_batched")
            measured, aggregate_id = in_child(es_write, batched, n, batch)
            self.add(f"{key}_batched", label, measured)
            if not self.args.writes_only:
                label = f"{store}, read back (aggregate)"
                self.measure(f"{key}_read", label, es_read, batched, aggregate_id, n)

    def replays(self, spacetime: Spacetime, empty: Database) -> None:
        db = spacetime.database("replay")
        held = 0
        for size in self.args.replay:
            self.console.log(f"filling the replay database to {size:,} events ...")
            fill = in_child(
                client_publish,
                db,
                held,
                size - held,
                self.args.batch,
                self.args.batches_in_flight,
                protocol=self.args.protocol,
            )
            self.console.log(f"  filled at {fill.rate:,.0f} events/s")
            held = size
            expect_count(spacetime, db, size)
            label = f"NERV + plugin, replay on start of {size:,}"
            self.measure(
                f"replay_{size}", label, plugin_replay, db, size, empty, self.args.protocol
            )
            label = f"NERV start at head, nothing listening, {size:,} events"
            self.measure(
                f"head_{size}", label, plugin_start_at_head, db, size, empty, self.args.protocol
            )

    def ratios(self) -> list[Ratio]:
        f = {key: figure.measured for key, figure in self.figures.items()}
        if self.args.replay_only:
            return self.replay_ratios(f)
        if self.args.memory_only:
            return self.memory_ratios(f)
        wanted: list[tuple[tuple[str, ...], Callable[[], Ratio | None]]] = [
            (
                ("plugin_async", "es_sqlite_batched"),
                lambda: ratio(
                    "plugin async / es+SQLite batched", f, "plugin_async", "es_sqlite_batched", 1.5
                ),
            ),
            (
                ("plugin_async", "engine_ceiling"),
                lambda: ratio(
                    "plugin async / engine ceiling", f, "plugin_async", "engine_ceiling", 0.5
                ),
            ),
            (
                ("plugin_sync", "es_sqlite_sync"),
                lambda: ratio(
                    "plugin sync / es+SQLite sync", f, "plugin_sync", "es_sqlite_sync", 1.2
                ),
            ),
            (
                ("plugin_async", "nerv_alone"),
                lambda: ratio(
                    "plugin async / NERV alone, no plugin (the share of an async publish's time "
                    "the NERV core itself takes)",
                    f,
                    "plugin_async",
                    "nerv_alone",
                ),
            ),
            (
                ("plugin_async", "es_pg_batched"),
                lambda: ratio(
                    "plugin async / es+PostgreSQL batched", f, "plugin_async", "es_pg_batched"
                ),
            ),
            (
                ("plugin_sync", "es_pg_sync"),
                lambda: ratio("plugin sync / es+PostgreSQL sync", f, "plugin_sync", "es_pg_sync"),
            ),
            (
                ("plugin_sync", "client_awaited"),
                lambda: bounded(
                    "plugin sync p50 / client awaited p50",
                    known(f["plugin_sync"].p50_ms) / known(f["client_awaited"].p50_ms),
                    "x",
                    at_most=1.2,
                ),
            ),
            (
                ("plugin_sync_unfollowed", "client_awaited"),
                lambda: p50_ratio(
                    "plugin sync, not following, p50 / client awaited p50",
                    f,
                    "plugin_sync_unfollowed",
                    "client_awaited",
                ),
            ),
            (
                ("client_awaited_thread", "client_awaited"),
                lambda: p50_ratio(
                    "client awaited from another thread p50 / client awaited p50",
                    f,
                    "client_awaited_thread",
                    "client_awaited",
                ),
            ),
            (
                ("client_direct", "client_awaited"),
                lambda: p50_ratio(
                    "awaited on this thread, no event loop, p50 / client awaited p50",
                    f,
                    "client_direct",
                    "client_awaited",
                ),
            ),
            (
                ("client_refused", "es_sqlite_sync"),
                lambda: bounded(
                    "refused calls awaited on this thread / (1.2 x es+SQLite sync), both per "
                    "second (below 1: a call that stores nothing is slower through this client "
                    "than the sync target)",
                    f["client_refused"].rate / (1.2 * f["es_sqlite_sync"].rate),
                    "x",
                ),
            ),
            (
                ("wire_floor", "es_sqlite_sync"),
                lambda: bounded(
                    "wire floor / (1.2 x es+SQLite sync), both per second (how far the server "
                    "and the socket alone would pass the sync target)",
                    f["wire_floor"].rate / (1.2 * f["es_sqlite_sync"].rate),
                    "x",
                ),
            ),
            (
                ("client_direct", "wire_floor"),
                lambda: ratio(
                    "stored calls awaited on this thread, no event loop / wire floor (the share "
                    "of the floor this client's own Python leaves)",
                    f,
                    "client_direct",
                    "wire_floor",
                ),
            ),
            (
                ("plugin_sync", "wire_floor"),
                lambda: ratio("plugin sync / wire floor", f, "plugin_sync", "wire_floor"),
            ),
            (
                ("client_batches", "engine_ceiling"),
                lambda: ratio(
                    "client pipelined batches / engine ceiling",
                    f,
                    "client_batches",
                    "engine_ceiling",
                    0.7,
                ),
            ),
            (
                ("client_batches_awaited",),
                lambda: per_thread_second(
                    "reducer time / busiest server thread's CPU time, batches awaited (the most "
                    "of the engine ceiling a client can reach)",
                    known(f["client_batches_awaited"].server_seconds),
                    f["client_batches_awaited"],
                ),
            ),
            (
                ("client_batches",),
                lambda: thread_share(
                    "busiest server thread's CPU time / wall time, client pipelined batches "
                    "(1: the engine's thread was the bound)",
                    f["client_batches"],
                ),
            ),
        ]
        made = [make() for keys, make in wanted if all(key in f for key in keys)]
        writes = [r for r in made if r is not None]
        writes += self.memory_ratios(f)
        if self.args.writes_only:
            return writes
        return [
            *writes,
            ratio("plugin read back / es+SQLite read back", f, "plugin_read", "es_sqlite_read"),
            *self.replay_ratios(f),
        ]

    def memory_ratios(self, f: dict[str, Measured]) -> list[Ratio]:
        """The issue's memory target for publishing, from the one long run (none without it:
        growth over a short run extrapolates badly, the plugin's windows being bounded)."""
        if "plugin_async_long" not in f:
            return []
        long = f["plugin_async_long"]
        versus = (
            [
                ratio(
                    "plugin async, one long run / es+SQLite batched",
                    f,
                    "plugin_async_long",
                    "es_sqlite_batched",
                )
            ]
            if "es_sqlite_batched" in f
            else []
        )
        return [
            *versus,
            bounded(
                f"RSS growth after {long.events:,} published (async, one run)",
                known(long.rss_growth_mib),
                "MiB",
                at_most=50.0,
            ),
            bounded(
                f"peak RSS growth while publishing {long.events:,} (async, one run)",
                known(long.rss_peak_growth_mib),
                "MiB",
            ),
        ]

    def replay_ratios(self, f: dict[str, Measured]) -> list[Ratio]:
        largest = max(self.args.replay)
        return [
            *(
                figure
                for size in self.args.replay
                for figure in (
                    bounded(
                        f"replay on start, {size:,} events",
                        f[f"replay_{size}"].rate,
                        "events/s",
                        at_least=200_000,
                    ),
                    bounded(
                        f"start at head, nothing listening, {size:,} events",
                        f[f"head_{size}"].seconds,
                        "s",
                        at_most=5.0,
                    ),
                )
            ),
            bounded(
                f"RSS growth per 100k replayed ({largest:,} events)",
                known(f[f"replay_{largest}"].rss_per_100k_mib),
                "MiB",
                # Below that a start's fixed cost, scaled up, is most of the figure.
                at_most=10.0 if largest >= RSS_TARGET_EVENTS else None,
            ),
        ]


RSS_TARGET_EVENTS = 100_000
"""The smallest replay whose RSS growth per 100k events is held to its target (10 MiB)."""


def known(value: float | None) -> float:
    """A figure every scenario that the ratios use does measure."""
    if value is None:
        raise BenchmarkError("a figure a ratio needs was not measured")
    return value


def expect_count(spacetime: Spacetime, db: Database, expected: int) -> None:
    stored = spacetime.count_events(db)
    if stored != expected:
        raise BenchmarkError(f"database {db.name} holds {stored} events; {expected} were published")


def ratio(
    label: str, f: dict[str, Measured], top: str, bottom: str, at_least: float | None = None
) -> Ratio:
    """``f[top].rate / f[bottom].rate`` with an optional lower bound."""
    return bounded(label, f[top].rate / f[bottom].rate, "x", at_least=at_least)


def p50_ratio(label: str, f: dict[str, Measured], top: str, bottom: str) -> Ratio:
    """``f[top]``'s p50 latency over ``f[bottom]``'s, without a target."""
    return bounded(label, known(f[top].p50_ms) / known(f[bottom].p50_ms), "x")


def bounded(
    label: str,
    value: float,
    unit: str,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
) -> Ratio:
    if at_least is not None:
        return Ratio(label, value, unit, f">= {number(at_least)}", value >= at_least)
    if at_most is not None:
        return Ratio(label, value, unit, f"<= {number(at_most)}", value <= at_most)
    return Ratio(label, value, unit, None, None)


def per_thread_second(label: str, seconds: float, m: Measured) -> Ratio | None:
    """``seconds`` over the busiest server thread's CPU seconds in ``m``; None when that
    thread used less than `MIN_THREAD_SECONDS` (a smoke run)."""
    thread = known(m.server_thread_cpu_seconds)
    return bounded(label, seconds / thread, "x") if thread >= MIN_THREAD_SECONDS else None


def thread_share(label: str, m: Measured) -> Ratio | None:
    """The busiest server thread's CPU seconds in ``m`` over its wall time; None when that
    thread used less than `MIN_THREAD_SECONDS` (a smoke run)."""
    thread = known(m.server_thread_cpu_seconds)
    return bounded(label, thread / m.seconds, "x") if thread >= MIN_THREAD_SECONDS else None


def number(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:,.2f}"


def describe(m: Measured) -> str:
    text = f"{m.events:,} events in {m.seconds:.3f} s, {m.rate:,.0f} events/s"
    if m.p50_ms is not None:
        text += f", p50 {m.p50_ms:.3f} ms, p99 {m.p99_ms:.3f} ms"
    if m.cpu_seconds is not None:
        text += f", client CPU {m.cpu_seconds:.3f} s"
    if m.server_cpu_seconds is not None:
        text += f", server CPU {m.server_cpu_seconds:.3f} s"
    if m.server_thread_cpu_seconds is not None:
        text += f" (busiest thread {m.server_thread_cpu_seconds:.3f} s)"
    if m.rss_peak_growth_mib is not None:
        text += f", RSS {m.rss_growth_mib:+.1f} MiB (peak {m.rss_peak_growth_mib:+.1f} MiB)"
    return text


def optional(value: float | None, pattern: str) -> str:
    return "" if value is None else pattern.format(value)


def figures_table(figures: Sequence[Figure], style: box.Box) -> Table:
    table = Table(title="Figures (one run, one machine)", box=style)
    columns = [
        *("path", "events", "seconds", "events/s", "p50 ms", "p99 ms", "server s", "CPU s"),
        *("server CPU s", "busiest server thread s"),
    ]
    for column in [*columns, "RSS growth", "per 100k events", "peak RSS growth"]:
        table.add_column(column, justify="left" if column == "path" else "right")
    for figure in figures:
        m = figure.measured
        table.add_row(
            figure.label,
            f"{m.events:,}",
            f"{m.seconds:.3f}",
            f"{m.rate:,.0f}",
            optional(m.p50_ms, "{:.3f}"),
            optional(m.p99_ms, "{:.3f}"),
            optional(m.server_seconds, "{:.3f}"),
            optional(m.cpu_seconds, "{:.3f}"),
            optional(m.server_cpu_seconds, "{:.3f}"),
            optional(m.server_thread_cpu_seconds, "{:.3f}"),
            optional(m.rss_growth_mib, "{:+.1f} MiB"),
            optional(m.rss_per_100k_mib, "{:+.1f} MiB"),
            optional(m.rss_peak_growth_mib, "{:+.1f} MiB"),
        )
    return table


def ratios_table(ratios: Sequence[Ratio], style: box.Box) -> Table:
    table = Table(title="Ratios and targets (issue 10)", box=style)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("met")
    for r in ratios:
        value = f"{number(r.value)} {r.unit}" if r.unit != "x" else f"{r.value:.2f}x"
        met = "" if r.met is None else ("[green]yes[/]" if r.met else "[bold red]MISSED[/]")
        table.add_row(r.label, value, r.target or "", met)
    return table


def machine(postgres: Postgres | None, load_before: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "eventsourcing": metadata.version("eventsourcing"),
        "postgresql": None if postgres is None else postgres.version,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000, help="N for every write path")
    parser.add_argument(
        "--replay",
        type=int,
        nargs="+",
        default=[10_000, 100_000, 1_000_000],
        help="database sizes for replay on start",
    )
    parser.add_argument("--batch", type=int, default=500, help="events per batch and per save")
    parser.add_argument("--singles-in-flight", type=int, default=64)
    parser.add_argument("--batches-in-flight", type=int, default=8)
    parser.add_argument(
        "--memory-events",
        type=int,
        default=1_000_000,
        help="events of the one long async publish whose RSS growth is measured (0: skip it)",
    )
    parser.add_argument(
        "--protocol",
        choices=("bsatn", "json"),
        default="bsatn",
        help="the wire format of every SpacetimeDB connection (the plugin's `protocol` setting)",
    )
    parser.add_argument(
        "--json", type=json_destination, help="also write every figure and ratio here"
    )
    only = parser.add_mutually_exclusive_group()
    only.add_argument(
        "--writes-only",
        action="store_true",
        help="only the write paths (no read-backs, no replay on start)",
    )
    only.add_argument(
        "--replay-only",
        action="store_true",
        help="only replay on start (no write paths, no eventsourcing, no PostgreSQL)",
    )
    only.add_argument(
        "--memory-only",
        action="store_true",
        help="only the one long async publish of --memory-events (no PostgreSQL)",
    )
    parser.add_argument(
        "--paths",
        nargs="+",
        choices=WRITE_PATHS,
        help="only these write paths (implies --writes-only; PostgreSQL starts only for es_pg_*)",
    )
    parser.add_argument(
        "--profile",
        type=profile_directory,
        metavar="DIR",
        help="sample each measured publish and start with py-spy into DIR/<path>.txt and sum it up",
    )
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes (200 events, replay 100 and 400)"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.events, args.replay, args.memory_events = 200, [100, 400], 2_000
    args.replay = sorted(set(args.replay))
    if args.paths is not None:
        if args.replay_only:
            parser.error("--paths selects write paths; --replay-only runs none")
        args.writes_only = True
    if args.events < 1 or args.batch < 1 or min(args.replay) < 1:
        parser.error("--events, --batch and --replay sizes must be positive")
    if args.memory_events < 0 or (args.memory_only and not args.memory_events):
        parser.error("--memory-events must be positive (or 0 to skip it, not with --memory-only)")
    if args.batch > 1000:
        parser.error("--batch is at most 1000, publish_events' limit per call")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return guarded(lambda: run_and_report(args), BenchmarkError, SpacetimeError)


def run_and_report(args: argparse.Namespace) -> int:
    """Runs what ``args`` ask for and prints the figures; 0, or what the run raises."""
    log.configure("warning")
    console = Console(stderr=True, log_path=False, width=None if sys.stderr.isatty() else 120)
    load_before = os.getloadavg()
    run = Run(args, console)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nerv-compare-") as tmp:
        console.log("starting spacetimedb-standalone")
        with (
            spacetime_server(Path(tmp) / "spacetime") as spacetime,
            ExitStack() as stack,
        ):
            empty = spacetime.database("empty")
            postgres = None
            if args.memory_only:
                run.memory(spacetime)
            elif not args.replay_only:
                if run.wanted("es_pg_sync") or run.wanted("es_pg_batched"):
                    postgres = stack.enter_context(postgres_server(console))
                    console.log(f"{postgres.version} on port {postgres.port}")
                run.nerv_and_client(spacetime, empty)
                run.eventsourcing(Path(tmp), postgres)
                if args.memory_events and args.paths is None:
                    run.memory(spacetime)
            if not (args.writes_only or args.memory_only):
                run.replays(spacetime, empty)
    ratios = run.ratios()
    out = Console() if sys.stdout.isatty() else Console(width=200)
    style = box.MARKDOWN if args.markdown else box.HEAVY_HEAD
    out.print(figures_table(list(run.figures.values()), style))
    out.print(ratios_table(ratios, style))
    for profile in run.profiles:
        out.print("\n".join(profile_summary(profile)), markup=False, highlight=False)
    info = machine(postgres, load_before)
    out.print(
        f"protocol {args.protocol}; {info['cpus']} CPUs, load average {load_before[0]:.2f} "
        f"before and {info['load_average_after'][0]:.2f} after; "
        f"{time.perf_counter() - started:.0f} s"
    )
    if args.json is not None:
        document = {
            "command": [sys.executable, *sys.argv],
            "machine": info,
            "figures": {
                key: {"label": f.label, **attrs.asdict(f.measured), "events_per_s": f.measured.rate}
                for key, f in run.figures.items()
            },
            "ratios": [attrs.asdict(r) for r in ratios],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        console.log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
