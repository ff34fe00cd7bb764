"""How long-running setup work reports progress, so the CLI can show it and tests can read it."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from nerv_inner_universe.log import get_logger

log = get_logger(__name__)

_COMPILING = re.compile(r"^\s*Compiling (\S+) ")


class Reporter(Protocol):
    """Receives progress of setup steps; the CLI draws it, the default logs it."""

    def update(self, step: str, detail: str) -> None: ...


class LogReporter:
    """Logs every tenth compiled crate: enough to see a long build move, not a flood."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def update(self, step: str, detail: str) -> None:
        count = self._seen.get(step, 0) + 1
        self._seen[step] = count
        if count % 10 == 1:
            log.info("setup_progress", step=step, lines=count, detail=detail)


class LineReporter:
    """Progress as plain lines, for output that cannot redraw a spinner (a CI log, a file).

    Writes a line when a step first reports, and then at least every ``every`` seconds while
    work goes on: on an update that comes after that long, or on `tick` when the build has been
    silent that long (linking prints nothing for minutes), so a log never goes quiet for more
    than ``every`` seconds plus one tick. Lines read ``[4m05s] server: 212 crates compiled,
    last tokio``. ``clock`` (seconds, monotonic) is injectable for tests. Thread-safe.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._started = self._last = clock()
        self._step: str | None = None
        self._detail = "working"

    def update(self, step: str, detail: str) -> None:
        with self._lock:
            first = step != self._step
            self._step, self._detail = step, detail
            if first or self._due():
                self._emit()

    def tick(self) -> None:
        """Writes the latest progress again if nothing was written for ``every`` seconds."""
        with self._lock:
            if self._due():
                self._emit()

    def _due(self) -> bool:
        return self._clock() - self._last >= self._every

    def _emit(self) -> None:
        self._last = self._clock()
        minutes, seconds = divmod(int(self._last - self._started), 60)
        self._write(f"[{minutes}m{seconds:02d}s] {self._step or 'setup'}: {self._detail}")


@contextlib.contextmanager
def heartbeat(reporter: LineReporter, *, poll: float = 1.0) -> Iterator[None]:
    """Calls ``reporter.tick()`` every ``poll`` seconds from a daemon thread while the block
    runs (the build itself blocks on its output, which may stay silent for minutes)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(poll):
            reporter.tick()

    thread = threading.Thread(target=beat, name="setup-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class CargoProgress:
    """Turns cargo's output lines into "N crates compiled, last: X" updates."""

    def __init__(self, step: str, reporter: Reporter) -> None:
        self.step = step
        self.reporter = reporter
        self.compiled = 0

    def __call__(self, line: str) -> None:
        match = _COMPILING.match(line)
        if match:
            self.compiled += 1
            self.reporter.update(self.step, f"{self.compiled} crates compiled, last {match[1]}")
