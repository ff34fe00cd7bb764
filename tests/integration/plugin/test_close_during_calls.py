"""`InnerUniverseRecorder.close` from another thread, during or before a call: the call raises
the plugin's typed `RecorderClosedError` (a `PersistenceError`), never the client's errors.
Against the real server."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

import pytest

from nerv_inner_universe.nerv import Entity, Event, EventBus
from nerv_inner_universe.plugin import (
    InnerUniverseRecorder,
    PersistenceError,
    RecorderClosedError,
)
from nerv_inner_universe.plugin import recorder as recorder_module
from tests.integration.http_api import Database
from tests.integration.plugin.conftest import wait_for

SMALLEST_LIMIT = 64 << 10
"""The smallest ``max_message_bytes``: the follower's catch-up reads many small pages."""


def test_calls_after_close_raise_recorder_closed(
    inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
) -> None:
    recorder = recorder_for(inner_universe)
    recorder.close()
    with pytest.raises(RecorderClosedError, match="is closed") as raised:
        recorder.follow(EventBus())
    assert raised.value.database == inner_universe.name
    with pytest.raises(RecorderClosedError):
        recorder.timeline_names()
    with pytest.raises(RecorderClosedError):
        recorder.read_versions("main")


@pytest.mark.parametrize("events", ["sync", "async"])
def test_writes_after_close_raise_recorder_closed(
    inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder], events: str
) -> None:
    """An event or a graph write (through a graph taken before the close) after `close`: the
    typed RecorderClosedError, not the writer's "has stopped" PersistenceError."""
    recorder = recorder_for(inner_universe, events=events, follow_remote=False)
    graph = recorder.graph()
    recorder.close()
    with pytest.raises(RecorderClosedError):
        recorder.record_event(Event.create("LATE", {}))
    with pytest.raises(RecorderClosedError):
        graph.create_entity(Entity(entity_type="late"))
    assert inner_universe.sql("SELECT * FROM entity") == []


def test_close_against_a_server_that_answers_nothing_still_closes(
    isolated_inner_universe: Database,
    recorder_for: Callable[..., InnerUniverseRecorder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A frozen server (SIGSTOP) never ends the connection: `close` stops waiting for it after
    `DISCONNECT_TIMEOUT`, drops it and closes all the same (it used to raise a bare
    TimeoutError and leave its loop running)."""
    monkeypatch.setattr(recorder_module, "DISCONNECT_TIMEOUT", 1.0)
    db = isolated_inner_universe
    recorder = recorder_for(db, events="sync", follow_remote=False)
    recorder.record_event(Event.create("STORED", {"n": 1}))
    pid = db.server.pid
    assert pid is not None
    os.killpg(pid, signal.SIGSTOP)
    try:
        recorder.close()
    finally:
        os.killpg(pid, signal.SIGCONT)
    with pytest.raises(RecorderClosedError):
        recorder.read_versions("main")


def started(call: Callable[[], object]) -> tuple[threading.Thread, list[BaseException | None]]:
    """Starts a thread running ``call``; returns it and the list that gets what it raised
    (None: it returned)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:
            outcome.append(error)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, name="started")
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("direct_writes", [True, False])
def test_a_publisher_waiting_on_a_frozen_server_gets_recorder_closed_from_close(
    isolated_inner_universe: Database,
    recorder_for: Callable[..., InnerUniverseRecorder],
    monkeypatch: pytest.MonkeyPatch,
    direct_writes: bool,
) -> None:
    """A sync publish waits on a frozen server (SIGSTOP) when `close` begins from another
    thread: close's flush waits for it until ``retry_for`` runs out, and the publisher gets
    `RecorderClosedError` (the write's PersistenceError as its cause), not the bare
    PersistenceError it got while close only said it was closed after flushing."""
    monkeypatch.setattr(recorder_module, "DISCONNECT_TIMEOUT", 1.0)
    db = isolated_inner_universe
    recorder = recorder_for(
        db,
        events="sync",
        follow_remote=False,
        direct_writes=direct_writes,
        call_timeout=1.0,
        retry_for=6.0,  # the window for close() to begin while the write is under way
    )
    recorder.record_event(Event.create("STORED", {"n": 1}))  # the lane (if any) is open
    pid = db.server.pid
    assert pid is not None
    os.killpg(pid, signal.SIGSTOP)
    try:
        publisher, outcome = started(
            lambda: recorder.record_event(Event.create("FROZEN", {"n": 2}))
        )
        wait_for(lambda: recorder.health().writer.pending == 1, "the publish to be under way")
        recorder.close()
        publisher.join(60)
        assert not publisher.is_alive(), "the publisher ends once the recorder is closed"
    finally:
        os.killpg(pid, signal.SIGCONT)
    (error,) = outcome
    assert isinstance(error, RecorderClosedError), repr(error)
    assert isinstance(error.__cause__, PersistenceError), repr(error.__cause__)
    assert not isinstance(error.__cause__, RecorderClosedError)
    assert "could not be written within" in str(error.__cause__)
    health = recorder.health().writer
    assert (health.pending, health.written, health.failed) == (0, 1, 1)


def test_a_publish_under_way_when_close_begins_is_still_stored(
    isolated_inner_universe: Database,
    recorder_for: Callable[..., InnerUniverseRecorder],
) -> None:
    """Close's flush waits for a sync publish under way on a frozen server; the server comes
    back, the write is stored and the publisher returns: only a write that fails meanwhile is
    told RecorderClosedError."""
    db = isolated_inner_universe
    recorder = recorder_for(db, events="sync", follow_remote=False, call_timeout=1.0)
    recorder.record_event(Event.create("STORED", {"n": 1}))
    pid = db.server.pid
    assert pid is not None
    event = Event.create("UNDER_WAY", {"n": 2})
    os.killpg(pid, signal.SIGSTOP)
    try:
        publisher, outcome = started(lambda: recorder.record_event(event))
        wait_for(lambda: recorder.health().writer.pending == 1, "the publish to be under way")
        closer = threading.Thread(target=recorder.close, name="closer")
        closer.start()
        wait_for(lambda: recorder.health().writer.pending == 2, "close's flush behind it")
    finally:
        os.killpg(pid, signal.SIGCONT)
    publisher.join(60)
    closer.join(60)
    assert not publisher.is_alive()
    assert not closer.is_alive()
    assert outcome == [None]
    assert [row["event_id"] for row in db.sql("SELECT * FROM event_log")].count(event.id) == 1
    health = recorder.health().writer
    assert (health.pending, health.written, health.failed) == (0, 2, 0)


def logged(db: Database, recorder_for: Callable[..., InnerUniverseRecorder]) -> None:
    """Writes 5,000 events of about 600 bytes (many pages to read at the smallest limit)."""
    writer = recorder_for(db, events="async", follow_remote=False)
    for n in range(5_000):
        writer.record_event(Event.create("LATER", {"n": n, "pad": "z" * 500}))
    writer.flush()


def closed_during(
    recorder: InnerUniverseRecorder, call: Callable[[], object], begun: threading.Event
) -> BaseException | None:
    """Runs ``call`` in a thread, closes ``recorder`` from this one once ``begun`` is set (or
    the call has ended), and returns what the call raised (None: it returned first)."""
    thread, outcome = started(call)
    wait_for(lambda: begun.is_set() or not thread.is_alive(), "the call to begin")
    recorder.close()
    thread.join(30)
    assert not thread.is_alive(), "the call ends once the recorder is closed"
    (result,) = outcome
    return result


@pytest.mark.parametrize("protocol", ["bsatn", "json"])
def test_close_from_another_thread_during_a_follow_catch_up_raises_a_typed_error(
    inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder], protocol: str
) -> None:
    first = recorder_for(inner_universe, events="sync", follow_remote=False)
    first.record_event(Event.create("FIRST", {}))
    reader = recorder_for(inner_universe, protocol=protocol, max_message_bytes=SMALLEST_LIMIT)
    assert len(reader.read_events()) == 1  # replay covers FIRST: follow catches up from there
    logged(inner_universe, recorder_for)
    bus = EventBus(max_history=0)
    delivering = threading.Event()
    bus.subscribe("*", lambda _event: delivering.set())

    result = closed_during(reader, lambda: reader.follow(bus), delivering)

    # The catch-up either finished before the close (returned) or was cut short by it.
    assert result is None or isinstance(result, RecorderClosedError), repr(result)


def test_close_from_another_thread_during_a_replay_raises_a_typed_error(
    inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
) -> None:
    logged(inner_universe, recorder_for)
    reader = recorder_for(inner_universe, max_message_bytes=SMALLEST_LIMIT)
    replaying = threading.Event()

    def replay() -> None:
        for _event in reader.replay_events():
            replaying.set()

    result = closed_during(reader, replay, replaying)

    # Before the fix a read under way waited for ever once close() stopped the loop.
    assert result is None or isinstance(result, RecorderClosedError), repr(result)


def test_a_second_close_returns_only_once_the_first_has_flushed(
    isolated_inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
) -> None:
    """Two threads close an async recorder whose queue waits on a frozen server (SIGSTOP): the
    close that began second waits for the first, so when either returns nothing is pending
    (it used to return at once, with every queued event still pending: a caller exiting then
    lost them)."""
    db = isolated_inner_universe
    recorder = recorder_for(db, events="async", follow_remote=False)
    pid = db.server.pid
    assert pid is not None
    events = [Event.create("QUEUED", {"n": n}) for n in range(200)]
    pending_when_returned: list[int] = []

    def close() -> None:
        recorder.close()
        pending_when_returned.append(recorder.health().writer.pending)

    os.killpg(pid, signal.SIGSTOP)
    try:
        for event in events:
            recorder.record_event(event)
        first = threading.Thread(target=close)
        first.start()

        def closing() -> bool:
            try:
                recorder.record_event(Event.create("PROBE", {}))
            except RecorderClosedError:
                return True
            return False

        wait_for(closing, what="the first close() to begin")
        second = threading.Thread(target=close)
        second.start()
        second.join(timeout=2.0)  # time for a close that does not wait to return (it used to)
    finally:
        os.killpg(pid, signal.SIGCONT)
    first.join()
    second.join()
    assert pending_when_returned == [0, 0]
    stored = {row["event_id"] for row in db.sql("SELECT event_id FROM event_log")}
    assert {event.id for event in events} <= stored
