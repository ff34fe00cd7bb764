"""Replay: a second runtime on the same recorder rebuilds what the first one had."""

from __future__ import annotations

import enum
from collections.abc import Iterator

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.typing import EventDict

from nerv_inner_universe.delta import Set
from nerv_inner_universe.nerv import (
    Event,
    InMemoryRecorder,
    Nerv,
    OperationsDelta,
)
from tests.strategies import json_objects, json_values, operation_for
from tests.unit.nerv.plugins import ProvidesRecorder


class EventType(enum.Enum):
    SYSTEM_INIT = enum.auto()


def runtime_on(recorder: InMemoryRecorder) -> Nerv:
    return Nerv(plugins=[ProvidesRecorder(recorder)])


def work(runtime: Nerv, round_: int) -> None:
    """Publish, commit and apply a little of everything."""
    bus, store, projector = runtime.event_bus, runtime.temporal_store, runtime.state_projector
    bus.publish(EventType.SYSTEM_INIT, {"round": round_}, source="test", metadata={"m": [1.5]})
    first = store.commit({"round": round_, "items": []}, "start")
    store.commit({"round": round_, "items": [1, 2.0, True, None]}, "fill")
    store.revert(first)
    projector.apply_delta({f"round{round_}": round_}, "patch", source="test", tags=["p"])
    projector.apply_delta(OperationsDelta([Set(f"/list{round_}", ["x"])]), "ops")
    bus.publish("ENTITY_CREATED", None)


def assert_replayed(original: Nerv, replayed: Nerv) -> None:
    before = original.event_bus.get_history(limit=None)
    assert replayed.event_bus.get_history(limit=None) == [
        attrs.evolve(e, replayed=True) for e in before
    ]
    assert replayed.temporal_store.get_history() == original.temporal_store.get_history()
    assert replayed.temporal_store.get() == original.temporal_store.get()
    projector, rebuilt = original.state_projector, replayed.state_projector
    assert rebuilt.get_current_state() == projector.get_current_state()
    assert rebuilt.get_delta_history() == projector.get_delta_history()
    assert rebuilt.project(until=1) == projector.project(until=1)


def test_a_second_runtime_replays_the_first(logs: list[EventDict]) -> None:
    recorder = InMemoryRecorder()
    with runtime_on(recorder) as first:
        work(first, 1)

    second = runtime_on(recorder)
    seen: list[Event] = []
    second.event_bus.subscribe("*", seen.append)
    logs.clear()
    with second:
        assert_replayed(first, second)
        assert [e.type for e in seen] == ["SYSTEM_INIT", "ENTITY_CREATED"]
        assert all(e.replayed for e in seen)
    counts = {e["kind"]: e["count"] for e in logs if e["event"] == "nerv_replayed"}
    assert counts == {"versions": 3, "deltas": 2, "events": 2}


def test_replay_then_more_work_then_replay_again() -> None:
    recorder = InMemoryRecorder()
    with runtime_on(recorder) as first:
        work(first, 1)
    with runtime_on(recorder) as second:
        work(second, 2)
        assert [i for i, _ in second.state_projector.get_delta_history()] == [0, 1, 2, 3]
    with runtime_on(recorder) as third:
        assert_replayed(second, third)
        assert len(third.temporal_store.get_history()) == 6
        assert [e.data for e in third.event_bus.get_history("SYSTEM_INIT")] == [
            {"round": 2},
            {"round": 1},
        ]


def test_replayed_events_are_not_recorded_again() -> None:
    recorder = InMemoryRecorder()
    with runtime_on(recorder) as first:
        work(first, 1)
    for _ in range(2):
        with runtime_on(recorder):
            pass
    assert len(recorder.read_events()) == 2


def test_function_deltas_kept_local_are_missing_from_replay() -> None:
    recorder = InMemoryRecorder()
    config = {"nerv": {"function_delta": "keep_local"}}
    with Nerv(config, plugins=[ProvidesRecorder(recorder)]) as first:
        first.state_projector.apply_delta({"a": 1})
        first.state_projector.apply_delta(lambda state: {**state, "local": True})
        first.state_projector.apply_delta({"b": 2})
    with runtime_on(recorder) as second:
        assert second.state_projector.get_current_state() == {"a": 1, "b": 2}
        assert [i for i, _ in second.state_projector.get_delta_history()] == [0, 2]
        assert second.state_projector.apply_delta({"c": 3}) == 3


@settings(max_examples=30)
@given(st.data())
def test_any_sequence_of_changes_replays_identically(data: st.DataObject) -> None:
    recorder = InMemoryRecorder()
    actions = data.draw(
        st.lists(st.sampled_from(["publish", "commit", "revert", "patch", "ops"]), max_size=10)
    )
    with runtime_on(recorder) as first:
        bus, store, projector = first.event_bus, first.temporal_store, first.state_projector
        for action in actions:
            if action == "publish":
                bus.publish("ANY", data.draw(json_values()), metadata=data.draw(json_objects()))
            elif action == "commit":
                store.commit(data.draw(json_values()), data.draw(st.text(max_size=5)))
            elif action == "revert" and store.get_history():
                store.revert(data.draw(st.sampled_from(store.get_history())).version_id)
            elif action == "patch" and isinstance(projector.get_current_state(), dict):
                projector.apply_delta(
                    data.draw(json_objects()), tags=data.draw(st.lists(st.text()))
                )
            elif action == "ops":
                state = projector.get_current_state()
                projector.apply_delta(OperationsDelta([data.draw(operation_for(state))]))
    with runtime_on(recorder) as second:
        assert_replayed(first, second)


class StreamOnly(InMemoryRecorder):
    """Counts the events the runtime has pulled from `replay_events`; `read_events` is refused,
    so replay must stream."""

    def __init__(self) -> None:
        super().__init__()
        self.pulled = 0

    def read_events(self) -> list[Event]:
        raise AssertionError("replay read the whole log at once")

    def replay_events(self) -> Iterator[Event]:
        for event in super().read_events():
            self.pulled += 1
            yield event


def test_replay_delivers_each_event_as_it_is_pulled_from_the_stream() -> None:
    recorder = StreamOnly()
    for n in range(5):
        recorder.record_event(Event.create("E", {"n": n}))
    runtime = runtime_on(recorder)
    pulled_when_delivered: list[int] = []
    runtime.event_bus.subscribe("E", lambda _event: pulled_when_delivered.append(recorder.pulled))
    with runtime:
        assert pulled_when_delivered == [1, 2, 3, 4, 5]
