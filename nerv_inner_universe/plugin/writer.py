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

import attrs

from nerv_inner_universe import contract
from nerv_inner_universe.client import (
    DbConnection,
    SpacetimeConnectionError,
    SpacetimeError,
)
from nerv_inner_universe.contract import ErrorCode, ReducerCall, ReducerRefusedError
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv.errors import (
    ConcurrencyConflictError,
    NervError,
    RecordConflictError,
    UnknownVersionError,
)
from nerv_inner_universe.plugin.errors import (
    PersistenceError,
    SnapshotRequiredError,
    WriteRefusedError,
)
from nerv_inner_universe.plugin.loop import LoopThread

log = get_logger(__name__)


@attrs.frozen
class Write:
    """One reducer call (None: a barrier that only waits for the writes before it), described
    by ``what`` in errors; ``event`` is set for a `publish_event` that may join a batch."""

    call: ReducerCall | None
    what: str
    event: contract.EventInput | None = None
    future: concurrent.futures.Future[None] = attrs.field(factory=concurrent.futures.Future)


@attrs.frozen
class WriterHealth:
    """Counts of writes since the writer started, and the last error (retried or final)."""

    pending: int
    written: int
    failed: int
    retries: int
    last_error: str | None


_REFUSALS: dict[ErrorCode | None, type[NervError]] = {
    ErrorCode.ALREADY_EXISTS: RecordConflictError,
    ErrorCode.CONFLICT: ConcurrencyConflictError,
    ErrorCode.NOT_FOUND: UnknownVersionError,
    ErrorCode.SNAPSHOT_REQUIRED: SnapshotRequiredError,
}


def refusal(what: str, error: ReducerRefusedError) -> NervError:
    """The module's refusal as the NERV error the Recorder contract names for its code
    (WriteRefusedError for the others), caused by ``error``."""
    result = _REFUSALS.get(error.code, WriteRefusedError)(f"{what}: {error.refusal}")
    result.__cause__ = error
    return result


class OrderedWriter:
    """Writes `Write`s through ``connection`` one at a time, in submission order; runs on
    ``loop``. ``queue_size`` writes may wait; ``batch_size`` events at most go into one
    `publish_events`; connection trouble is retried for ``retry_for`` seconds."""

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
        return self.submit(Write(None, "flush"))

    def health(self) -> WriterHealth:
        """Counts and the last error, consistent with each other."""
        with self._lock:
            return WriterHealth(
                self._pending, self._written, self._failed, self._retries, self._last_error
            )

    def stop(self) -> None:
        """Stops writing; what is still queued is left unwritten (flush first)."""
        self._runner.cancel()

    def _enqueue(self, write: Write) -> None:
        self._queue.append(write)
        self._wakeup.set()

    def _done(self, write: Write, error: BaseException | None) -> None:
        with self._lock:
            self._pending -= 1
            if write.call is not None:
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
        if write.call is None:
            self._done(write, None)
            return
        try:
            await self._call(write.call)
        except ReducerRefusedError as exc:
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
        events = [write.event for write in batch if write.event is not None]
        try:
            await self._call(contract.publish_events(events=events))
        except ReducerRefusedError as exc:
            log.warning("batch_refused", size=len(batch), error=str(exc.refusal))
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

    async def _call(self, call: ReducerCall) -> None:
        """Calls until it succeeds, the module refuses, or ``retry_for`` runs out."""
        reducer = call.reducer
        deadline = time.monotonic() + self._retry_for
        delay = 0.05
        while True:
            try:
                await call.send(self._connection)
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
