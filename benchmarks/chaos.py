"""Chaos: faults at random moments while NERV runtimes write through the plugin; then count.

Loopback only, bounded in time and count. The script starts its own ``spacetimedb-standalone``
(built by ``inner-universe setup``) on a free port with a temporary data dir, publishes one
database per mode (``sync`` and ``async`` events), and runs ``--writers`` NERV runtimes per mode.
Each runtime publishes events, commits versions and applies deltas, all numbered, through a TCP
proxy the script runs on loopback. Meanwhile it injects, in random order and at random moments:

- ``kill``: SIGKILL of the server (`ServerProcess.kill`), then a start on the same data dir
  and port: the server may forget the last acknowledged transactions;
- ``stop``: the product's stop (`ServerProcess.stop`: checkpoint, SIGTERM) and a start;
- ``cut``: every proxied connection reset at once;
- ``outage``: a stop, then a start only after longer than the writers' ``retry_for``: the writes
  that fail meanwhile must fail with the plugin's typed error (counted as *reported failures*,
  not as lost); a runtime whose version or delta failed is restarted (it replays), as an
  application would.

At the end the server is stopped durably and started again, and what is stored is compared with
what was acknowledged: a sync publish, a version commit, a delta that returned; an async event
confirmed by a `flush` that succeeded. Reported per mode: acknowledged, stored, lost
(acknowledged but not stored), duplicated (one number stored twice), out of order (a writer's
numbers not increasing in the log, the timeline or the stream), reported failures, writes the
plugin sent again because the server lacked them after a fault, and the time from the end of
each fault (server answering again, connections cut) until every writer made
progress. Targets: 0 lost, 0 duplicated, 0 out of order. Exit 1 when one is missed or a writer
made no progress within ``--progress-deadline`` seconds.

    .venv/bin/python benchmarks/chaos.py [--kills 20] [--stops 20] [--cuts 50] [--outages 2]
        [--writers 2] [--rate 100] [--seed N] [--json FILE] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx

from benchmarks.arguments import json_destination
from nerv_inner_universe import log
from nerv_inner_universe.controller import ServerProcess, free_port
from nerv_inner_universe.nerv import Nerv
from nerv_inner_universe.plugin import InnerUniverseRecorder, PersistenceError, PluginSettings
from nerv_inner_universe.toolchain import setup

MODES = ("sync", "async")
FAULTS = ("kill", "stop", "cut", "outage")
RETRY_FOR = 8.0
"""The writers' ``retry_for`` (seconds)."""
CALL_TIMEOUT = 2.0
"""The writers' ``call_timeout`` (seconds): a write fails at most this long after ``retry_for``."""
OUTAGE = RETRY_FOR + CALL_TIMEOUT + 2.0
"""Seconds an outage lasts: longer than any write retries."""
FLUSH_EVERY = 25
"""An async writer confirms its events with a `flush` after this many."""


# --- the TCP proxy ----------------------------------------------------------------------------


class Proxy:
    """Forwards ``127.0.0.1:<port>`` to ``127.0.0.1:<upstream>`` on a loop in its own thread;
    `cut` resets every connection through it."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._links: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the chaos proxy did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._link, "127.0.0.1", self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    async def _link(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            server_in, server_out = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            client_out.transport.abort()
            return
        self._links.update((client_out, server_out))
        try:
            await asyncio.gather(
                _pipe(client_in, server_out), _pipe(server_in, client_out), return_exceptions=True
            )
        finally:
            for writer in (client_out, server_out):
                self._links.discard(writer)
                writer.transport.abort()

    def cut(self) -> int:
        """Resets every proxied connection; returns how many sockets it reset."""
        done = threading.Event()
        count = [0]

        def reset() -> None:
            count[0] = len(self._links)
            for writer in list(self._links):
                writer.transport.abort()
            done.set()

        self._loop.call_soon_threadsafe(reset)
        done.wait(10)
        return count[0]

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    finally:
        sink.transport.abort()


# --- the writers ------------------------------------------------------------------------------


@attrs.define
class Ledger:
    """What one writer had acknowledged, by kind, as the numbers it wrote."""

    events: list[int] = attrs.Factory(list)
    versions: list[int] = attrs.Factory(list)
    deltas: list[int] = attrs.Factory(list)
    reported_failures: int = 0
    runtime_restarts: int = 0
    resent: int = 0
    """Acknowledged writes the server lacked after a fault, sent again by the plugin's writer."""
    unexpected: list[str] = attrs.Factory(list)
    """Errors that are not the plugin's typed failures (each one fails the run)."""


class Writer:
    """A thread running a NERV runtime that writes numbered events, versions and deltas."""

    def __init__(self, name: str, mode: str, config: dict[str, Any], rate: float) -> None:
        self.name = name
        self.mode = mode
        self._config = config
        self._interval = 1.0 / rate
        self.ledger = Ledger()
        self.progress = 0
        """Acknowledged writes so far (read by the fault loop to time progress)."""
        self._stopping = threading.Event()
        self._unconfirmed: list[int] = []
        self._thread = threading.Thread(target=self._run, name=f"chaos-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(RETRY_FOR * 4 + 60)
        if self._thread.is_alive():
            self.ledger.unexpected.append("the writer did not stop within its deadline")

    def _runtime(self) -> Nerv:
        deadline = time.monotonic() + 120
        while True:
            try:
                return Nerv(self._config).start()
            except PersistenceError:
                raise
            except Exception as error:  # the server may be down: the start's typed errors
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} could not start its runtime") from error
                time.sleep(0.2)

    def _run(self) -> None:
        runtime = self._runtime()
        n = 0
        try:
            while not self._stopping.is_set():
                started = time.monotonic()
                n += 1
                if not self._step(runtime, n):
                    runtime = self._restart(runtime)
                time.sleep(max(0.0, self._interval - (time.monotonic() - started)))
            self._confirm(runtime)
        except Exception as error:
            self.ledger.unexpected.append(f"{type(error).__name__}: {error}")
        finally:
            self._retire(runtime)

    def _retire(self, runtime: Nerv) -> None:
        recorder = runtime.recorder
        if isinstance(recorder, InnerUniverseRecorder):
            self.ledger.resent += recorder.health().writer.resent
        with contextlib.suppress(Exception):
            runtime.stop()

    def _step(self, runtime: Nerv, n: int) -> bool:
        """One event, and every 4th step a version and a delta. False when a version or delta
        failed (the runtime must be reloaded)."""
        try:
            runtime.event_bus.publish("CHAOS", {"w": self.name, "n": n}, source=self.name)
        except PersistenceError:
            self.ledger.reported_failures += 1
        else:
            if self.mode == "sync":
                self._acknowledged(self.ledger.events, n)
            else:
                self._unconfirmed.append(n)
                if len(self._unconfirmed) >= FLUSH_EVERY:
                    self._confirm(runtime)
        if n % 4:
            return True
        try:
            runtime.temporal_store.commit({"n": n, "w": self.name}, f"v{n}")
            self._acknowledged(self.ledger.versions, n)
            runtime.state_projector.apply_delta({"n": n}, f"d{n}")
            self._acknowledged(self.ledger.deltas, n)
        except PersistenceError:
            self.ledger.reported_failures += 1
            return False
        except Exception as error:  # a conflict after a failure whose outcome was unknown
            if "conflict" not in type(error).__name__.lower():
                raise
            self.ledger.reported_failures += 1
            return False
        return True

    def _confirm(self, runtime: Nerv) -> None:
        """Async mode: the events since the last flush are acknowledged when a flush succeeds."""
        if not self._unconfirmed:
            return
        numbers, self._unconfirmed = self._unconfirmed, []
        recorder = runtime.recorder
        assert isinstance(recorder, InnerUniverseRecorder)
        try:
            recorder.flush()
        except PersistenceError:
            self.ledger.reported_failures += 1  # some of them failed, and said so
            return
        for number in numbers:
            self._acknowledged(self.ledger.events, number)

    def _acknowledged(self, into: list[int], n: int) -> None:
        into.append(n)
        self.progress += 1

    def _restart(self, runtime: Nerv) -> Nerv:
        self._unconfirmed.clear()  # their outcome is unknown: neither acknowledged nor lost
        self._retire(runtime)
        self.ledger.runtime_restarts += 1
        return self._runtime()


# --- the run ----------------------------------------------------------------------------------


@attrs.frozen
class ModeReport:
    """Counts over every writer of one mode."""

    mode: str
    acknowledged: int
    stored: int
    lost: int
    duplicated: int
    out_of_order: int
    reported_failures: int
    runtime_restarts: int
    resent: int
    unexpected: tuple[str, ...]


@attrs.frozen
class Report:
    """The whole run: faults injected, time to progress after them (seconds), per-mode counts."""

    faults: dict[str, int]
    progress_seconds: dict[str, list[float]]
    no_progress: int
    modes: tuple[ModeReport, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.no_progress == 0 and all(
            m.lost == 0 and m.duplicated == 0 and m.out_of_order == 0 and not m.unexpected
            for m in self.modes
        )

    def lines(self) -> list[str]:
        out = [f"faults: {self.faults}  ({self.seconds:.0f} s)"]
        for kind, times in self.progress_seconds.items():
            if times:
                out.append(
                    f"progress after {kind}: p50 {statistics.median(times):.2f} s, "
                    f"max {max(times):.2f} s ({len(times)} faults)"
                )
        if self.no_progress:
            out.append(f"NO PROGRESS after {self.no_progress} fault(s)")
        for m in self.modes:
            out.append(
                f"{m.mode:>5}: acknowledged {m.acknowledged}, stored {m.stored}, lost {m.lost}, "
                f"duplicated {m.duplicated}, out of order {m.out_of_order}, reported failures "
                f"{m.reported_failures}, runtime restarts {m.runtime_restarts}, re-sent after a "
                f"fault {m.resent}"
            )
            out.extend(f"       unexpected: {error}" for error in m.unexpected)
        out.append("OK" if self.ok else "FAILED")
        return out


@attrs.frozen
class Options:
    kills: int = 20
    stops: int = 20
    cuts: int = 50
    outages: int = 2
    writers: int = 2
    rate: float = 100.0
    seed: int | None = None
    progress_deadline: float = 60.0
    gap: tuple[float, float] = (0.5, 4.0)
    """Seconds of writing between two faults (uniformly random)."""
    window: float = 5.0
    """The writers' ``durability_window`` (seconds)."""


SMOKE = Options(kills=2, stops=2, cuts=3, outages=1, writers=1, rate=50.0)


def _publish(server: ServerProcess, wasm: Path) -> tuple[str, str]:
    name = f"chaos-{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        token = http.post("/v1/identity").raise_for_status().json()["token"]
        http.put(
            f"/v1/database/{name}",
            content=wasm.read_bytes(),
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()
    server.register_database(name, token)
    return name, token


def _config(
    url: str, database: str, token: str, *, mode: str, writer: str, window: float
) -> dict[str, Any]:
    return {
        "nerv": {
            "plugins": ["inner_universe"],
            "timeline": f"t-{writer}",
            "stream": f"s-{writer}",
            "inner_universe": {
                "url": url,
                "database": database,
                "token": token,
                "events": mode,
                "retry_for": RETRY_FOR,
                "call_timeout": CALL_TIMEOUT,
                "durability_window": window,
                "follow_remote": False,
            },
        }
    }


@contextlib.contextmanager
def _machine() -> Iterator[tuple[ServerProcess, Path]]:
    result = setup()
    with tempfile.TemporaryDirectory(prefix="iu-chaos-") as root:
        server = ServerProcess(result.server_binary, Path(root), port=free_port())
        server.start()
        try:
            yield server, result.module_wasm
        finally:
            server.stop()


def _wait_progress(writers: Sequence[Writer], deadline: float) -> float | None:
    """Seconds until every writer acknowledged something new (None: not within deadline)."""
    start = time.monotonic()
    before = [writer.progress for writer in writers]
    while time.monotonic() - start < deadline:
        if all(writer.progress > b for writer, b in zip(writers, before, strict=True)):
            return time.monotonic() - start
        time.sleep(0.01)
    return None


def _inject(kind: str, server: ServerProcess, proxy: Proxy) -> None:
    if kind == "kill":
        server.kill()
        server.start(timeout=60)
    elif kind == "stop":
        server.stop()
        server.start(timeout=60)
    elif kind == "cut":
        proxy.cut()
    else:  # outage
        server.stop()
        time.sleep(OUTAGE)  # the outage itself
        server.start(timeout=60)


def _count(mode: str, writers: Sequence[Writer], verifier: InnerUniverseRecorder) -> ModeReport:
    events: dict[str, list[int]] = {}
    for event in verifier.read_events():
        data = event.data
        assert isinstance(data, dict)
        events.setdefault(str(data["w"]), []).append(int(str(data["n"])))
    acknowledged = stored = lost = duplicated = out_of_order = 0
    for writer in writers:
        versions = [
            int(v.change_description[1:]) for v, _ in verifier.read_versions(f"t-{writer.name}")
        ]
        deltas = [int(m.description[1:]) for _, m, _ in verifier.read_deltas(f"s-{writer.name}")]
        ledger = writer.ledger
        for acked, kept in (
            (ledger.events, events.get(writer.name, [])),
            (ledger.versions, versions),
            (ledger.deltas, deltas),
        ):
            acknowledged += len(acked)
            stored += len(kept)
            lost += len(set(acked) - set(kept))
            duplicated += len(kept) - len(set(kept))
            out_of_order += sum(1 for a, b in itertools.pairwise(kept) if b <= a)
    return ModeReport(
        mode=mode,
        acknowledged=acknowledged,
        stored=stored,
        lost=lost,
        duplicated=duplicated,
        out_of_order=out_of_order,
        reported_failures=sum(w.ledger.reported_failures for w in writers),
        runtime_restarts=sum(w.ledger.runtime_restarts for w in writers),
        resent=sum(w.ledger.resent for w in writers),
        unexpected=tuple(error for w in writers for error in w.ledger.unexpected),
    )


def run(options: Options, say: Callable[[str], None] = print) -> Report:
    """Runs the chaos described in the module docstring; returns the counts."""
    rng = random.Random(options.seed)  # noqa: S311 - fault timing, not cryptography
    faults = (
        ["kill"] * options.kills
        + ["stop"] * options.stops
        + ["cut"] * options.cuts
        + ["outage"] * options.outages
    )
    rng.shuffle(faults)
    started = time.monotonic()
    progress: dict[str, list[float]] = {kind: [] for kind in FAULTS}
    no_progress = 0
    with _machine() as (server, wasm):
        proxy = Proxy(server.port)
        databases = {mode: _publish(server, wasm) for mode in MODES}
        url = f"http://127.0.0.1:{proxy.port}"
        writers = {
            mode: [
                Writer(
                    f"{mode}{i}",
                    mode,
                    _config(
                        url, name, token, mode=mode, writer=f"{mode}{i}", window=options.window
                    ),
                    options.rate,
                )
                for i in range(options.writers)
            ]
            for mode, (name, token) in databases.items()
        }
        everyone = [writer for group in writers.values() for writer in group]
        try:
            for writer in everyone:
                writer.start()
            for number, kind in enumerate(faults, 1):
                time.sleep(rng.uniform(*options.gap))
                _inject(kind, server, proxy)
                took = _wait_progress(everyone, options.progress_deadline)
                if took is None:
                    no_progress += 1
                else:
                    progress[kind].append(took)
                say(f"fault {number}/{len(faults)} {kind}: progress after {took} s")
        finally:
            for writer in everyone:
                writer.stop()
            proxy.close()
        server.stop()  # durable: the counts below are of what survives a restart
        server.start(timeout=60)
        reports = []
        for mode, (name, token) in databases.items():
            verifier = InnerUniverseRecorder(
                PluginSettings(url=server.base_url, database=name, token=token)
            )
            try:
                reports.append(_count(mode, writers[mode], verifier))
            finally:
                verifier.close()
    return Report(
        faults={kind: faults.count(kind) for kind in FAULTS},
        progress_seconds=progress,
        no_progress=no_progress,
        modes=tuple(reports),
        seconds=time.monotonic() - started,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = Options()
    parser.add_argument("--kills", type=int, default=defaults.kills)
    parser.add_argument("--stops", type=int, default=defaults.stops)
    parser.add_argument("--cuts", type=int, default=defaults.cuts)
    parser.add_argument("--outages", type=int, default=defaults.outages)
    parser.add_argument("--writers", type=int, default=defaults.writers, help="per mode")
    parser.add_argument("--rate", type=float, default=defaults.rate, help="steps/s per writer")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--gap", type=float, nargs=2, default=defaults.gap, help="seconds between faults"
    )
    parser.add_argument(
        "--window", type=float, default=defaults.window, help="durability_window, seconds"
    )
    parser.add_argument(
        "--json", type=json_destination, default=None, help="also write the report here"
    )
    parser.add_argument("--smoke", action="store_true", help="a few faults of each kind")
    parser.add_argument("--log-level", default="error", help="the library's (default: error)")
    args = parser.parse_args(argv)
    log.configure(args.log_level)
    options = (
        attrs.evolve(SMOKE, seed=args.seed, gap=tuple(args.gap), window=args.window)
        if args.smoke
        else Options(
            kills=args.kills,
            stops=args.stops,
            cuts=args.cuts,
            outages=args.outages,
            writers=args.writers,
            rate=args.rate,
            seed=args.seed,
            gap=tuple(args.gap),
            window=args.window,
        )
    )
    report = run(options)
    for line in report.lines():
        print(line)
    if args.json is not None:
        args.json.write_text(json.dumps(attrs.asdict(report), indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
