"""`OrderedWriter`: every write goes through one queue, in order, to the module.

Consecutive events are batched into one `publish_events` call. Connection trouble is retried
with backoff (safe: the reducers are idempotent by id) for up to ``retry_for`` seconds; a write
the module refuses fails its future with a typed error. The queue is bounded: a full queue
makes the submitting thread wait (backpressure), nothing is dropped.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
import time
from typing import Any

import attrs

from nerv_inner_universe.client import (
    DbConnection,
    ReducerFailedError,
    SpacetimeConnectionError,
    SpacetimeError,
)
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv.errors import (
    ConcurrencyConflict,
    NervError,
    RecordConflictError,
    UnknownVersionError,
)
from nerv_inner_universe.plugin.errors import PersistenceError, WriteRefusedError
from nerv_inner_universe.plugin.loop import LoopThread

log = get_logger(__name__)


@attrs.frozen
class Write:
    """One reducer call; ``event`` is set for a `publish_event` that may join a batch."""

    reducer: str
    args: tuple[object, ...]
    what: str
    event: dict[str, object] | None = None
    future: concurrent.futures.Future[None] = attrs.field(factory=concurrent.futures.Future)


@attrs.frozen
class WriterHealth:
    pending: int
    written: int
    failed: int
    retries: int
    last_error: str | None


def refusal(what: str, error: ReducerFailedError) -> NervError:
    """The module's `<code>: <message>` as the NERV error the Recorder contract names."""
    message = error.reducer_message
    code = message.split(":", 1)[0]
    text = f"{what}: {message}"
    if code == "already_exists":
        return RecordConflictError(text)
    if code == "conflict":
        return ConcurrencyConflict(text)
    if code == "not_found":
        return UnknownVersionError(text)
    return WriteRefusedError(text)


class OrderedWriter:
    def __init__(
        self,
        connection: DbConnection,
        loop: LoopThread,
        *,
        queue_size: int,
        batch_size: int,
        retry_for: float,
    ) -> None:
        self._connection = connection
        self._loop = loop
        self._batch_size = batch_size
        self._retry_for = retry_for
        self._slots = threading.BoundedSemaphore(queue_size)
        self._queue: collections.deque[Write] = collections.deque()
        self._wakeup = asyncio.Event()
        self._lock = threading.Lock()
        self._pending = 0
        self._written = 0
        self._failed = 0
        self._retries = 0
        self._last_error: str | None = None
        self._runner = loop.submit(self._run())

    def submit(self, write: Write) -> concurrent.futures.Future[None]:
        """Queues ``write`` (waiting while the queue is full) and returns its future."""
        if self._loop.in_loop():
            raise PersistenceError("writes cannot be submitted from the writer's own loop")
        if self._runner.done():
            raise PersistenceError("the Inner Universe writer has stopped")
        self._slots.acquire()
        with self._lock:
            self._pending += 1
        self._loop.loop.call_soon_threadsafe(self._enqueue, write)
        return write.future

    def barrier(self) -> concurrent.futures.Future[None]:
        """A future that completes once every write submitted before it has completed."""
        return self.submit(Write(reducer="", args=(), what="flush"))

    def health(self) -> WriterHealth:
        with self._lock:
            return WriterHealth(
                self._pending, self._written, self._failed, self._retries, self._last_error
            )

    def stop(self) -> None:
        self._runner.cancel()

    def _enqueue(self, write: Write) -> None:
        self._queue.append(write)
        self._wakeup.set()

    def _done(self, write: Write, error: BaseException | None) -> None:
        with self._lock:
            self._pending -= 1
            if write.reducer:
                if error is None:
                    self._written += 1
                else:
                    self._failed += 1
                    self._last_error = str(error)
        self._slots.release()
        if error is None:
            write.future.set_result(None)
        else:
            write.future.set_exception(error)

    def _take_batch(self) -> list[Write]:
        first = self._queue.popleft()
        batch = [first]
        if first.event is not None:
            while (
                self._queue and self._queue[0].event is not None and len(batch) < self._batch_size
            ):
                batch.append(self._queue.popleft())
        return batch

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._take_batch()
            if len(batch) == 1:
                await self._write_one(batch[0])
            else:
                await self._write_batch(batch)

    async def _write_one(self, write: Write) -> None:
        if not write.reducer:
            self._done(write, None)
            return
        try:
            await self._call(write.reducer, write.args)
        except ReducerFailedError as exc:
            self._done(write, refusal(write.what, exc))
        except (SpacetimeError, PersistenceError) as exc:
            self._done(
                write,
                exc
                if isinstance(exc, PersistenceError)
                else PersistenceError(f"{write.what}: {exc}"),
            )
        else:
            self._done(write, None)

    async def _write_batch(self, batch: list[Write]) -> None:
        """One transaction for the batch; if the module refuses it, each event alone, so
        one bad event fails only itself."""
        events = [write.event for write in batch]
        try:
            await self._call("publish_events", (events,))
        except ReducerFailedError as exc:
            log.warning("batch_refused", size=len(batch), error=exc.reducer_message)
            for write in batch:
                await self._write_one(write)
            return
        except (SpacetimeError, PersistenceError) as exc:
            error = exc if isinstance(exc, PersistenceError) else PersistenceError(str(exc))
            for write in batch:
                self._done(write, error)
            return
        for write in batch:
            self._done(write, None)

    async def _call(self, reducer: str, args: tuple[Any, ...]) -> None:
        """Calls until it succeeds, the module refuses, or ``retry_for`` runs out."""
        deadline = time.monotonic() + self._retry_for
        delay = 0.05
        while True:
            try:
                await self._connection.call_reducer(reducer, *args)
            except SpacetimeConnectionError as exc:  # includes unknown outcomes and timeouts
                if time.monotonic() + delay > deadline:
                    raise PersistenceError(
                        f"{reducer} could not be written within {self._retry_for:.0f} s: {exc}"
                    ) from exc
                with self._lock:
                    self._retries += 1
                    self._last_error = str(exc)
                log.warning("write_retry", reducer=reducer, delay=delay, error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            else:
                return
