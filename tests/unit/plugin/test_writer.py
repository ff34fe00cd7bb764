"""`OrderedWriter` against a fake of the module's write reducers: batching and its refusal
fallback, retries, and the retention that sends acknowledged writes again after a connection
drop, in order (the server may have forgotten its last acknowledged transactions)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import threading
import weakref
from collections.abc import Callable, Iterator

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import (
    ArgumentError,
    OutcomeUnknownError,
    QueryError,
    ReducerEvent,
    ReducerFailedError,
    SpacetimeConnectionError,
    Timestamp,
)
from nerv_inner_universe.plugin.errors import (
    OversizedWriteError,
    PersistenceError,
    WriteRefusedError,
)
from nerv_inner_universe.plugin.loop import LoopThread
from nerv_inner_universe.plugin.packed import PackedEvents
from nerv_inner_universe.plugin.writer import (
    ECHO_FACTOR,
    OrderedWriter,
    Write,
    event_bytes,
    text_bytes,
    write_budget,
    write_bytes,
)
from tests.unit.committed import committed
from tests.waiting import wait_for


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeModule:
    """Stores writes by id as the module does: the same id with the same content again is a
    no-op; a transaction is all or none; ids in ``bad`` are refused with ``invalid_argument``;
    calls are handled one at a time, in the order they arrive.

    ``down``: that many next calls fail with a connection error, nothing stored. ``closed``:
    that many next calls are refused with ``unavailable`` (a database closed for a stop),
    nothing stored. ``importing``: every call is refused with ``import_open`` (a half-imported
    database), nothing stored. ``unencodable``: a call holding one of these ids raises the client's
    ArgumentError (as its encoder does for text UTF-8 cannot carry), ``broken`` an error that
    is no client error (TypeError); neither reaches the module. ``crash_on``:
    the call that stores that id is stored, then the server "dies": it forgets all but the
    first ``crash_keep`` stored ids, the connection drops (``on_drop``), and the caller gets
    OutcomeUnknownError. ``hold``: calls wait until it is set; ``entered`` is set once a call
    reached the module."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.stored: list[str] = []
        self.content: dict[str, object] = {}
        self.bad: set[str] = set()
        self.unencodable: set[str] = set()
        self.broken: set[str] = set()
        self.down = 0
        self.closed = 0
        self.importing = False
        self.refused_importing: list[str] = []
        """The reducers of the calls refused with ``import_open``."""
        self.crash_on: str | None = None
        self.crash_keep = 0
        self.on_drop: list[OrderedWriter] = []
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        self._one_at_a_time = asyncio.Lock()
        self.presence_queries = 0
        self.refuse_queries = False
        self.calls: list[tuple[str, list[str], float]] = []
        """(reducer, ids, clock) of every call that reached the module."""

    async def call_reducer(self, reducer: str, *args: object) -> ReducerEvent:
        async with self._one_at_a_time:  # FIFO, like the server's handling of one connection
            return await self._handle(reducer, args)

    async def _handle(self, reducer: str, args: tuple[object, ...]) -> ReducerEvent:
        self.entered.set()
        await asyncio.to_thread(self.hold.wait)
        if self.down:
            self.down -= 1
            raise SpacetimeConnectionError("connection lost")
        if self.closed:
            self.closed -= 1
            raise ReducerFailedError(reducer, "unavailable: closed for writes while stopping")
        if self.importing:
            self.refused_importing.append(reducer)
            raise ReducerFailedError(reducer, "import_open: an import is still open")
        rows = _rows(reducer, args)
        keys = {key for key, _ in rows}
        if keys & self.unencodable:
            raise ArgumentError(f"{reducer}: a str UTF-8 cannot carry")
        if keys & self.broken:
            raise TypeError("an encoder's bug")
        self.calls.append((reducer, [key for key, _ in rows], self.clock()))
        for key, content in rows:
            if key in self.bad or self.content.get(key, content) != content:
                raise ReducerFailedError(reducer, f"invalid_argument: {key} is refused")
        for key, content in rows:
            if key not in self.content:
                self.content[key] = content
                self.stored.append(key)
        if self.crash_on in self.content:
            self.crash_on = None
            for key in self.stored[self.crash_keep :]:
                del self.content[key]
            del self.stored[self.crash_keep :]
            self.drop()
            raise OutcomeUnknownError(reducer, len(self.calls), "the server died")
        return committed(reducer)

    async def has(self, write: Write) -> bool:
        """Whether the write's row is stored, as the recorder's presence query says."""
        assert write.call is not None
        self.presence_queries += 1
        if self.refuse_queries:
            raise QueryError("SELECT ...", "not supported")
        return all(key in self.content for key, _ in _rows(write.call.reducer, write.call.args))

    def drop(self) -> None:
        """The connection drops and comes back, as `DbConnection` reports it."""
        for writer in self.on_drop:
            writer.connection_lost()
            writer.connection_back()


def _rows(reducer: str, args: tuple[object, ...]) -> list[tuple[str, object]]:
    if reducer == "publish_events":
        events = args[0]
        assert isinstance(events, list)
        return [(event.event_id, event) for event in events]
    if reducer == "publish_event":
        event = args[0]
        assert isinstance(event, contract.EventInput)
        return [(event.event_id, event)]
    return [(str(args[0]), args)]


def contract_event(event_id: str) -> contract.EventInput:
    return contract.EventInput(
        event_id=event_id, event_type="tested", source=None, occurred_at=Timestamp(0), data="1"
    )


def event_write(event_id: str) -> Write:
    payload = contract_event(event_id)
    return Write(contract.publish_event(event=payload), f"event {event_id!r}", event=payload)


def delta_write(delta_id: str) -> Write:
    call = contract.record_delta(
        delta_id=delta_id,
        stream="s",
        state_version_id="stream.s.base",
        occurred_at=Timestamp(0),
        operations=[],
        metadata=contract.DeltaMetadata(description="tested"),
    )
    return Write(call, f"delta {delta_id!r}")


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread("test-writer")
    yield thread
    thread.stop()


@pytest.fixture
def writers(loop: LoopThread) -> Iterator[list[OrderedWriter]]:
    made: list[OrderedWriter] = []
    yield made
    for writer in made:
        writer.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def module(clock: Clock, writers: list[OrderedWriter]) -> FakeModule:
    fake = FakeModule(clock)
    fake.on_drop = writers
    return fake


def make_writer(
    module: FakeModule,
    loop: LoopThread,
    clock: Clock,
    *,
    retry_for: float = 30.0,
    window: float = 5.0,
    retain: int = 1000,
    retain_bytes: int = 1 << 30,
    batch_bytes: int = 1 << 20,
    on_durable: Callable[[list[Write]], None] | None = None,
    on_failure: Callable[[Write, BaseException], None] | None = None,
) -> OrderedWriter:
    writer = OrderedWriter(
        module,
        loop,
        queue_size=100,
        batch_size=10,
        batch_bytes=batch_bytes,
        retry_for=retry_for,
        durability_window=window,
        durability_retain=retain,
        durability_retain_bytes=retain_bytes,
        clock=clock,
        stored=module.has,
        on_durable=on_durable,
        on_failure=on_failure,
    )
    module.on_drop.append(writer)
    return writer


def wait_all(futures: list[concurrent.futures.Future[None]]) -> None:
    concurrent.futures.wait(futures, timeout=30)
    assert all(future.done() for future in futures)


def test_one_bad_event_in_a_batch_fails_only_itself(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    writer = make_writer(module, loop, clock)
    module.hold.clear()  # the first write waits, so the next five queue up behind it
    first = writer.submit(delta_write("d0"))
    module.bad.add("e2")
    futures = [writer.submit(event_write(f"e{i}")) for i in range(5)]
    module.hold.set()
    wait_all([first, *futures])

    assert module.calls[1] == ("publish_events", ["e0", "e1", "e2", "e3", "e4"], clock.now)
    assert [reducer for reducer, _, _ in module.calls[2:]] == ["publish_event"] * 5
    with pytest.raises(WriteRefusedError, match="event 'e2'"):
        futures[2].result()
    assert [future.exception() for i, future in enumerate(futures) if i != 2] == [None] * 4
    assert module.stored == ["d0", "e0", "e1", "e3", "e4"]
    assert writer.health().failed == 1


def test_a_batch_refused_for_the_database_fails_whole_in_one_call(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    """``import_open`` is about the database, not what a batch holds: the batch is not sent
    again event by event, and each write fails with PersistenceError (so an outbox keeps
    it), at once."""
    writer = make_writer(module, loop, clock)
    module.hold.clear()  # the first write waits, so the next five queue up behind it
    first = writer.submit(delta_write("d0"))
    module.importing = True
    futures = [writer.submit(event_write(f"e{i}")) for i in range(5)]
    module.hold.set()
    concurrent.futures.wait([first, *futures], timeout=30)

    assert module.refused_importing[1:] == ["publish_events"]
    for future in [first, *futures]:
        error = future.exception(timeout=0)
        assert type(error) is PersistenceError, error
        assert "import_open: " in str(error)
    assert module.stored == []


@pytest.mark.parametrize("fault", ["unencodable", "broken"])
def test_one_event_the_client_cannot_send_in_a_batch_fails_only_itself(
    module: FakeModule, loop: LoopThread, clock: Clock, fault: str
) -> None:
    failures: list[tuple[str, BaseException]] = []
    writer = make_writer(
        module, loop, clock, on_failure=lambda write, error: failures.append((write.what, error))
    )
    module.hold.clear()  # the first write waits, so the next twenty queue up behind it
    first = writer.submit(delta_write("d0"))
    getattr(module, fault).add("e7")
    for i in range(20):  # queued without futures, as async events are
        writer.queue(Write.of_event(contract_event(f"e{i}"), None))
    module.hold.set()
    wait_all([first, writer.barrier()])

    assert module.stored == ["d0", *(f"e{i}" for i in range(20) if i != 7)]  # in order
    assert [what for what, _ in failures] == ["event 'e7'"]
    error = failures[0][1]
    if fault == "unencodable":  # retrying cannot help: a refusal
        assert isinstance(error, WriteRefusedError)
        assert isinstance(error.__cause__, ArgumentError)
    else:  # no client error: typed all the same, and the writer goes on
        assert isinstance(error, PersistenceError)
        assert isinstance(error.__cause__, TypeError)
    assert writer.health().failed == 1
    assert writer.submit(event_write("after")).result(timeout=30) is None
    assert module.stored[-1] == "after"


def test_a_batch_holds_at_most_batch_bytes_of_events(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    sample = event_write("e0").event
    assert sample is not None
    one = event_bytes(sample)
    writer = make_writer(module, loop, clock, batch_bytes=3 * one)
    module.hold.clear()  # the first write waits, so the next seven queue up behind it
    first = writer.submit(delta_write("d0"))
    futures = [writer.submit(event_write(f"e{i}")) for i in range(7)]
    module.hold.set()
    wait_all([first, *futures])

    assert [(reducer, ids) for reducer, ids, _ in module.calls[1:]] == [
        ("publish_events", ["e0", "e1", "e2"]),
        ("publish_events", ["e3", "e4", "e5"]),
        ("publish_event", ["e6"]),
    ]
    assert module.stored == ["d0", *(f"e{i}" for i in range(7))]


def test_a_single_write_over_batch_bytes_is_refused_before_it_is_queued(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    one = write_bytes(delta_write("d0"))
    writer = make_writer(module, loop, clock, batch_bytes=one - 1)
    with pytest.raises(OversizedWriteError, match="raise max_message_bytes") as refused:
        writer.submit(delta_write("d0"))
    assert refused.value.what == "delta 'd0'"
    assert (refused.value.size, refused.value.budget) == (one, one - 1)
    assert refused.value.needed == one * ECHO_FACTOR
    sample = event_write("e0")
    assert sample.event is not None
    writer_for_events = make_writer(module, loop, clock, batch_bytes=event_bytes(sample.event))
    writer_for_events.submit(sample).result(timeout=30)  # exactly the budget: written
    assert module.stored == ["e0"]  # the refused delta was never sent
    assert writer.health().failed == 0


def test_the_write_budget_is_a_quarter_of_the_message_limit() -> None:
    # The answer to a write may carry its text twice (echoed arguments, a follower's rows),
    # and JSON escapes may double each copy.
    assert write_budget(64 << 10) == 16 << 10
    assert write_budget(256 << 20) == 64 << 20


def test_write_bytes_grows_with_every_text_of_a_call() -> None:
    small, larger = delta_write("d0"), delta_write("d0" + "x" * 1000)
    assert write_bytes(larger) - write_bytes(small) == 1000
    barrier = Write(None, "flush")
    assert write_bytes(barrier) == 0


def test_sizes_count_utf8_bytes_not_characters() -> None:
    ascii_, wide = delta_write("d0" + "x" * 300), delta_write("d0" + "\u4e2d" * 100)
    assert write_bytes(wide) == write_bytes(ascii_)  # 100 characters of 3 bytes each
    assert text_bytes("\U0001f600") == 4
    assert text_bytes("\udc00") == 3  # a lone surrogate, as a hand-built write may hold


TRANSIENT = {
    "down": "connection lost",
    "closed": "unavailable: closed for writes",  # a database closed while its server stops
}


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_transient_trouble_is_retried_until_the_write_is_stored(
    module: FakeModule, loop: LoopThread, clock: Clock, fault: str
) -> None:
    writer = make_writer(module, loop, clock)
    setattr(module, fault, 3)
    writer.submit(event_write("e0")).result(timeout=30)

    assert module.stored == ["e0"]
    health = writer.health()
    assert (health.written, health.retries, health.failed) == (1, 3, 0)
    assert (health.last_error, health.trouble) == (None, None)  # nothing failed, trouble over


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_trouble_shows_while_the_writer_retries_and_clears_when_the_write_is_stored(
    module: FakeModule, loop: LoopThread, clock: Clock, fault: str
) -> None:
    writer = make_writer(module, loop, clock)
    setattr(module, fault, 1_000_000)
    written = writer.submit(event_write("e0"))
    wait_for(lambda: writer.health().retries >= 1, "a retry")
    health = writer.health()
    assert TRANSIENT[fault] in str(health.trouble)
    assert (health.pending, health.failed, health.last_error) == (1, 0, None)
    setattr(module, fault, 0)  # the server is back
    written.result(timeout=30)
    health = writer.health()
    assert (health.written, health.pending, health.trouble, health.last_error) == (
        1,
        0,
        None,
        None,
    )


def test_a_refusal_after_retries_ends_the_trouble_and_is_the_last_error(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    """The module answering, even with a refusal, means the connection trouble is over."""
    writer = make_writer(module, loop, clock)
    module.down = 2
    module.bad.add("e0")
    with pytest.raises(WriteRefusedError, match="e0 is refused"):
        writer.submit(event_write("e0")).result(timeout=30)
    health = writer.health()
    assert (health.retries, health.failed, health.trouble) == (2, 1, None)
    assert "e0 is refused" in str(health.last_error)


def test_last_error_is_the_last_failed_write_and_a_later_success_keeps_it(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    """``last_error`` is what the last write that failed for good failed with: a write stored
    later does not clear it (``failed`` still counts that write); ``trouble`` it does."""
    writer = make_writer(module, loop, clock, retry_for=0.2)
    module.down = 1_000_000
    with pytest.raises(PersistenceError, match="could not be written within"):
        writer.submit(event_write("e0")).result(timeout=30)
    health = writer.health()
    assert "could not be written within" in str(health.last_error)
    assert "connection lost" in str(health.trouble)
    module.down = 0
    writer.submit(event_write("e1")).result(timeout=30)
    health = writer.health()
    assert (health.written, health.failed, health.trouble) == (1, 1, None)
    assert "could not be written within" in str(health.last_error)


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_a_write_fails_with_a_typed_error_once_retry_for_runs_out(
    module: FakeModule, loop: LoopThread, clock: Clock, fault: str
) -> None:
    writer = make_writer(module, loop, clock, retry_for=0.2)
    setattr(module, fault, 1_000_000)
    with pytest.raises(PersistenceError, match="could not be written within") as failed:
        writer.submit(event_write("e0")).result(timeout=30)
    assert not isinstance(failed.value, WriteRefusedError), "transient, not a refusal"
    assert module.stored == []


def test_kept_writes_sent_again_to_a_closed_database_are_retried_not_dropped(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    writer = make_writer(module, loop, clock)
    wait_all([writer.submit(event_write(f"e{i}")) for i in range(3)])
    del module.stored[1:]  # the server died keeping e0, and came back closed a while
    for key in ["e1", "e2"]:
        del module.content[key]
    module.closed = 2
    loop.run(_drop(module))
    writer.submit(event_write("e3")).result(timeout=30)

    assert module.stored == ["e0", "e1", "e2", "e3"]
    health = writer.health()
    assert (health.resent, health.unrestorable, health.failed) == (2, 0, 0)


def test_acknowledged_writes_the_server_forgot_are_sent_again_in_order(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    writer = make_writer(module, loop, clock)
    writes = [event_write("e0"), delta_write("d1"), event_write("e2"), event_write("e3")]
    wait_all([writer.submit(write) for write in writes])
    assert module.stored == ["e0", "d1", "e2", "e3"]

    del module.stored[1:]  # the server died and kept only its first transaction
    for key in ["d1", "e2", "e3"]:
        del module.content[key]
    loop.run(_drop(module))
    writer.barrier().result(timeout=30)
    writer.submit(event_write("e4")).result(timeout=30)

    assert module.stored == ["e0", "d1", "e2", "e3", "e4"]
    assert writer.health().resent == 3  # e0 was still there


async def _drop(module: FakeModule) -> None:
    module.drop()


def test_a_crash_during_a_write_keeps_every_acknowledged_write_in_order(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    """The call that stores e6 is stored, then the server dies keeping only the first two ids:
    the writer sends the rest again before the unknown call, then carries on."""
    writer = make_writer(module, loop, clock)
    module.crash_on = "e6"
    module.crash_keep = 2
    ids = [f"e{i}" for i in range(12)]
    for event_id in ids[:6]:  # one call each
        writer.submit(event_write(event_id)).result(timeout=30)
    futures = [writer.submit(event_write(event_id)) for event_id in ids[6:]]
    wait_all(futures)

    assert [future.exception() for future in futures] == [None] * 6
    assert module.stored == ids
    assert writer.health().resent == 4  # e2..e5; e6 is the write whose outcome was unknown


def test_writes_older_than_the_window_are_no_longer_kept(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    writer = make_writer(module, loop, clock, window=5.0)
    wait_all([writer.submit(event_write("e0")), writer.submit(event_write("e1"))])
    assert writer.health().retained == 2
    clock.now += 5.0
    writer.submit(event_write("e2")).result(timeout=30)
    assert writer.health().retained == 1

    module.stored.remove("e2")  # the server dies and forgets e2
    del module.content["e2"]
    loop.run(_drop(module))
    writer.barrier().result(timeout=30)
    assert module.calls[-1][1] == ["e2"]  # only the write still in its window went again
    assert writer.health().resent == 1


def test_a_write_dropped_by_a_connection_before_its_window_is_kept_however_long_the_outage(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    """Time spent disconnected does not count: the server may have died right after the
    acknowledgement."""
    writer = make_writer(module, loop, clock, window=5.0)
    writer.submit(event_write("e0")).result(timeout=30)
    loop.run(_lost(writer))
    clock.now += 60.0
    module.stored.clear()
    module.content.clear()
    writer.submit(event_write("e1")).result(timeout=30)
    assert module.stored == ["e0", "e1"]


async def _lost(writer: OrderedWriter) -> None:
    writer.connection_lost()


ONE_KEPT_EVENT = PackedEvents.of([contract_event("e0")]).nbytes


@pytest.mark.parametrize(
    ("retain", "retain_bytes"),
    [(2, 1 << 30), (1000, ONE_KEPT_EVENT + 1)],  # full at two writes kept, either way
    ids=["durability_retain", "durability_retain_bytes"],
)
def test_a_full_retention_makes_new_writes_wait_until_the_oldest_ages_out(
    module: FakeModule, loop: LoopThread, clock: Clock, retain: int, retain_bytes: int
) -> None:
    writer = make_writer(module, loop, clock, window=5.0, retain=retain, retain_bytes=retain_bytes)
    wait_all([writer.submit(event_write("e0")), writer.submit(event_write("e1"))])
    sent_at = clock.now
    third = writer.submit(event_write("e2"))
    clock.now += 5.0
    third.result(timeout=30)

    assert module.calls[-1] == ("publish_event", ["e2"], sent_at + 5.0)
    assert writer.health().retained == 1


def test_a_write_refused_when_sent_again_is_reported_as_unrestorable(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    writer = make_writer(module, loop, clock)
    wait_all([writer.submit(event_write("e0")), writer.submit(event_write("e1"))])
    module.stored.clear()
    module.content.clear()
    module.bad.add("e0")  # something else took its place while the server was down
    loop.run(_drop(module))
    writer.barrier().result(timeout=30)

    assert module.stored == ["e1"]
    health = writer.health()
    assert (health.unrestorable, health.resent, health.retained) == (1, 1, 1)


def test_writes_behind_a_resend_that_cannot_reach_the_server_fail_and_the_kept_stay(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    writer = make_writer(module, loop, clock, retry_for=0.2)
    writer.submit(event_write("e0")).result(timeout=30)
    module.stored.clear()  # the server died and forgot it, and stays down
    module.content.clear()
    module.down = 1_000_000
    loop.run(_lost(writer))
    with pytest.raises(PersistenceError, match="could not be sent again"):
        writer.submit(event_write("e1")).result(timeout=30)
    assert writer.health().retained == 1

    module.down = 0  # back
    writer.submit(event_write("e2")).result(timeout=30)
    assert module.stored == ["e0", "e2"]


def test_after_a_mere_cut_nothing_is_sent_again_and_the_kept_age_as_before(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    writer = make_writer(module, loop, clock, window=5.0)
    wait_all([writer.submit(event_write(f"e{i}")) for i in range(5)])
    calls = len(module.calls)
    loop.run(_drop(module))  # the server kept running: it has everything
    writer.barrier().result(timeout=30)

    assert (len(module.calls), module.presence_queries) == (calls, 1)
    assert writer.health().resent == 0
    clock.now += 5.0  # their first acknowledgement's window has passed
    writer.submit(event_write("e5")).result(timeout=30)
    assert writer.health().retained == 1


def test_when_the_lookup_is_refused_every_kept_write_is_sent_again(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    writer = make_writer(module, loop, clock)
    wait_all([writer.submit(event_write("e0")), writer.submit(delta_write("d1"))])
    module.refuse_queries = True
    loop.run(_drop(module))
    writer.barrier().result(timeout=30)

    assert module.stored == ["e0", "d1"]
    assert writer.health().resent == 2


def test_a_kept_write_does_not_keep_its_callers_future(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    writer = make_writer(module, loop, clock)
    write = event_write("e0")
    future = weakref.ref(write.future)
    writer.submit(write).result(timeout=30)
    del write
    writer.submit(event_write("e1")).result(timeout=30)  # the writer's loop has moved on
    gc.collect()

    assert writer.health().retained == 2
    assert future() is None  # its lock, condition and callbacks are gone


def queued_batch(writer: OrderedWriter, module: FakeModule, ids: list[str]) -> None:
    """Writes ``ids`` as one batch: they queue behind a held delta, then go together."""
    module.hold.clear()
    first = writer.submit(delta_write(f"d-{ids[0]}"))
    futures = [writer.submit(event_write(event_id)) for event_id in ids]
    module.hold.set()
    wait_all([first, *futures])
    assert module.calls[-1][:2] == ("publish_events", ids)


def forget(module: FakeModule, ids: list[str]) -> None:
    """The server died and forgot ``ids``."""
    for key in ids:
        module.stored.remove(key)
        del module.content[key]


def test_a_batch_is_kept_as_one_entry_and_ages_out_whole(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    durable: list[list[str]] = []
    writer = make_writer(
        module,
        loop,
        clock,
        window=5.0,
        on_durable=lambda writes: durable.append(
            [write.event.event_id if write.event else write.what for write in writes]
        ),
    )
    queued_batch(writer, module, ["e0", "e1", "e2"])
    assert writer.health().retained == 4  # the delta and the three events
    clock.now += 5.0
    writer.submit(event_write("e3")).result(timeout=30)

    assert writer.health().retained == 1
    clock.now += 1.0  # on_durable is told a second's worth at a time
    writer.submit(event_write("e4")).result(timeout=30)
    assert durable == [["delta 'd-e0'", "e0", "e1", "e2"]]


def test_a_resend_batches_consecutive_kept_events_and_sends_only_what_is_missing(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    writer = make_writer(module, loop, clock)
    for event_id in ["e0", "e1", "e2"]:  # one entry each
        writer.submit(event_write(event_id)).result(timeout=30)
    queued_batch(writer, module, ["e3", "e4", "e5", "e6"])
    calls = len(module.calls)
    forget(module, ["e1", "e2", "d-e3", "e3", "e4", "e5", "e6"])
    loop.run(_drop(module))
    writer.barrier().result(timeout=30)

    assert [(reducer, ids) for reducer, ids, _ in module.calls[calls:]] == [
        ("publish_events", ["e1", "e2"]),
        ("record_delta", ["d-e3"]),
        ("publish_events", ["e3", "e4", "e5", "e6"]),
    ]
    assert module.stored == ["e0", "e1", "e2", "d-e3", "e3", "e4", "e5", "e6"]
    assert (writer.health().resent, writer.health().retained) == (7, 8)


def test_a_kept_batch_the_server_kept_part_of_is_sent_again_from_its_first_missing_event(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    """Only the missing part goes again and is restamped; the part the server has ages from
    its first acknowledgement."""
    writer = make_writer(module, loop, clock, window=5.0)
    queued_batch(writer, module, ["e0", "e1", "e2", "e3"])
    calls = len(module.calls)
    forget(module, ["e2", "e3"])
    clock.now += 1.0
    loop.run(_drop(module))
    writer.barrier().result(timeout=30)

    assert [(reducer, ids) for reducer, ids, _ in module.calls[calls:]] == [
        ("publish_events", ["e2", "e3"])
    ]
    assert writer.health().retained == 5
    clock.now += 4.0  # the first acknowledgement's window has passed, not the re-send's
    writer.submit(event_write("e4")).result(timeout=30)
    assert writer.health().retained == 3  # e2, e3 and e4


def test_a_kept_batch_refused_when_sent_again_goes_event_by_event(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    writer = make_writer(module, loop, clock)
    queued_batch(writer, module, ["e0", "e1", "e2"])
    forget(module, ["d-e0", "e0", "e1", "e2"])
    module.bad.add("e1")  # something else took its place while the server was down
    loop.run(_drop(module))
    writer.barrier().result(timeout=30)

    assert module.stored == ["d-e0", "e0", "e2"]
    health = writer.health()
    assert (health.unrestorable, health.resent, health.retained) == (1, 3, 3)
    assert "event 'e1'" in str(health.last_error)


def test_a_stop_fails_a_queued_write_in_flight_and_reports_it(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    """A write without a future (an async event) the loop was sending when the writer stopped
    fails like a waited one: ``on_failure`` hears of it and `health` counts it failed, not
    pending for ever."""
    failures: list[tuple[str, BaseException]] = []
    writer = make_writer(
        module, loop, clock, on_failure=lambda write, error: failures.append((write.what, error))
    )
    module.hold.clear()
    writer.queue(Write.of_event(contract_event("e0"), None))
    assert module.entered.wait(30)  # the loop's call reached the module
    writer.stop()
    module.hold.set()
    ((what, error),) = failures
    assert what == "event 'e0'"
    assert isinstance(error, PersistenceError)
    assert "stopped before writing it" in str(error)
    health = writer.health()
    assert (health.pending, health.failed, health.written) == (0, 1, 0)
