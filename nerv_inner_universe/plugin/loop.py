"""A private asyncio loop in a daemon thread: the NERV core is synchronous and thread-safe,
the client is asyncio; this is where the two meet."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running in a daemon thread called ``name``; `stop` ends both."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def in_loop(self) -> bool:
        """True when called from the loop's own thread."""
        return threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedules ``coro`` on the loop; its result (or error) arrives in the returned future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Runs ``coro`` on the loop and waits for it (never call from the loop itself)."""
        if self.in_loop():
            coro.close()
            raise RuntimeError("LoopThread.run called from its own loop: that would deadlock")
        return self.submit(coro).result(timeout)

    def stop(self) -> None:
        """Cancels the work still under way on the loop (whoever waits for it, through `run` or
        `submit`, gets `concurrent.futures.CancelledError` rather than waiting for ever), stops
        the loop and joins its thread (waits up to 10 s for each)."""
        if self.loop.is_running():
            if not self.in_loop():
                concurrent.futures.wait([self.submit(_cancel_the_rest())], timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


async def _cancel_the_rest() -> None:
    """Cancels every other task of the running loop and waits (up to 10 s) until they end."""
    me = asyncio.current_task()
    rest = [task for task in asyncio.all_tasks() if task is not me]
    for task in rest:
        task.cancel()
    if rest:
        await asyncio.wait(rest, timeout=10)
