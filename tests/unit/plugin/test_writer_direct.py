"""`OrderedWriter.write` over a `DirectLane`: a waited write goes on the caller's thread when
the writer is idle, takes the queue behind queued writes, is kept and sent again like a queued
one, and falls back to the queue when the lane fails. Against `test_writer`'s fake module; the
lane's connection hands its calls to the same fake (one server, two connections)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from nerv_inner_universe.client import (
    CallTimeoutError,
    ConnectionRefusedByModuleError,
    OutcomeUnknownError,
    ReducerEvent,
    SpacetimeConnectionError,
)
from nerv_inner_universe.plugin.direct import DirectLane
from nerv_inner_universe.plugin.errors import PersistenceError, WriteRefusedError
from nerv_inner_universe.plugin.loop import LoopThread
from nerv_inner_universe.plugin.writer import OrderedWriter
from tests.unit.plugin.test_writer import (
    Clock,
    FakeModule,
    _drop,
    clock,
    event_write,
    loop,
    module,
    writers,
)

__all__ = ["clock", "loop", "module", "writers"]  # the fixtures this module uses


class FakeLaneConnection:
    """The lane's connection: calls reach ``module`` from the calling thread (through
    ``loop``, as the fake module is a coroutine). ``fail_next``: the next call raises it
    instead, after ``before_failing()``. ``refuse``: connecting fails as a module at its
    ``max_connections`` makes it."""

    def __init__(self, module: FakeModule, loop: LoopThread) -> None:
        self.module = module
        self.loop = loop
        self.is_connected = False
        self.connects = 0
        self.threads: list[threading.Thread] = []
        self.fail_next: Exception | None = None
        self.before_failing: Callable[[], None] = lambda: None
        self.refuse = False

    def connect(self) -> None:
        self.connects += 1
        if self.refuse:
            raise ConnectionRefusedByModuleError("ws://fake", "resource_exhausted: full")
        self.is_connected = True

    def call_reducer(self, reducer: str, *args: object) -> ReducerEvent:
        self.threads.append(threading.current_thread())
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            self.before_failing()
            self.is_connected = False
            raise error
        return self.loop.run(self.module.call_reducer(reducer, *args))

    def close(self) -> None:
        self.is_connected = False


def make_direct_writer(
    module: FakeModule, loop: LoopThread, clock: Clock, writers: list[OrderedWriter]
) -> tuple[OrderedWriter, FakeLaneConnection]:
    connection = FakeLaneConnection(module, loop)
    writer = OrderedWriter(
        module,
        loop,
        queue_size=100,
        batch_size=10,
        batch_bytes=1 << 20,
        retry_for=30.0,
        durability_window=5.0,
        durability_retain=1000,
        durability_retain_bytes=1 << 30,
        clock=clock,
        stored=module.has,
        direct=DirectLane(lambda: connection, reopen_after=0.0, clock=clock),
    )
    writers.append(writer)
    return writer, connection


def test_an_idle_writer_sends_a_waited_write_on_the_callers_thread(
    module: FakeModule, loop: LoopThread, clock: Clock, writers: list[OrderedWriter]
) -> None:
    writer, connection = make_direct_writer(module, loop, clock, writers)
    writer.write(event_write("e0"))
    writer.write(event_write("e1"))
    assert module.stored == ["e0", "e1"]
    assert connection.threads == [threading.current_thread()] * 2
    assert connection.connects == 1
    health = writer.health()
    assert (health.direct, health.direct_fallbacks, health.written) == (2, 0, 2)
    assert (health.pending, health.retained) == (0, 2)


def test_a_waited_write_behind_queued_ones_takes_the_queue_in_order(
    module: FakeModule, loop: LoopThread, clock: Clock, writers: list[OrderedWriter]
) -> None:
    writer, connection = make_direct_writer(module, loop, clock, writers)
    module.hold.clear()
    queued = writer.submit(event_write("e0"))  # pending from here on: the writer is busy
    waited = threading.Thread(target=writer.write, args=(event_write("e1"),))
    waited.start()
    module.hold.set()
    queued.result(timeout=30)
    waited.join(30)
    assert not waited.is_alive()
    assert module.stored == ["e0", "e1"]
    assert connection.threads == []
    assert writer.health().direct == 0


def test_a_direct_write_the_server_forgot_is_sent_again_after_a_drop(
    module: FakeModule, loop: LoopThread, clock: Clock, writers: list[OrderedWriter]
) -> None:
    writer, _ = make_direct_writer(module, loop, clock, writers)
    writer.write(event_write("e0"))
    writer.write(event_write("e1"))
    module.stored.remove("e1")  # the server died and forgot the last acknowledged write
    del module.content["e1"]
    loop.run(_drop(module))  # the main connection's drop
    writer.barrier().result(timeout=30)
    assert module.stored == ["e0", "e1"]
    assert writer.health().resent == 1


def test_a_lane_failure_counts_as_a_drop_and_the_write_takes_the_queue(
    module: FakeModule, loop: LoopThread, clock: Clock, writers: list[OrderedWriter]
) -> None:
    """The server dies after acknowledging e0 on the lane and before answering e1: the lane's
    failure alone (the main connection has not noticed yet) makes the writer check what the
    server kept, send e0 again, then e1."""
    writer, connection = make_direct_writer(module, loop, clock, writers)
    writer.write(event_write("e0"))

    def crash() -> None:
        module.stored.clear()
        module.content.clear()

    connection.before_failing = crash
    connection.fail_next = OutcomeUnknownError("publish_event", 2, "the connection closed")
    writer.write(event_write("e1"))
    assert module.stored == ["e0", "e1"]
    health = writer.health()
    assert (health.direct, health.direct_fallbacks, health.resent) == (1, 1, 1)
    writer.write(event_write("e2"))  # the lane opens again
    assert connection.connects == 2
    assert writer.health().direct == 2
    assert module.stored == ["e0", "e1", "e2"]


def test_a_refused_direct_write_fails_with_the_queues_typed_error(
    module: FakeModule, loop: LoopThread, clock: Clock, writers: list[OrderedWriter]
) -> None:
    writer, _ = make_direct_writer(module, loop, clock, writers)
    module.bad.add("e0")
    with pytest.raises(WriteRefusedError, match="invalid_argument: e0 is refused"):
        writer.write(event_write("e0"))
    health = writer.health()
    assert (health.direct, health.direct_fallbacks, health.failed, health.retained) == (1, 0, 1, 0)
    assert module.stored == []
    writer.write(event_write("e1"))
    assert module.stored == ["e1"]


def test_a_lane_the_module_refuses_is_given_up_and_writes_take_the_queue(
    module: FakeModule, loop: LoopThread, clock: Clock, writers: list[OrderedWriter]
) -> None:
    writer, connection = make_direct_writer(module, loop, clock, writers)
    connection.refuse = True
    for n in range(3):
        writer.write(event_write(f"e{n}"))
    assert module.stored == ["e0", "e1", "e2"]
    assert connection.connects == 1  # tried once, then never again
    health = writer.health()
    assert (health.direct, health.direct_fallbacks, health.last_error) == (0, 1, None)


def test_a_lane_that_cannot_be_opened_is_tried_again_only_after_reopen_after(
    module: FakeModule, loop: LoopThread, clock: Clock
) -> None:
    attempts: list[float] = []

    def unreachable() -> FakeLaneConnection:
        attempts.append(clock())
        raise SpacetimeConnectionError("cannot open ws://fake: refused")

    lane = DirectLane(unreachable, reopen_after=1.0, clock=clock)
    call = event_write("e0").call
    assert call is not None
    with pytest.raises(SpacetimeConnectionError):
        lane.send(call)
    assert not lane.usable
    clock.now += 1.0
    assert lane.usable
    with pytest.raises(SpacetimeConnectionError):
        lane.send(call)
    assert attempts == [1000.0, 1001.0]


def test_a_lane_call_that_timed_out_takes_the_queue_and_leaves_the_kept_writes_be(
    module: FakeModule, loop: LoopThread, clock: Clock, writers: list[OrderedWriter]
) -> None:
    """A timeout is not a drop: the server is slow, not gone (had it died, the main
    connection's drop would count). The write goes through the queue; nothing kept is
    checked or sent again, and the writer reports no error for a write that did not fail."""
    writer, connection = make_direct_writer(module, loop, clock, writers)
    writer.write(event_write("e0"))
    connection.fail_next = CallTimeoutError("publish_event", 2, 0.5)
    writer.write(event_write("e1"))
    assert module.stored == ["e0", "e1"]
    health = writer.health()
    assert (health.direct, health.direct_fallbacks, health.resent) == (1, 1, 0)
    assert (health.written, health.failed, health.last_error) == (2, 0, None)


def test_a_stop_fails_a_waited_write_in_flight_and_counts_it(
    module: FakeModule, loop: LoopThread, clock: Clock, writers: list[OrderedWriter]
) -> None:
    """A write the loop was sending when the writer stopped fails with PersistenceError, and
    `health` then says so: nothing pending, one failed."""
    writer, _ = make_direct_writer(module, loop, clock, writers)
    module.hold.clear()
    in_flight = writer.submit(event_write("e0"))
    assert module.entered.wait(30)  # the loop's call reached the module
    writer.stop()
    module.hold.set()
    with pytest.raises(PersistenceError, match="stopped before writing it"):
        in_flight.result(timeout=30)
    health = writer.health()
    assert (health.pending, health.failed, health.written) == (0, 1, 0)


def failing_when_told(
    connection: FakeLaneConnection, error: Exception
) -> tuple[threading.Event, threading.Event]:
    """Makes the lane's next call raise ``error`` once told: returns (set when the call is on
    the lane, set it to let the call fail)."""
    on_lane, fail_now = threading.Event(), threading.Event()

    def wait_to_be_told() -> None:
        on_lane.set()
        assert fail_now.wait(30)

    connection.before_failing = wait_to_be_told
    connection.fail_next = error
    return on_lane, fail_now


def publishing(
    writer: OrderedWriter, event_id: str
) -> tuple[threading.Thread, list[BaseException]]:
    """Starts a thread writing event ``event_id`` (`OrderedWriter.write`); returns it and the
    list that gets what it raised."""
    outcome: list[BaseException] = []

    def publish() -> None:
        try:
            writer.write(event_write(event_id))
        except BaseException as error:
            outcome.append(error)

    publisher = threading.Thread(target=publish)
    publisher.start()
    return publisher, outcome


@pytest.mark.parametrize(
    "lane_failure",
    [
        CallTimeoutError("publish_event", 2, 0.5),
        OutcomeUnknownError("publish_event", 2, "the connection closed"),
    ],
    ids=["timeout", "closed"],
)
def test_a_flush_during_a_failing_direct_write_waits_for_its_queued_retry(
    module: FakeModule,
    loop: LoopThread,
    clock: Clock,
    writers: list[OrderedWriter],
    lane_failure: Exception,
) -> None:
    """A barrier submitted while a direct write is on the lane completes only after that write
    is stored, also when the lane fails and the write takes the queue: it stays pending
    throughout and goes ahead of the barrier (it used to be uncounted for a moment and then
    queued behind the barrier, which completed before it)."""
    writer, connection = make_direct_writer(module, loop, clock, writers)
    on_lane, fail_now = failing_when_told(connection, lane_failure)
    write = event_write("e0")
    future = write.future
    assert future is not None
    publisher = threading.Thread(target=writer.write, args=(write,))
    publisher.start()
    assert on_lane.wait(30)
    assert writer.health().pending == 1
    barrier = writer.barrier()
    seen_by_the_barrier: list[tuple[bool, list[str]]] = []
    barrier.add_done_callback(  # runs as the barrier completes, on the writer's loop
        lambda _done: seen_by_the_barrier.append((future.done(), list(module.stored)))
    )
    fail_now.set()
    barrier.result(timeout=30)
    publisher.join(30)
    assert not publisher.is_alive()
    assert seen_by_the_barrier == [(True, ["e0"])]
    health = writer.health()
    assert (health.direct, health.direct_fallbacks) == (0, 1)
    assert (health.pending, health.written, health.failed) == (0, 1, 0)


def test_a_direct_write_failing_after_the_writer_stopped_fails_and_is_counted(
    module: FakeModule, loop: LoopThread, clock: Clock, writers: list[OrderedWriter]
) -> None:
    """The lane fails (the recorder's close closes it) after the writer stopped: the write
    cannot take the queue any more, so it fails with PersistenceError, counted as failed."""
    writer, connection = make_direct_writer(module, loop, clock, writers)
    on_lane, fail_now = failing_when_told(
        connection, OutcomeUnknownError("publish_event", 2, "the connection closed")
    )
    publisher, outcome = publishing(writer, "e0")
    assert on_lane.wait(30)
    writer.stop()
    fail_now.set()
    publisher.join(30)
    assert not publisher.is_alive()
    (error,) = outcome
    assert isinstance(error, PersistenceError)
    assert "stopped before writing it" in str(error)
    health = writer.health()
    assert (health.pending, health.failed, health.written, health.direct_fallbacks) == (0, 1, 0, 1)
    assert module.stored == []


def test_after_the_last_barrier_no_write_is_taken(
    module: FakeModule, loop: LoopThread, clock: Clock, writers: list[OrderedWriter]
) -> None:
    """`barrier(last=True)` (a recorder's close) seals the writer: a later write, on the lane
    or the queue, raises PersistenceError at once, nothing sent, nothing counted."""
    writer, connection = make_direct_writer(module, loop, clock, writers)
    writer.write(event_write("e0"))
    writer.barrier(last=True).result(timeout=30)
    with pytest.raises(PersistenceError, match="takes no more writes"):
        writer.write(event_write("e1"))
    with pytest.raises(PersistenceError, match="takes no more writes"):
        writer.queue(event_write("e2"))
    with pytest.raises(PersistenceError, match="takes no more writes"):
        writer.barrier()
    assert module.stored == ["e0"]
    assert len(connection.threads) == 1
    health = writer.health()
    assert (health.pending, health.written, health.failed) == (0, 1, 0)


def test_a_direct_write_its_thread_abandons_is_counted_failed_not_pending(
    module: FakeModule, loop: LoopThread, clock: Clock, writers: list[OrderedWriter]
) -> None:
    """A KeyboardInterrupt on the publishing thread during the lane's call: the write's
    outcome is unknown and nobody waits for it; it is counted failed, not pending for ever,
    and the writer goes on."""
    writer, connection = make_direct_writer(module, loop, clock, writers)

    def interrupted() -> None:
        raise KeyboardInterrupt

    connection.before_failing = interrupted
    connection.fail_next = OutcomeUnknownError("publish_event", 2, "unused")
    publisher, outcome = publishing(writer, "e0")
    publisher.join(30)
    assert not publisher.is_alive()
    assert [type(error) for error in outcome] == [KeyboardInterrupt]
    health = writer.health()
    assert (health.pending, health.failed, health.written, health.last_error) == (
        0,
        1,
        0,
        "event 'e0': its direct write was cut short",
    )
    writer.write(event_write("e1"))
    assert module.stored == ["e1"]
