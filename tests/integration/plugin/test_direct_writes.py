"""Sync publishes go on the publishing thread (`DirectLane`) with ``events = "sync"``:
observable in `WriterHealth.direct`, in one order with the queued ones, refused with the same
typed errors, sent through the queue when the lane breaks, and kept for re-sending like queued
ones: a server SIGKILLed right after acknowledging them has them all after its restart.
Against the real server."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from nerv_inner_universe.nerv import Event, RecordConflictError
from nerv_inner_universe.plugin import InnerUniverseRecorder, RecorderClosedError
from tests.integration.http_api import Database
from tests.integration.plugin.conftest import wait_for

Recorders = Callable[..., InnerUniverseRecorder]


def logged_ids(db: Database) -> list[str]:
    """The ``event_id`` of every published event, in ``seq`` order (the module's own left
    out)."""
    rows = sorted(db.sql("SELECT * FROM event_log"), key=lambda row: row["seq"])
    return [row["event_id"] for row in rows if row["event_type"].startswith("T")]


def published(recorder: InnerUniverseRecorder, label: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        event = Event.create(f"T_{label}", {"n": n})
        recorder.record_event(event)
        ids.append(event.id)
    return ids


@pytest.mark.parametrize("protocol", ["bsatn", "json"])
def test_sync_publishes_are_sent_on_the_callers_thread_in_order(
    inner_universe: Database, recorder_for: Recorders, protocol: str
) -> None:
    db = inner_universe
    recorder = recorder_for(db, events="sync", protocol=protocol)
    ids = published(recorder, "A", 20)
    health = recorder.health().writer
    assert (health.direct, health.direct_fallbacks, health.written) == (20, 0, 20)
    assert health.retained > 0  # kept for re-sending like queued writes
    assert logged_ids(db) == ids  # stored before record_event returned
    assert len(db.sql("SELECT * FROM client_connection")) == 2  # the lane is a connection
    recorder.close()
    wait_for(lambda: db.sql("SELECT * FROM client_connection") == [], "both connections gone")


@pytest.mark.parametrize(
    "settings", [{"events": "async"}, {"events": "sync", "direct_writes": False}]
)
def test_no_lane_without_sync_direct_writes(
    inner_universe: Database, recorder_for: Recorders, settings: dict[str, object]
) -> None:
    """An async recorder, and a sync one with ``direct_writes = false`` (for a deployment near
    its ``max_connections``), hold one connection, and every write goes through the queue."""
    recorder = recorder_for(inner_universe, **settings)
    ids = published(recorder, "A", 3)
    recorder.flush()
    health = recorder.health().writer
    assert (health.direct, health.written) == (0, 3)
    assert logged_ids(inner_universe) == ids
    assert len(inner_universe.sql("SELECT * FROM client_connection")) == 1


def test_waited_writes_from_several_threads_keep_each_threads_order(
    inner_universe: Database, recorder_for: Recorders
) -> None:
    """Some go on the lane, some (the writer busy with another thread's) through the queue:
    every thread's events are stored in its own order, each once."""
    db = inner_universe
    recorder = recorder_for(db, events="sync", follow_remote=False)
    by_thread: dict[str, list[str]] = {}

    def publish(label: str) -> None:
        by_thread[label] = published(recorder, label, 40)

    threads = [threading.Thread(target=publish, args=(label,)) for label in "ABC"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    stored = logged_ids(db)
    assert sorted(stored) == sorted(id_ for ids in by_thread.values() for id_ in ids)
    for ids in by_thread.values():
        assert [id_ for id_ in stored if id_ in set(ids)] == ids
    health = recorder.health().writer
    assert (health.written, health.failed, health.pending) == (120, 0, 0)


def test_a_refused_direct_write_raises_the_typed_error_and_changes_nothing(
    inner_universe: Database, recorder_for: Recorders
) -> None:
    db = inner_universe
    first = recorder_for(db, events="sync")
    event = Event.create("T_X", {"n": 1})
    first.record_event(event)
    second = recorder_for(db, events="sync")
    before = db.snapshot()
    clash = attrs.evolve(event, data={"n": 2})
    with pytest.raises(RecordConflictError, match="already_exists"):
        second.record_event(clash)
    assert db.snapshot() == before
    health = second.health().writer
    assert (health.direct, health.direct_fallbacks, health.failed) == (1, 0, 1)
    second.record_event(Event.create("T_Y", {}))  # the lane goes on
    assert second.health().writer.direct == 2


def test_a_broken_lane_sends_the_write_through_the_queue_and_opens_again(
    isolated_inner_universe: Database, recorder_for: Recorders
) -> None:
    """A restart drops both connections: the first publish after it finds the lane's gone,
    takes the queue, and a later one the lane again."""
    db = isolated_inner_universe
    recorder = recorder_for(db, events="sync", follow_remote=False)
    ids = published(recorder, "A", 5)
    db.server.restart()
    wait_for(lambda: recorder.health().connected, "the recorder to reconnect")
    for n in range(50):  # once the writer is idle, a waited write finds the lane's gone
        ids += published(recorder, f"B{n}", 1)
        if recorder.health().writer.direct_fallbacks:
            break
    health = recorder.health().writer
    assert health.direct_fallbacks == 1
    direct_before = health.direct
    for n in range(50):  # and a later one opens it again
        ids += published(recorder, f"C{n}", 1)
        if recorder.health().writer.direct > direct_before:
            break
    assert recorder.health().writer.direct > direct_before
    assert recorder.health().writer.direct_fallbacks == 1
    assert logged_ids(db) == ids


def test_direct_writes_acknowledged_before_a_sigkill_are_all_there_after_the_restart(
    isolated_inner_universe: Database, recorder_for: Recorders
) -> None:
    """SpacetimeDB acknowledges before its commit log is fsynced: the writes the killed server
    forgot are sent again from what the writer kept, in order."""
    db = isolated_inner_universe
    recorder = recorder_for(db, events="sync", follow_remote=False)
    ids = published(recorder, "A", 60)
    assert recorder.health().writer.direct == 60
    db.server.kill()
    wait_for(lambda: not recorder.health().connected, "the recorder to see the kill")
    db.server.start()
    wait_for(lambda: recorder.health().connected, "the recorder to reconnect")
    ids += published(recorder, "B", 3)
    recorder.flush()
    assert logged_ids(db) == ids
    health = recorder.health().writer
    assert (health.failed, health.unrestorable) == (0, 0)


def test_direct_writes_a_restarted_server_forgot_are_sent_again_in_order(
    isolated_inner_universe: Database, recorder_for: Recorders, tmp_path: Path
) -> None:
    """The server comes back without the last writes it acknowledged (its data dir as it was
    before them: what a crash before the commit log reached the disk leaves): the writer
    finds which it lacks and sends them again, in order, before anything new."""
    db = isolated_inner_universe
    recorder = recorder_for(db, events="sync", follow_remote=False)
    ids = published(recorder, "A", 5)
    db.server.stop()  # durable: A is on disk
    shutil.copytree(db.server.root, tmp_path / "before")
    db.server.start()
    wait_for(lambda: recorder.health().connected, "the recorder to reconnect")
    forgotten = published(recorder, "B", 20)
    assert recorder.health().writer.direct >= 20
    db.server.kill()
    wait_for(lambda: not recorder.health().connected, "the recorder to see the kill")
    shutil.rmtree(db.server.root)
    shutil.copytree(tmp_path / "before", db.server.root)
    db.server.start()
    wait_for(lambda: recorder.health().connected, "the recorder to reconnect")
    later = published(recorder, "C", 3)
    recorder.flush()
    assert logged_ids(db) == ids + forgotten + later
    health = recorder.health().writer
    assert health.resent == 20
    assert (health.failed, health.unrestorable) == (0, 0)


def test_close_from_another_thread_while_publishing_raises_recorder_closed(
    inner_universe: Database, recorder_for: Recorders
) -> None:
    recorder = recorder_for(inner_universe, events="sync", follow_remote=False)
    begun = threading.Event()
    outcome: list[BaseException] = []

    def publish_until_closed() -> None:
        try:
            for n in range(1_000_000):
                recorder.record_event(Event.create("T_A", {"n": n}))
                begun.set()
        except BaseException as error:
            outcome.append(error)

    publisher = threading.Thread(target=publish_until_closed)
    publisher.start()
    assert begun.wait(60)
    recorder.close()
    publisher.join(30)
    assert not publisher.is_alive(), "a publisher ends once the recorder is closed"
    (error,) = outcome
    assert isinstance(error, RecorderClosedError)
    assert recorder.health().writer.direct >= 1
