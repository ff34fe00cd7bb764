"""NERV runtimes persisted in Inner Universe: restart and replay, two processes, an outage."""

from __future__ import annotations

import time

import attrs
import pytest

from nerv_inner_universe.nerv import Event, Nerv, PatchDelta, RecordConflictError
from nerv_inner_universe.plugin import InnerUniverseRecorder
from nerv_inner_universe.plugin.follower import RECHECKED
from tests.integration.http_api import Database
from tests.integration.plugin.conftest import RuntimeFactory, nerv_config


def work(runtime: Nerv, tag: str) -> None:
    """A little of everything: events, versions and deltas."""
    bus, store, projector = runtime.event_bus, runtime.temporal_store, runtime.state_projector
    for step in range(3):
        bus.publish("AGENT_STEP", {"step": step, "by": tag}, source=tag, metadata={"n": step})
    store.commit({"plan": ["a"], "score": 1.5}, "first plan")
    store.commit({"plan": ["a", "b"], "score": 2.0, "done": False}, "second plan")
    projector.apply_delta({"status": "running"}, "start", source=tag, tags=["lifecycle"])
    projector.apply_delta(PatchDelta({"progress": 0.5}), "half way")


def without_replay_flag(events: list[Event]) -> list[Event]:
    return [attrs.evolve(event, replayed=False) for event in events]


def test_restart_restores_bus_store_and_projector(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    config = nerv_config(inner_universe, events="async")
    first = runtimes(config)
    work(first, "first")
    history = first.event_bus.get_history(limit=None)
    versions = first.temporal_store.get_history()
    state = first.state_projector.get_current_state()
    deltas = first.state_projector.get_delta_history()
    first.stop()

    second = runtimes(config)
    replayed = second.event_bus.get_history(limit=None)
    assert all(event.replayed for event in replayed)
    assert without_replay_flag(replayed) == history
    assert second.temporal_store.get_history() == versions
    assert second.temporal_store.get_current_version_id() == versions[-1].version_id
    assert second.state_projector.get_current_state() == state
    assert second.state_projector.get_delta_history() == deltas

    # The restored runtime goes on where the first stopped, and a third sees both.
    second.temporal_store.commit({"plan": ["a", "b", "c"]}, "third plan")
    second.state_projector.apply_delta({"progress": 1.0}, "done")
    second.stop()
    third = runtimes(config)
    assert [v.change_description for v in third.temporal_store.get_history()] == [
        "first plan",
        "second plan",
        "third plan",
    ]
    assert third.state_projector.get_current_state() == {
        "status": "running",
        "progress": 1.0,
    }


def wait_for(predicate: object, timeout: float = 15.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for remote events"
        time.sleep(0.05)


def test_a_restarted_recorder_knows_what_the_replayed_events_hold(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    config = nerv_config(inner_universe, events="async")
    first = runtimes(config)
    data = {"score": 1.5, "name": "é", "at": [1, None]}
    first.event_bus.publish("SCORED", data, source="s", metadata={"k": {"v": 2}})
    first.stop()

    second = runtimes(config)
    recorder = second.recorder
    assert isinstance(recorder, InnerUniverseRecorder)
    [replayed] = second.event_bus.get_history(limit=None)
    # Remembered from the replayed row: the same content again is nothing to write, other
    # content under its id is refused at once (an async write would fail only later).
    recorder.record_event(replayed)
    recorder.record_event(attrs.evolve(replayed, replayed=False, data=dict(data)))
    with pytest.raises(RecordConflictError, match="different content"):
        recorder.record_event(attrs.evolve(replayed, replayed=False, data={"score": 2}))
    recorder.flush()
    assert recorder.read_events() == without_replay_flag([replayed])


@pytest.mark.parametrize("events", ["sync", "async"])
def test_other_content_under_an_id_the_bus_has_seen_is_refused(
    inner_universe: Database, runtimes: RuntimeFactory, events: str
) -> None:
    """An id the bus accepted before (published in this process, or replayed at start) is
    passed over by the bus, but its guard still asks the recorder: the same content again is
    nothing to write, other content is RecordConflictError for the publisher, as it is for a
    runtime that never saw the id. Nothing stored changes."""
    config = nerv_config(inner_universe, events=events, follow_remote=False)
    first = runtimes(config)
    order = Event("order-1", "ORDER", {"qty": 1}, 1_700_000_000.0)
    first.event_bus.publish_event(order)
    first.event_bus.publish_event(order)
    with pytest.raises(RecordConflictError, match="different content"):
        first.event_bus.publish_event(attrs.evolve(order, data={"qty": 999}))
    first.stop()

    second = runtimes(config)
    assert [e.id for e in second.event_bus.get_history(limit=None)] == ["order-1"]
    second.event_bus.publish_event(order)
    with pytest.raises(RecordConflictError, match="different content"):
        second.event_bus.publish_event(attrs.evolve(order, data={"qty": 5}))
    recorder = second.recorder
    assert isinstance(recorder, InnerUniverseRecorder)
    recorder.flush()
    assert recorder.read_events() == [order]


def test_two_processes_see_each_others_events_once_in_log_order(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    config = nerv_config(inner_universe, events="sync")
    alice, bob = runtimes(config), runtimes(config)
    for n in range(5):
        alice.event_bus.publish("CHAT", {"from": "alice", "n": n})
        bob.event_bus.publish("CHAT", {"from": "bob", "n": n})

    def everyone_has_ten() -> bool:
        return all(len(r.event_bus.get_history("CHAT", limit=None)) == 10 for r in (alice, bob))

    wait_for(everyone_has_ten)
    ids_alice = {e.id for e in alice.event_bus.get_history("CHAT", limit=None)}
    ids_bob = {e.id for e in bob.event_bus.get_history("CHAT", limit=None)}
    assert ids_alice == ids_bob
    assert len(ids_alice) == 10

    # The log has one order; each process received the other's events in that order.
    log_order = [
        row["event_id"]
        for row in sorted(inner_universe.sql("SELECT * FROM event_log"), key=lambda r: r["seq"])
        if row["event_type"] == "CHAT"
    ]
    assert sorted(log_order) == sorted(ids_alice)
    for runtime, other in ((alice, "bob"), (bob, "alice")):
        received = [
            e.id
            for e in reversed(runtime.event_bus.get_history("CHAT", limit=None))
            if e.data["from"] == other
        ]
        assert received == [i for i in log_order if i in set(received)]

    # Nothing was echoed back as a second copy: each id is in the log exactly once.
    assert len(log_order) == len(set(log_order)) == 10
    # A newcomer replays the same total order.
    carol = runtimes(config)
    replay = [e.id for e in reversed(carol.event_bus.get_history("CHAT", limit=None))]
    assert replay == log_order


def test_an_outage_while_publishing_loses_nothing(
    isolated_inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    db = isolated_inner_universe
    runtime = runtimes(nerv_config(db, events="async", retry_for=120.0))
    published = [runtime.event_bus.publish("TICK", {"n": n}) for n in range(20)]
    assert runtime.recorder is not None
    runtime.recorder.flush()
    db.server.stop()  # the server goes away ...
    published += [runtime.event_bus.publish("TICK", {"n": n}) for n in range(20, 60)]
    db.server.start()  # ... and comes back on the same data dir and port
    published += [runtime.event_bus.publish("TICK", {"n": n}) for n in range(60, 80)]
    runtime.stop()  # flushes: waits until every queued event is stored
    stored = [r["event_id"] for r in db.sql("SELECT * FROM event_log") if r["event_type"] == "TICK"]
    assert sorted(stored) == sorted(published)
    assert len(stored) == len(set(stored)) == 80


def test_following_keeps_no_log_rows_and_a_reconnect_rechecks_a_bounded_tail(
    isolated_inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    db = isolated_inner_universe
    history = RECHECKED + 1000
    follower = runtimes(nerv_config(db, events="async", retry_for=120.0))
    writer = runtimes(nerv_config(db, events="async", retry_for=120.0, follow_remote=False))
    received: list[int] = []
    follower.event_bus.subscribe("TICK", lambda event: received.append(event.data["n"]))
    for n in range(history):
        writer.event_bus.publish("TICK", {"n": n})
    assert writer.recorder is not None
    writer.recorder.flush()
    recorder = follower.recorder
    assert isinstance(recorder, InnerUniverseRecorder)
    wait_for(lambda: len(received) == history, timeout=120.0)
    assert received == list(range(history)), "in log order"
    before = recorder.health().log_rows_followed

    db.server.stop()
    db.server.start()
    for n in range(history, history + 3):
        writer.event_bus.publish("TICK", {"n": n})
    writer.recorder.flush()
    wait_for(lambda: len(received) == history + 3, timeout=120.0)
    assert received == list(range(history + 3)), "once each, in log order"
    again = recorder.health().log_rows_followed - before
    # The tail a crash could have lost is checked again, not the whole history.
    assert again <= RECHECKED + 50, f"{again} rows fetched again after the reconnect"
