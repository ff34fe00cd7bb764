"""`OrderedWriter`: every write goes through one queue, in order, to the module.

Consecutive events are batched into one `publish_events` call. Connection trouble, and the
``unavailable`` refusal of a database closed while its server stops, are retried with backoff
(safe: the reducers are idempotent by id) for up to ``retry_for`` seconds; a write the module
refuses otherwise fails its future with a typed error. The queue is bounded: a full queue
makes the submitting thread wait (backpressure), nothing is dropped.

Retention: SpacetimeDB 1.2.0 acknowledges a transaction before its commit-log write (fsynced
every 500 ms), so a server that is SIGKILLed, OOM-killed or loses power can forget the last
acknowledged writes. The writer keeps every acknowledged write until the connection it was
acknowledged on has stayed up for ``durability_window`` seconds after it (then the server has
had that long to write and fsync it), and at most ``durability_retain`` of them taking at most
``durability_retain_bytes``: when that many are kept, new writes wait until the oldest age out.
An acknowledged batch of events is kept as one entry, its events packed (`PackedEvents`, a few
dozen bytes an event besides its texts), so the window holds several seconds of the writer's
full pace in bounded memory. After the connection drops
(`connection_lost`), and before anything new, the writer finds the kept writes the server lacks
(a suffix of them, `_first_missing`) and sends those again, in the original order. The module
treats an identical event, version or delta with a known id as a no-op, so sending one the
server did keep changes nothing, and one it forgot is written again.

Direct writes: with a `DirectLane`, an event whose caller waits (`write`) is sent on the
caller's own thread over the lane's connection when the writer is idle: its loop waiting for
work, nothing submitted, queued, in flight or due to be sent again, and room to keep it. The
loop sends nothing while a direct write is in flight, so this process's writes keep one total
order, the order they are kept in. An acknowledged direct write is kept like a queued one,
stamped with the connection epoch read before it was sent. When the lane fails before the
outcome is known, the write goes through the queue, ahead of what was submitted meanwhile and
pending all along (a barrier submitted meanwhile waits for it, `_direct_over`); only a lane
connection that closed during the call also counts as a connection drop (what was kept is
checked and sent again first): a timeout, or a connection that could not be opened, leaves the
kept writes be, since a server that died drops the main connection too (`_direct_failed`).
The module's refusal fails it as the queue's would (`failure`).
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import concurrent.futures
import itertools
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence

import attrs

from nerv_inner_universe import contract
from nerv_inner_universe.client import (
    ArgumentError,
    CallTimeoutError,
    OutcomeUnknownError,
    SpacetimeConnectionError,
    SpacetimeError,
)
from nerv_inner_universe.contract import (
    ErrorCode,
    ReducerCall,
    ReducerCaller,
    ReducerRefusedError,
)
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv.errors import (
    ConcurrencyConflictError,
    NervError,
    RecordConflictError,
    UnknownVersionError,
)
from nerv_inner_universe.plugin.direct import DirectLane
from nerv_inner_universe.plugin.errors import (
    OversizedWriteError,
    PersistenceError,
    RateLimitedError,
    SnapshotRequiredError,
    WriteRefusedError,
)
from nerv_inner_universe.plugin.loop import LoopThread
from nerv_inner_universe.plugin.packed import PackedEvents
from nerv_inner_universe.plugin.retrying import Backoff

log = get_logger(__name__)

RESEND_IN_FLIGHT = 32
"""Calls re-sending kept writes that may await their outcome at once."""

STOPPED = "the Inner Universe writer stopped before writing it"
"""The PersistenceError of the writes `OrderedWriter.stop` cut short or left unwritten."""

CLOSING = "the Inner Universe writer is closing: it takes no more writes"
"""The PersistenceError of a write submitted after the last barrier (`OrderedWriter.barrier`)."""

_SETTLED: concurrent.futures.Future[None] = concurrent.futures.Future()
_SETTLED.set_result(None)
"""The future of every kept write: its own (a lock, a condition, the caller's callbacks: about
1 KiB) is settled and need not be kept."""


def _size_of(write: Write) -> int:
    return 0 if write.event is None else event_bytes(write.event)


@attrs.frozen
class Write:
    """One reducer call (None, without an ``event``: a barrier that only waits for the writes
    before it), described by ``what`` in errors; ``event`` is set for a `publish_event` that
    may join a batch. ``future`` completes with the write (None: nobody waits for it,
    `OrderedWriter.queue`). `of_event` makes an event's write without its call and
    description, which are made when needed (an event is kept for ``durability_window``
    seconds after it is written, so this cuts what each costs to keep)."""

    _call: ReducerCall | None
    _what: str
    event: contract.EventInput | None = None
    future: concurrent.futures.Future[None] | None = attrs.field(factory=concurrent.futures.Future)
    event_size: int = attrs.field(default=attrs.Factory(_size_of, takes_self=True))
    """`event_bytes` of ``event`` (0 without one), counted once, when the write is made: the
    publisher's `OrderedWriter.refuse_oversized` and the writer's batching both read it."""

    @classmethod
    def of_event(
        cls, event: contract.EventInput, future: concurrent.futures.Future[None] | None
    ) -> Write:
        """The `publish_event` of ``event``."""
        return cls(None, "", event, future)

    @property
    def call(self) -> ReducerCall | None:
        """The reducer call (None: a barrier)."""
        if self._call is None and self.event is not None:
            return contract.publish_event(event=self.event)
        return self._call

    @property
    def what(self) -> str:
        """What the write is, for errors and logs (``event 'e1'``)."""
        if not self._what and self.event is not None:
            return f"event {self.event.event_id!r}"
        return self._what

    @property
    def is_barrier(self) -> bool:
        """True for a barrier (no call)."""
        return self._call is None and self.event is None


@attrs.frozen
class WriterHealth:
    """Counts of writes since the writer started, and what went wrong.

    ``pending``: writes submitted (or on the lane) and not yet stored or failed, and flushes
    (barriers) not yet through; ``written`` and ``failed``: writes stored, and writes that
    failed for good (their caller or ``on_failure`` got the error; writes `stop` cut short or
    left unwritten too), barriers not counted. ``retries``: attempts that met connection
    trouble or the ``unavailable`` refusal and were tried again. ``last_error``: the error of
    the last write that failed for good or was lost (``unrestorable``), None while none has;
    a retried error that a later attempt got past is not one (see ``trouble``).

    ``retained``: acknowledged writes kept until they may be considered durable, and
    ``retained_bytes`` what keeping them costs, about (`_Retained.nbytes`); ``resent``:
    writes sent again after a connection drop; ``unrestorable``: acknowledged writes the module
    refused when they were sent again (another writer changed the data in between: they are
    lost, and logged as ``acknowledged_write_unrestorable``)."""

    pending: int
    written: int
    failed: int
    retries: int
    last_error: str | None
    retained: int = 0
    retained_bytes: int = 0
    resent: int = 0
    unrestorable: int = 0
    direct: int = 0
    """Writes that ended on their caller's thread (`DirectLane`): stored or refused there."""
    direct_fallbacks: int = 0
    """Times the lane failed before an outcome was known (connection trouble, a timeout, its
    connection refused); each time, that write went through the queue instead. Writes that
    take the queue because the lane is not to be had (refused for good, waiting to reopen, the
    writer at work) are not counted."""
    trouble: str | None = None
    """The connection trouble (or ``unavailable`` refusal) the writer's latest attempt met,
    while the module has answered no call since: set while it retries (and after its retries
    ran out), None again once the module stores or refuses a call. A lane failure is not
    counted here (see ``direct_fallbacks``)."""


RETAINED_WRITE_BYTES = 1024
"""What keeping a write other than an event is counted as costing, bytes (its call's objects;
its arguments are not measured)."""


@attrs.define(eq=False)
class _Retained:
    """Acknowledged writes kept for re-sending, stamped with when they were last acknowledged:
    ``at`` (the writer's clock, seconds) on connection ``epoch``. ``kept``: events acknowledged
    together, packed, or one other write."""

    kept: PackedEvents | Write
    at: float
    epoch: int

    def __len__(self) -> int:
        return len(self.kept) if isinstance(self.kept, PackedEvents) else 1

    @property
    def nbytes(self) -> int:
        """What keeping it costs, about, in bytes."""
        return self.kept.nbytes if isinstance(self.kept, PackedEvents) else RETAINED_WRITE_BYTES

    def writes(self) -> list[Write]:
        """The kept writes, in order (events unpacked)."""
        if isinstance(self.kept, PackedEvents):
            return [Write.of_event(event, _SETTLED) for event in self.kept.events()]
        return [self.kept]


class _Kept:
    """The writes of ``entries`` as one sequence, by index (`write`), unpacking an entry's
    events only when asked for one of them (the last entry unpacked is remembered)."""

    def __init__(self, entries: Sequence[_Retained]) -> None:
        self.entries = list(entries)
        self._starts = list(itertools.accumulate((len(entry) for entry in self.entries), initial=0))
        self._unpacked: tuple[int, list[Write]] = (-1, [])

    def __len__(self) -> int:
        return self._starts[-1]

    def locate(self, index: int) -> tuple[int, int]:
        """(the entry, the offset in it) of write ``index``."""
        entry = bisect.bisect_right(self._starts, index) - 1
        return entry, index - self._starts[entry]

    def write(self, index: int) -> Write:
        """Write ``index``."""
        entry, offset = self.locate(index)
        if self._unpacked[0] != entry:
            self._unpacked = (entry, self.entries[entry].writes())
        return self._unpacked[1][offset]


_REFUSALS: dict[ErrorCode | None, type[NervError]] = {
    ErrorCode.ALREADY_EXISTS: RecordConflictError,
    ErrorCode.CONFLICT: ConcurrencyConflictError,
    ErrorCode.NOT_FOUND: UnknownVersionError,
    ErrorCode.SNAPSHOT_REQUIRED: SnapshotRequiredError,
    ErrorCode.UNAVAILABLE: PersistenceError,
    ErrorCode.IMPORT_OPEN: PersistenceError,
}


def transient(error: SpacetimeError) -> bool:
    """True when the same call may succeed later: connection trouble (its outcome may be
    unknown) or the ``unavailable`` refusal of a database closed while its server stops."""
    return isinstance(error, SpacetimeConnectionError) or (
        isinstance(error, ReducerRefusedError) and error.retryable
    )


def concerns_the_writes(error: BaseException) -> bool:
    """True when ``error`` is about what was written, not about reaching the server: the
    module refused it (not ``unavailable``, retried already, nor ``import_open``, which
    refuses every write of a half-imported database alike), the client could not encode or
    send it (`ArgumentError`: text UTF-8 cannot carry, a value that does not fit, a request
    over a size limit), or an error neither the client nor the writer raises. Such a failure
    of a batch is one of its events' own: each is then written alone."""
    if isinstance(error, ReducerRefusedError):
        return error.code is not ErrorCode.IMPORT_OPEN
    if isinstance(error, ArgumentError):
        return True
    return not isinstance(error, SpacetimeError | PersistenceError)


def failure(what: str, error: Exception) -> NervError:
    """``error`` of the write ``what`` as the typed error its future fails with: `refusal` for
    the module's, WriteRefusedError for a write the client cannot encode or send (retrying
    cannot help), PersistenceError for the rest (connection trouble past ``retry_for``...);
    each caused by ``error``."""
    if isinstance(error, PersistenceError):
        return error
    if isinstance(error, ReducerRefusedError):
        return refusal(what, error)
    if isinstance(error, ArgumentError):
        result: NervError = WriteRefusedError(f"{what}: {error}")
    elif isinstance(error, SpacetimeError):
        result = PersistenceError(f"{what}: {error}")
    else:
        result = PersistenceError(f"{what}: {type(error).__name__}: {error}")
    result.__cause__ = error
    return result


def refusal(what: str, error: ReducerRefusedError) -> NervError:
    """The module's refusal as the NERV error the Recorder contract names for its code
    (RateLimitedError for ``rate_limited``; PersistenceError for ``unavailable``, which was
    retried for ``retry_for`` already, and for ``import_open``, a database half-imported;
    WriteRefusedError for the others), caused by ``error``."""
    message = f"{what}: {error.refusal}"
    result = (
        RateLimitedError(message, error.refusal.resets_at)
        if error.code is ErrorCode.RATE_LIMITED
        else _REFUSALS.get(error.code, WriteRefusedError)(message)
    )
    result.__cause__ = error
    return result


EVENT_OVERHEAD = 128
"""What an event costs in a message besides its texts (field names, quotes, the time), bytes."""


def _events_call(events: Sequence[contract.EventInput]) -> ReducerCall:
    """`publish_event` for one event, `publish_events` for several."""
    if len(events) == 1:
        return contract.publish_event(event=events[0])
    return contract.publish_events(events=list(events))


def _call_of(write: Write) -> ReducerCall:
    call = write.call
    assert call is not None  # barriers are never kept
    return call


def event_bytes(event: contract.EventInput) -> int:
    """About what ``event`` takes in a `publish_events` call and in its echo, in bytes (its
    texts' UTF-8 bytes, plus `EVENT_OVERHEAD`)."""
    return (
        text_bytes(event.data)
        + text_bytes(event.metadata)
        + text_bytes(event.event_id)
        + text_bytes(event.event_type)
        + text_bytes(event.source or "")
        + EVENT_OVERHEAD
    )


def text_bytes(text: str) -> int:
    """``text``'s length in UTF-8 bytes (its length when it is ASCII, which Python knows without
    looking at it; a lone surrogate counts as the 3 bytes it would take)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


ECHO_FACTOR = 4
"""How many times a write's text (`write_bytes`) the answer to it may take: the answer echoes
the call's arguments and, to a connection that follows the table it writes, the rows it inserts
(twice), and in the JSON protocol each may be JSON text inside a JSON string, whose escapes can
double it (twice again)."""


def write_budget(max_message_bytes: int) -> int:
    """The most text (`write_bytes`) one write, or one batch of events, may carry so that the
    answer to it fits a connection's ``max_message_bytes``: a `ECHO_FACTOR`-th of it, in
    bytes. The one rule for what a write may be: `OrderedWriter` batches within it and refuses
    a single write over it (`OversizedWriteError`)."""
    return max_message_bytes // ECHO_FACTOR


def write_bytes(write: Write) -> int:
    """About what ``write``'s arguments take in its call and in its answer's echo, in bytes:
    `event_bytes` for an event; for another call its texts' UTF-8 bytes plus a little for each
    other value and field name (`_value_bytes`); 0 for a barrier."""
    if write.event is not None:
        return write.event_size
    call = write.call
    return 0 if call is None else _value_bytes(call.args)


def _value_bytes(value: object) -> int:
    if isinstance(value, str):
        return text_bytes(value) + 2
    if isinstance(value, bytes):
        return len(value) + 2
    if isinstance(value, list | tuple):
        return sum(_value_bytes(item) + 1 for item in value) + 2
    kind = type(value)
    if attrs.has(kind):
        names = [field.name for field in attrs.fields(kind)]
        return sum(_value_bytes(getattr(value, name)) + len(name) + 4 for name in names)
    return 8  # a number, a bool, None, a timestamp's parts


class OrderedWriter:
    """Writes `Write`s through ``connection`` one at a time, in submission order; runs on ``loop``.
    ``queue_size`` writes may wait; ``batch_size`` events at most, and about ``batch_bytes`` of
    their text at most (`event_bytes`; `submit` refuses one write over it), go into one
    `publish_events`, whose reply echoes them; connection trouble is retried for ``retry_for``
    seconds. Acknowledged writes are kept for ``durability_window`` seconds of connected time
    (at most ``durability_retain`` of them, about ``durability_retain_bytes`` at most: an
    acknowledged batch is one entry, its events packed) and sent again after a connection drop
    (module docstring). Whoever owns the connection calls `connection_lost` and
    `connection_back` from ``loop`` (`DbConnection.on_disconnect` / `on_connect`). ``clock``
    (seconds) times the retention. ``on_durable(writes)`` is called on ``loop`` with writes no
    longer kept, in order, a second's or 256 writes' worth at a time (those still kept when the
    writer stops are never passed; events come unpacked, without their callers' futures).
    ``stored(write)`` says whether the server has a kept write's row now (False: unknown); with
    it, only what the server lacks is sent again (see `_first_missing`).
    ``on_failure(write, error)`` is called on ``loop`` for each write without a future (`queue`)
    that failed."""

    def __init__(
        self,
        connection: ReducerCaller,
        loop: LoopThread,
        *,
        queue_size: int,
        batch_size: int,
        batch_bytes: int,
        retry_for: float,
        durability_window: float,
        durability_retain: int,
        durability_retain_bytes: int,
        clock: Callable[[], float] = time.monotonic,
        on_durable: Callable[[list[Write]], None] | None = None,
        stored: Callable[[Write], Awaitable[bool]] | None = None,
        on_failure: Callable[[Write, BaseException], None] | None = None,
        direct: DirectLane | None = None,
    ) -> None:
        self._connection = connection
        self._direct = direct
        self._on_failure = on_failure
        self._clock = clock
        self._on_durable = on_durable
        self._stored = stored
        self._durable: list[Write] = []
        self._durable_told = clock()
        self._loop = loop
        self._batch_size = batch_size
        self._batch_bytes = batch_bytes
        self._retry_for = retry_for
        self._window = durability_window
        self._retain_max = durability_retain
        self._retain_bytes = durability_retain_bytes
        self._queue_size = queue_size
        self._queue: collections.deque[Write] = collections.deque()
        self._incoming: list[Write] = []
        """Submitted writes not yet handed to the loop (under ``_lock``)."""
        self._idle = False
        """Whether the loop waits for a write (under ``_lock``): only then does a submission
        wake it; a busy loop takes what came in before each batch."""
        self._retained: collections.deque[_Retained] = collections.deque()
        self._retained_writes = 0
        self._retained_nbytes = 0
        """The writes ``_retained`` holds, and what they cost (`_Retained.nbytes`)."""
        self._epoch = 0
        """Incremented by every connection drop: a write acknowledged in an earlier epoch may
        have been forgotten by a server that died."""
        self._wakeup = asyncio.Event()
        # Under ``_lock``: ``_direct_active``, a direct write is in flight (the loop sends
        # nothing); ``_busy``, the loop is at work, from its check that none is (`_claim`)
        # until it waits for work again (no direct write starts); ``_direct_waited``, the
        # loop waits for ``_direct_idle``; ``_stopped``, `stop` ran (nothing more is queued);
        # ``_sealed``, the last barrier was submitted (no new write is taken).
        self._direct_active = self._busy = self._direct_waited = self._stopped = False
        self._sealed = False
        self._direct_idle = asyncio.Event()
        self._direct_count = self._direct_fallbacks = 0
        self._in_flight: list[Write] = []
        """The writes the loop took and that have not ended, in order (they end in order:
        `_all_done` takes them off the front); `stop` fails them, their outcome unknown."""
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        """Notified when writes complete, for submitters waiting on a full queue."""
        self._pending = 0
        self._written = 0
        self._failed = 0
        self._retries = 0
        self._resent = 0
        self._unrestorable = 0
        self._last_error: str | None = None
        self._trouble: str | None = None
        self._runner = loop.run(self._start())

    def submit(self, write: Write) -> concurrent.futures.Future[None]:
        """Queues ``write`` (waiting while the queue is full) and returns its future;
        OversizedWriteError, and nothing is queued, when it is over ``batch_bytes``
        (`refuse_oversized`)."""
        if write.future is None:
            raise PersistenceError(f"{write.what} has no future to return: queue it instead")
        self.refuse_oversized(write)
        self.queue(write)
        return write.future

    def write(self, write: Write) -> None:
        """Writes ``write`` and waits until it is stored: an event over the `DirectLane` on
        this thread when the writer is idle (module docstring), else (or when the lane fails
        with nothing sent or the outcome unknown) through the queue. Other writes always take
        the queue: the main connection's answer to them carries the rows its subscriptions
        (a graph's view, a followed store) show, before the call returns; an event's own row
        is passed over by the follower whenever it comes. Raises what its future would: the
        typed error of `failure`; OversizedWriteError, nothing sent, when it is over
        ``batch_bytes``."""
        if write.future is None:
            raise PersistenceError(f"{write.what} has no future to wait for: queue it instead")
        self.refuse_oversized(write)
        if not self._sent_directly(write):
            self.queue(write)
        write.future.result()

    def _sent_directly(self, write: Write) -> bool:
        """Sends ``write`` over the lane if the writer is idle; True when the lane took it: it
        ended there (its future settled), or the lane failed before an outcome was known and it
        went into the queue ahead of every write submitted since (`_direct_over`), pending all
        along; False when it must take the queue."""
        direct, call = self._direct, write.call
        if (
            direct is None
            or write.event is None  # only events: see `write`
            or call is None
            or not direct.usable
            or self._loop.in_loop()
        ):
            return False
        with self._lock:
            if (
                self._busy  # the loop is at work (sending, sending again, making room)
                or self._pending
                or self._direct_active
                or self._sealed
                or self._runner.done()
                or self._resend_due()
                or self._retained_writes >= self._retain_max
                or self._retained_nbytes >= self._retain_bytes
            ):
                return False
            self._direct_active = True
            self._pending += 1
            epoch = self._epoch
        requeue = settled = False
        try:
            error: Exception | None = None
            try:
                direct.send(call)
            except (SpacetimeConnectionError, ReducerRefusedError) as exc:
                if transient(exc):
                    self._direct_failed(exc)
                    requeue = True
                    return True
                error = exc
            except Exception as exc:  # typed by `failure`, as the queue's would be
                error = exc
            self._age_out(self._clock())
            if error is None or isinstance(error, ReducerRefusedError):
                self._answered()
            self._done(write, None if error is None else failure(write.what, error), epoch)
            settled = True
            with self._lock:  # after: `direct` never counts a write not yet ended
                self._direct_count += 1
            return True
        finally:
            self._direct_over(write, epoch, requeue=requeue, settled=settled)

    def _direct_failed(self, error: SpacetimeError) -> None:
        """The lane failed before an outcome was known; the write goes through the queue. When
        its connection closed during the call (the server may have died), that counts as a
        connection drop at once, before any other write may start: what was kept is checked
        and sent again first. A call that timed out, a connection that could not be opened or
        was refused, or a retryable refusal leave the kept writes as they are (a server that
        did die drops the main connection too, and that drop counts). Neither the writer's
        ``last_error`` nor its ``trouble``: the write has not failed, and the main connection
        may be fine."""
        log.warning("direct_write_failed", error=str(error))
        dropped = isinstance(error, OutcomeUnknownError) and not isinstance(error, CallTimeoutError)
        with self._lock:
            self._epoch += dropped
            self._direct_fallbacks += 1

    def _direct_over(self, write: Write, epoch: int, *, requeue: bool, settled: bool) -> None:
        """The direct ``write`` (sent on connection ``epoch``) is over: the loop may send
        again. With ``requeue`` it goes first into the queue, still pending (it was taken
        before every write submitted since, so a barrier submitted meanwhile waits for it);
        fails with PersistenceError instead when the writer has stopped. Neither ``settled``
        (by `_done`) nor requeued (its thread was interrupted), it fails, its outcome
        unknown, so it is counted as failed rather than left pending."""
        error: PersistenceError | None = None
        with self._lock:
            self._direct_active = False
            wake = False
            if requeue and not (self._stopped or self._runner.done()):
                self._incoming.insert(0, write)
                wake, self._idle = self._idle, False
            elif requeue:
                error = PersistenceError(STOPPED)
            elif not settled:
                error = PersistenceError(f"{write.what}: its direct write was cut short")
            waited, self._direct_waited = self._direct_waited, False
        if error is not None:
            self._done(write, error, epoch)
        if waited:
            self._on_loop(self._direct_idle.set)
        if wake:
            self._on_loop(self._wakeup.set)

    def _on_loop(self, callback: Callable[[], object]) -> None:
        """Runs ``callback`` on the loop soon; nothing once the loop is closed (the writer
        stopped: nothing more is sent)."""
        try:
            self._loop.loop.call_soon_threadsafe(callback)
        except RuntimeError:
            log.debug("writer_loop_closed")

    async def _claim(self) -> None:
        """Waits while a direct write is in flight, then marks the loop at work (in one step
        under ``_lock``, so neither starts while the other is under way)."""
        while True:
            with self._lock:
                if not self._direct_active:
                    self._busy = True
                    return
                self._direct_waited = True
                self._direct_idle.clear()
            await self._direct_idle.wait()

    def refuse_oversized(self, write: Write) -> None:
        """OversizedWriteError when ``write`` alone is over ``batch_bytes`` (`write_bytes`):
        the answer to it could not fit the connection's ``max_message_bytes``
        (`write_budget`), so sending it would drop the connection, the outcome unknown, on
        every try. Check before queueing: nothing is sent."""
        size = write_bytes(write)
        if size > self._batch_bytes:
            raise OversizedWriteError(write.what, size, self._batch_bytes, size * ECHO_FACTOR)

    def queue(self, write: Write) -> None:
        """Queues ``write`` (waiting while the queue is full); a failure of a write without a
        future goes to ``on_failure``. PersistenceError, nothing queued, once the writer stopped
        or took its last barrier."""
        self._enqueue(write, last=False)

    def _enqueue(self, write: Write, *, last: bool) -> None:
        """`queue`; with ``last``, no write is taken after ``write``."""
        if self._loop.in_loop():
            raise PersistenceError("writes cannot be submitted from the writer's own loop")
        if self._runner.done():
            raise PersistenceError("the Inner Universe writer has stopped")
        with self._lock:
            while self._pending >= self._queue_size:
                self._room.wait()
            if self._stopped:
                raise PersistenceError("the Inner Universe writer has stopped")
            if self._sealed:
                raise PersistenceError(CLOSING)
            self._sealed = last
            self._pending += 1
            self._incoming.append(write)
            wake, self._idle = self._idle, False
        if wake:  # one wake-up of an idle loop carries every write submitted until it runs
            self._loop.loop.call_soon_threadsafe(self._wakeup.set)

    def barrier(self, *, last: bool = False) -> concurrent.futures.Future[None]:
        """A future that completes once every write submitted before it has completed, and
        what a connection drop may have lost has been sent again (else it fails with
        `PersistenceError`). With ``last`` (a flush before closing), no write is taken after
        it: `submit`, `queue` and `write` raise PersistenceError, nothing queued (a write the
        lane took before it and that falls back to the queue still goes ahead of it)."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._enqueue(Write(None, "flush", future=future), last=last)
        return future

    def connection_lost(self) -> None:
        """The connection dropped: every write kept so far must be sent again. Call on the
        writer's loop."""
        with self._lock:  # a failed direct write counts one too, from its thread
            self._epoch += 1

    def connection_back(self) -> None:
        """The connection is up again: send what was kept now, even with nothing queued. Call
        on the writer's loop."""
        self._wakeup.set()

    def health(self) -> WriterHealth:
        """Counts and the last error, consistent with each other."""
        with self._lock:
            return WriterHealth(
                self._pending,
                self._written,
                self._failed,
                self._retries,
                self._last_error,
                retained=self._retained_writes,
                retained_bytes=self._retained_nbytes,
                resent=self._resent,
                unrestorable=self._unrestorable,
                direct=self._direct_count,
                direct_fallbacks=self._direct_fallbacks,
                trouble=self._trouble,
            )

    def stop(self) -> None:
        """Stops writing and waits until the writer's task has ended; what is still queued is
        left unwritten (flush first): its futures, and those of writes cut short in flight,
        fail with PersistenceError, so no caller waits for ever."""
        if not self._runner.done():
            self._loop.run(self._cancel())

    async def _start(self) -> asyncio.Task[None]:
        return asyncio.create_task(self._run())

    async def _cancel(self) -> None:
        self._runner.cancel()
        await asyncio.gather(self._runner, return_exceptions=True)
        with self._lock:
            self._stopped = True
        self._take_incoming()
        stopped = PersistenceError(STOPPED)
        cut_short, self._in_flight = self._in_flight, []  # their outcome is unknown
        self._all_done(cut_short, stopped, self._epoch)
        while self._queue:
            self._done(self._queue.popleft(), stopped, self._epoch)

    def _take_incoming(self) -> None:
        """Moves the submitted writes into the queue, in submission order."""
        with self._lock:
            self._queue.extend(self._incoming)
            self._incoming.clear()

    async def _wait_for_work(self, *, since_now: bool = True) -> None:
        """Waits until a write is submitted or `connection_back` (returns at once when a write
        came in already); with ``since_now`` False a `connection_back` since the last wait
        counts too."""
        with self._lock:
            if self._incoming:
                return
            self._idle = True
            self._busy = False
        if since_now:
            self._wakeup.clear()  # a submitter's wake-up runs on this loop, so after this
        await self._wakeup.wait()
        self._wakeup.clear()
        with self._lock:
            self._idle = False

    def _done(self, write: Write, error: BaseException | None, epoch: int) -> None:
        """Ends ``write`` (sent on connection ``epoch``): acknowledged when ``error`` is None."""
        self._all_done((write,), error, epoch)

    def _all_done(self, writes: Sequence[Write], error: BaseException | None, epoch: int) -> None:
        """`_done` for each of ``writes`` (one write, or a batch of events), with one lock and
        one wake-up of the submitters."""
        now = self._clock()
        kept = (
            [_Retained(item, now, epoch) for item in self._kept_form(writes)] if not error else []
        )
        ended = sum(not write.is_barrier for write in writes)
        flying = self._in_flight
        if writes and flying and flying[0] is writes[0]:  # a new list: a batch iterates its own
            self._in_flight = flying[len(writes) :]
        with self._lock:
            self._pending -= len(writes)
            self._room.notify_all()
            if error is None:
                self._written += ended
            elif ended:
                self._failed += ended
                self._last_error = str(error)
            for entry in kept:
                self._retained.append(entry)
                self._count(entry, 1)
        for write in writes:
            if write.future is None:
                if error is not None and self._on_failure is not None:
                    try:
                        self._on_failure(write, error)
                    except Exception:
                        log.exception("on_failure_failed", what=write.what)
            elif error is None:
                write.future.set_result(None)
            else:
                write.future.set_exception(error)

    @staticmethod
    def _kept_form(writes: Sequence[Write]) -> list[PackedEvents | Write]:
        """What keeps ``writes`` once acknowledged: their events packed together, another
        write without its caller's future; barriers are not kept."""
        events = [write.event for write in writes if write.event is not None]
        kept: list[PackedEvents | Write] = [PackedEvents.of(events)] if events else []
        kept += [
            write if write.future is None else attrs.evolve(write, future=_SETTLED)
            for write in writes
            if write.event is None and not write.is_barrier
        ]
        return kept

    def _keep(self, entry: _Retained, at: int) -> None:
        """Adds ``entry`` to the kept writes at index ``at``."""
        with self._lock:
            self._retained.insert(at, entry)
            self._count(entry, 1)

    def _forget(self, entry: _Retained) -> None:
        """Takes ``entry`` out of the kept writes."""
        with self._lock:
            self._retained.remove(entry)
            self._count(entry, -1)

    def _count(self, entry: _Retained, sign: int) -> None:
        """Counts ``entry`` in (``sign`` 1) or out (-1) of the retained totals; under
        ``_lock``."""
        self._retained_writes += sign * len(entry)
        self._retained_nbytes += sign * entry.nbytes

    def _take_batch(self) -> list[Write]:
        """The next write, with the events queued right behind it when it is an event: at
        most ``batch_size`` of them, and ``batch_bytes`` of their text (`event_bytes`)."""
        queue = self._queue
        first = queue.popleft()
        batch = [first]
        if first.event is not None:
            size = first.event_size
            room = self._batch_size - 1
            while room and queue and queue[0].event is not None:
                size += queue[0].event_size
                if size > self._batch_bytes:
                    break
                batch.append(queue.popleft())
                room -= 1
        return batch

    async def _run(self) -> None:
        while True:
            await self._claim()
            self._take_incoming()
            if self._resend_due():
                try:
                    await self._resend()
                except PersistenceError as exc:
                    if not self._resend_failed(exc):
                        await self._wait_for_work(since_now=False)  # a write or the connection back
                    continue
            if not self._queue:
                await self._wait_for_work()
                continue
            await self._make_room()
            batch = self._in_flight = self._take_batch()
            if len(batch) == 1:
                await self._write_one(batch[0])
            else:
                await self._write_batch(batch)

    def _resend_due(self) -> bool:
        return bool(self._retained) and self._retained[0].epoch < self._epoch

    def _resend_failed(self, error: PersistenceError) -> bool:
        """The kept writes could not be sent again within ``retry_for``: they stay kept; the
        writes waiting behind them fail (they cannot go first). False when none were waiting
        (then the writer waits for `connection_back` or a new write before trying again)."""
        log.error("resend_failed", retained=self._retained_writes, error=str(error))
        with self._lock:
            self._trouble = str(error)  # the kept writes stay kept: none has failed yet
        if not self._queue:
            return False
        failure = PersistenceError(
            f"{self._retained_writes} acknowledged write(s) could not be sent again to the "
            f"restarted server, so later writes cannot be either: {error}"
        )
        failure.__cause__ = error
        epoch = self._epoch
        while self._queue:
            self._done(self._queue.popleft(), failure, epoch)
        return True

    async def _make_room(self) -> None:
        """Forgets kept writes that are durable by now; waits while ``durability_retain`` are
        kept, or ``durability_retain_bytes`` (only writes acknowledged on the current
        connection age out)."""
        while True:
            now = self._clock()
            self._age_out(now)
            self._tell_durable(now)
            if (
                self._retained_writes < self._retain_max
                and self._retained_nbytes < self._retain_bytes
            ) or self._resend_due():
                return
            await asyncio.sleep(min(0.1, max(0.01, self._retained[0].at + self._window - now)))

    def _age_out(self, now: float) -> None:
        """Forgets the kept writes durable by ``now``; on the loop, or by a direct write (the
        loop then waits)."""
        while (
            self._retained
            and self._retained[0].epoch == self._epoch
            and now - self._retained[0].at >= self._window
        ):
            with self._lock:
                entry = self._retained.popleft()
                self._count(entry, -1)
            if self._on_durable is not None:
                self._durable += entry.writes()

    def _tell_durable(self, now: float) -> None:
        if self._on_durable is None or not self._durable:
            return
        if len(self._durable) >= 256 or now - self._durable_told >= 1.0:
            durable, self._durable = self._durable, []
            self._durable_told = now
            try:
                self._on_durable(durable)
            except Exception:
                log.exception("on_durable_failed", writes=len(durable))

    async def _resend(self) -> None:
        """Sends the kept writes the server lacks again, in order, consecutive events batched,
        and restamps them; the ones it has keep their stamps (`_first_missing`). Raises
        PersistenceError when the connection stays down for ``retry_for``.

        The calls are pipelined (``RESEND_IN_FLIGHT`` at a time) on the one connection, whose
        messages the server handles one after the other, in order; events are unpacked only
        for the calls in flight. If the module refuses one (a kept write that can no longer be
        restored), they are sent again one by one, so each refusal fails only its own write."""
        backoff = Backoff(self._retry_for)
        while True:
            epoch = self._epoch
            kept = _Kept(self._retained)
            try:
                start = await self._first_missing(kept)
            except SpacetimeConnectionError as down:
                await self._back_off(down, backoff)
                continue
            missing = self._split_at(kept, start)
            for entry in kept.entries[: len(kept.entries) - len(missing)]:
                entry.epoch = epoch  # the server has it: it ages from its first acknowledgement
            count = sum(len(entry) for entry in missing)
            if not missing:
                self._answered()  # the server answered every query
                log.info("kept_writes_all_present", kept=len(kept))
                return
            log.warning("resending_acknowledged_writes", kept=len(kept), missing=count)
            chunks: list[list[_Retained]] = []
            results = await self._pipelined(self._calls(missing, chunks))
            problems = [result for result in results if isinstance(result, BaseException)]
            if not problems:
                now = self._clock()
                for entry in missing:
                    entry.at, entry.epoch = now, epoch
                with self._lock:
                    self._resent += count
                    self._trouble = None
                log.info("resent_acknowledged_writes", count=count)
                return
            if any(
                isinstance(problem, ReducerRefusedError) and not transient(problem)
                for problem in problems
            ):
                for chunk in chunks:
                    await self._resend_chunk(chunk)
                return
            trouble = problems[0]
            if not isinstance(trouble, SpacetimeError) or not transient(trouble):
                raise PersistenceError(f"re-sending acknowledged writes: {trouble}") from trouble
            await self._back_off(trouble, backoff)

    def _split_at(self, kept: _Kept, start: int) -> list[_Retained]:
        """The entries holding ``kept``'s writes from ``start`` on; an entry ``start`` falls
        inside is split in two (both keep its stamp), so the writes before stay as they are."""
        if start == len(kept):
            return []
        index, offset = kept.locate(start)
        entry = kept.entries[index]
        if offset:
            assert isinstance(entry.kept, PackedEvents)  # only packed entries hold several
            events = entry.kept.events()
            with self._lock:
                self._count(entry, -1)
                entry.kept = PackedEvents.of(events[:offset])
                self._count(entry, 1)
            tail = _Retained(PackedEvents.of(events[offset:]), entry.at, entry.epoch)
            self._keep(tail, at=index + 1)
            kept.entries.insert(index + 1, tail)
            index += 1
        return kept.entries[index:]

    async def _back_off(self, trouble: SpacetimeError, backoff: Backoff) -> None:
        """Waits before re-sending again; raises PersistenceError when ``backoff`` is
        exhausted."""
        if backoff.exhausted():
            raise PersistenceError(
                f"acknowledged writes could not be sent again within {self._retry_for:.0f} s: "
                f"{trouble}"
            ) from trouble
        with self._lock:
            self._retries += 1
            self._trouble = str(trouble)
        await backoff.wait()

    async def _first_missing(self, kept: _Kept) -> int:
        """The index of the first kept write the server lacks (``len(kept)``: it has them all).

        The server's state after a crash is a prefix of its commit order, and this writer's
        writes were committed in ``kept``'s order over one connection, so what it lacks is a
        suffix of ``kept``: found by galloping back from the end, then bisecting (about
        2 log2 of the suffix's length queries; one after a mere connection cut). A write the
        server has keeps its stamp: it is on disk (recovered by a restart) or on a server that
        kept running since it was acknowledged. Without ``stored``, or when a query is refused,
        0 (everything is sent again); raises SpacetimeConnectionError when the connection is
        down."""
        if self._stored is None or not len(kept):
            return 0
        try:
            missing_from = len(kept)
            step = 1
            while True:  # gallop: kept[missing_from:] is known missing
                probe = max(0, len(kept) - step)
                if await self._stored(kept.write(probe)):
                    present = probe
                    break
                missing_from = probe
                if probe == 0:
                    return 0
                step *= 2
            while missing_from - present > 1:  # kept[present] is there, kept[missing_from] not
                middle = (present + missing_from) // 2
                if await self._stored(kept.write(middle)):
                    present = middle
                else:
                    missing_from = middle
        except SpacetimeConnectionError:
            raise
        except SpacetimeError as error:
            log.warning("presence_check_failed", error=str(error))
            return 0
        return missing_from

    def _calls(
        self, entries: Sequence[_Retained], chunks: list[list[_Retained]]
    ) -> Iterator[ReducerCall]:
        """The calls that send ``entries`` again, made one at a time: consecutive packed
        events batched (whole entries, within ``batch_size`` and ``batch_bytes``), another
        write alone; the entries of each call are appended to ``chunks``."""
        chunk: list[_Retained] = []
        events: list[contract.EventInput] = []
        size = 0
        for entry in entries:
            if isinstance(entry.kept, PackedEvents):
                unpacked = entry.kept.events()
                more = sum(event_bytes(event) for event in unpacked)
                if events and (
                    len(events) + len(unpacked) > self._batch_size
                    or size + more > self._batch_bytes
                ):
                    chunks.append(chunk)
                    yield _events_call(events)
                    chunk, events, size = [], [], 0
                chunk.append(entry)
                events += unpacked
                size += more
                continue
            if events:
                chunks.append(chunk)
                yield _events_call(events)
                chunk, events, size = [], [], 0
            chunks.append([entry])
            yield _call_of(entry.kept)
        if events:
            chunks.append(chunk)
            yield _events_call(events)

    async def _pipelined(self, calls: Iterable[ReducerCall]) -> list[object]:
        """Sends ``calls`` in order with up to ``RESEND_IN_FLIGHT`` awaiting their outcome,
        taking the next call only when one may be sent; each result is the call's outcome or
        the error it raised."""
        slots = asyncio.Semaphore(RESEND_IN_FLIGHT)

        async def send(call: ReducerCall) -> object:
            try:
                return await call.send(self._connection)
            finally:
                slots.release()

        tasks: list[asyncio.Future[object]] = []
        for call in calls:
            await slots.acquire()
            tasks.append(asyncio.ensure_future(send(call)))  # started in order: sent in order
        return await asyncio.gather(*tasks, return_exceptions=True)

    async def _resend_chunk(self, chunk: Sequence[_Retained]) -> None:
        """Sends ``chunk`` again and waits; a refused call goes again entry by entry, and a
        refused entry of several events event by event."""
        calls: list[list[_Retained]] = []
        (call,) = self._calls(chunk, calls)
        try:
            epoch = await self._call(call, resend_first=False)
        except ReducerRefusedError as exc:
            if len(chunk) > 1:
                for entry in chunk:
                    await self._resend_chunk([entry])
            elif len(chunk[0]) > 1:
                for entry in self._one_by_one(chunk[0]):
                    await self._resend_chunk([entry])
            else:
                self._unrestorable_write(chunk[0], exc)
            return
        except SpacetimeError as exc:
            raise PersistenceError(f"re-sending {chunk[0].writes()[0].what}: {exc}") from exc
        now = self._clock()
        for entry in chunk:
            entry.at, entry.epoch = now, epoch
        with self._lock:
            self._resent += sum(len(entry) for entry in chunk)
            self._trouble = None

    def _one_by_one(self, entry: _Retained) -> list[_Retained]:
        """Replaces the packed ``entry`` with one entry an event (same stamp), returned."""
        assert isinstance(entry.kept, PackedEvents)
        index = self._retained.index(entry)
        self._forget(entry)
        singles = [
            _Retained(PackedEvents.of([event]), entry.at, entry.epoch)
            for event in entry.kept.events()
        ]
        for offset, single in enumerate(singles):
            self._keep(single, at=index + offset)
        return singles

    def _unrestorable_write(self, kept: _Retained, error: ReducerRefusedError) -> None:
        """The module refused an acknowledged write sent again: the server forgot it and
        something else took its place (another writer moved the timeline...). It is lost."""
        self._forget(kept)
        (write,) = kept.writes()
        with self._lock:
            self._unrestorable += 1
            self._last_error = f"{write.what}: {error.refusal}"
        log.error("acknowledged_write_unrestorable", what=write.what, error=str(error.refusal))

    async def _write_one(self, write: Write) -> None:
        epoch = self._epoch
        call = write.call
        if call is None:
            self._done(write, None, epoch)
            return
        try:
            epoch = await self._call(call)
        except Exception as exc:  # each typed (`failure`): the writer goes on either way
            self._done(write, failure(write.what, exc), epoch)
        else:
            self._done(write, None, epoch)

    async def _write_batch(self, batch: list[Write]) -> None:
        """One transaction for the batch; if it fails for what it holds (`concerns_the_writes`:
        the module refused it, or the client could not encode or send it), each event alone,
        in order, so one bad event fails only itself."""
        epoch = self._epoch
        events = [write.event for write in batch if write.event is not None]
        try:
            epoch = await self._call(contract.publish_events(events=events))
        except Exception as exc:
            if not concerns_the_writes(exc):
                self._all_done(batch, failure(f"{len(batch)} events", exc), epoch)
                return
            log.warning("batch_refused", size=len(batch), error=str(exc))
            for write in batch:
                await self._write_one(write)
            return
        self._all_done(batch, None, epoch)

    async def _call(self, call: ReducerCall, *, resend_first: bool = True) -> int:
        """Calls until it succeeds, the module refuses, or ``retry_for`` runs out; returns the
        connection epoch the successful attempt was sent on. With ``resend_first``, a retry
        after a connection drop first sends again what was kept, so order holds."""
        reducer = call.reducer
        backoff = Backoff(self._retry_for)
        while True:
            epoch = self._epoch
            try:
                await call.send(self._connection)
            except (SpacetimeConnectionError, ReducerRefusedError) as exc:
                if not transient(exc):
                    if isinstance(exc, ReducerRefusedError):
                        self._answered()
                    raise
                if backoff.exhausted():
                    raise PersistenceError(
                        f"{reducer} could not be written within {self._retry_for:.0f} s: {exc}"
                    ) from exc
                with self._lock:
                    self._retries += 1
                    self._trouble = str(exc)
                log.warning("write_retry", reducer=reducer, delay=backoff.delay, error=str(exc))
                await backoff.wait()
                if resend_first and self._resend_due():
                    await self._resend()
            else:
                self._answered()
                return epoch

    def _answered(self) -> None:
        """The module answered a call (stored it, or refused it): whatever trouble an attempt
        met before is over."""
        if self._trouble is not None:
            with self._lock:
                self._trouble = None
