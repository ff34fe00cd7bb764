"""Process supervision: the server a controller runs, started and stopped without blocking
the event loop, watched while it runs, restarted within a budget when it dies.

The server is spawned from the event loop's thread, never a worker thread: its parent-death
signal follows the thread that spawned it, and the loop's thread lives as long as the
controller. Only the waiting (for `/v1/ping`, for a checkpoint, for the exit) runs in worker
threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import attrs
import structlog

from nerv_inner_universe.controller.errors import (
    ControllerError,
    PortInUseError,
    ServerBinaryMissingError,
    ServerDiedError,
)
from nerv_inner_universe.controller.process import ServerProcess
from nerv_inner_universe.toolchain import find_server

WATCH_INTERVAL = 0.5
"""Seconds between two looks at whether the server still runs."""
MAX_RESTARTS = 5
RESTART_WINDOW = 300.0
"""At most MAX_RESTARTS automatic restarts within this many seconds: a server that keeps
dying (a database that cannot start) is reported instead of restarted forever."""


@attrs.frozen
class ServerExit:
    """Told to ``on_server_exit`` when the server exits without being asked to."""

    returncode: int | None
    last_output: str
    restarting: bool


@attrs.define
class RestartBudget:
    """Allows at most ``limit`` restarts within any ``window`` seconds of ``clock``."""

    limit: int = MAX_RESTARTS
    window: float = RESTART_WINDOW
    clock: Callable[[], float] = time.monotonic
    _restarts: deque[float] = attrs.field(factory=deque, init=False)

    def take(self) -> bool:
        """Whether one more restart is allowed now; counts it when it is."""
        now = self.clock()
        while self._restarts and now - self._restarts[0] > self.window:
            self._restarts.popleft()
        if len(self._restarts) >= self.limit:
            return False
        self._restarts.append(now)
        return True


def server_binary(explicit: Path | None) -> Path:
    """``explicit``, else the spacetimedb-standalone `find_server` finds; raises
    ServerBinaryMissingError pointing to `inner-universe setup`."""
    binary = explicit or find_server()
    if binary is None:
        raise ServerBinaryMissingError(
            "spacetimedb-standalone 1.2.0 was not found ($SPACETIMEDB_STANDALONE, PATH or "
            "the build cache); run `inner-universe setup` to build it"
        )
    return binary


async def start_server(process: ServerProcess) -> None:
    """Starts ``process`` from the calling (event loop) thread and waits for it without
    blocking; a PortInUseError says how to use what already listens there."""
    try:
        await process.start_async()
    except PortInUseError as error:
        raise PortInUseError(
            f"{error}; to use a server already running there, set server_url = "
            f'"http://{process.host}:{process.port}"'
        ) from None


class Supervisor:
    """Runs one `ServerProcess` for a controller. `watch` notices the server exiting on its
    own: it tells ``on_exit``, restarts it when ``restart`` allows (``on_relaunched`` runs
    once the new process is spawned), and otherwise hands ``on_died`` the ServerDiedError."""

    def __init__(
        self,
        process: ServerProcess,
        *,
        stop_timeout: float,
        restart: RestartBudget | None,
        on_exit: Callable[[ServerExit], object] | None,
        on_relaunched: Callable[[], object],
        on_died: Callable[[ServerDiedError], object],
        log: structlog.stdlib.BoundLogger,
    ) -> None:
        self.process = process
        self._stop_timeout = stop_timeout
        self._restart = restart
        self._on_exit = on_exit
        self._on_relaunched = on_relaunched
        self._on_died = on_died
        self._log = log
        self._watcher: asyncio.Task[None] | None = None
        self._paused = False
        self._stopping = False
        """Set when `stop` begins: the watcher restarts nothing from then on."""

    def watch(self) -> None:
        """Starts watching (a task on the running loop); `stop` ends it."""
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="inner-universe-watch")

    async def stop(self) -> int | None:
        """Stops watching, then stops the server durably (`ServerProcess.stop`) in a worker
        thread; returns its exit code (None if it was not running). A restart under way is
        abandoned: its health wait ends, and nothing opens the databases this stop closes."""
        self._stopping = True
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        return await self.process.stop_async(timeout=self._stop_timeout)

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """Stops the server (durably) for the block and starts it again on the same address
        afterwards; the watcher does not count this as an exit."""
        process = self.process
        resume = process.running()
        self._paused = True
        try:
            if resume:
                self._log.info("server_pausing", pid=process.pid)
                await process.stop_async(timeout=self._stop_timeout)
            yield
        finally:
            try:
                if resume:
                    await process.start_async()
                    self._on_relaunched()
            finally:
                self._paused = False

    async def _watch(self) -> None:
        process = self.process
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            if self._paused or process.running():
                continue
            output, pid = process.last_output(), process.pid
            returncode = await process.stop_async()
            if self._stopping:
                return
            restarting = self._restart is not None and self._restart.take()
            self._log.error(
                "server_exited", returncode=returncode, restarting=restarting, output=output
            )
            self._notify(ServerExit(returncode, output, restarting))
            if restarting and await self._relaunch():
                continue
            self._on_died(
                ServerDiedError(
                    f"the server (pid {pid}) exited with code {returncode} (see "
                    f"{process.log_file}); its last output:\n{output}"
                )
            )
            return

    async def _relaunch(self) -> bool:
        """Spawns the server again right away (so a caller told of the exit sees it
        running), then waits for it to answer."""
        try:
            self.process.launch()
            self._on_relaunched()
            await self.process.wait_healthy_async()
        except ControllerError as error:
            self._log.error("server_restart_failed", error=str(error))
            return False
        self._log.info("server_restarted", pid=self.process.pid)
        return True

    def _notify(self, event: ServerExit) -> None:
        if self._on_exit is None:
            return
        try:
            self._on_exit(event)
        except Exception:
            self._log.exception("on_server_exit_failed")
