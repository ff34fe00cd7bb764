"""The Recorder contract, as tests every persistence backend must pass.

Subclass :class:`RecorderContract` in a test module and give it a ``recorder`` fixture that
returns a fresh, empty backend::

    class TestMyRecorder(RecorderContract):
        @pytest.fixture
        def recorder(self) -> Recorder:
            return MyRecorder(...)

The items recorded here come from a real TemporalStore and StateProjector, so they have the
shapes the runtime writes.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerv_inner_universe.delta import JSON, DeltaError, Operation, Set, json_equal
from nerv_inner_universe.nerv import (
    ConcurrencyConflictError,
    DeltaMetadata,
    Event,
    InvalidEventError,
    RecordConflictError,
    Recorder,
    StateProjector,
    TemporalStore,
    UnknownVersionError,
    VersionedState,
)
from tests.strategies import json_objects, json_values

# Each example records items with fresh ids (or a fresh timeline), so sharing one backend
# across a test's examples is sound.
# One backend instance serves all examples, and every backend subclasses the contract (so a
# test method runs from several classes): both are the contract's design.
shared_backend = settings(
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
)

VersionRecord = tuple[VersionedState, list[Operation]]
DeltaRecord = tuple[int, DeltaMetadata, list[Operation]]

AWKWARD_DATA: list[Any] = [
    None,
    True,
    0,
    -(2**63),
    2**63 - 1,
    1.0,
    -0.5,
    1e-7,
    "",
    'héllo 🌍 \u0000 "quoted"',
    [],
    {},
    {"nested": {"list": [1, 2.5, None, [{}]], "b": False}, "": "empty key"},
]


def committed(states: list[Any]) -> list[VersionRecord]:
    """``(version, operations)`` for each state committed in turn to a new TemporalStore."""
    store = TemporalStore()
    records: list[VersionRecord] = []
    store.add_observer(lambda version, ops: records.append((version, ops)))
    for n, state in enumerate(states):
        store.commit(state, f"commit {n}")
    return records


def committed_after(parent: VersionedState, states: list[Any]) -> list[VersionRecord]:
    """Like :func:`committed`, on top of ``parent`` (a rival writer's view of the timeline)."""
    store = TemporalStore()
    store.restore([parent])
    records: list[VersionRecord] = []
    store.add_observer(lambda version, ops: records.append((version, ops)))
    for state in states:
        store.commit(state)
    return records


def applied(patches: list[dict[str, Any]], tags: tuple[str, ...] = ()) -> list[DeltaRecord]:
    """``(index, metadata, operations)`` for each patch applied in turn to a new projector."""
    projector = StateProjector({})
    records: list[DeltaRecord] = []
    projector.add_observer(
        lambda index, delta, metadata, ops: records.append((index, metadata, ops or []))
    )
    for n, patch in enumerate(patches):
        projector.apply_delta(patch, f"delta {n}", source="contract", tags=tags)
    return records


class RecorderContract:
    """What every Recorder must do; see the module docstring for how to use it."""

    def test_a_new_recorder_is_empty(self, recorder: Recorder) -> None:
        assert recorder.read_events() == []
        assert recorder.read_versions("main") == []
        assert recorder.read_deltas("main") == []

    def test_events_round_trip_in_record_order(self, recorder: Recorder) -> None:
        events = [
            Event.create(f"TYPE_{n % 3}", data, source=None if n % 2 else "src", metadata={"n": n})
            for n, data in enumerate(AWKWARD_DATA)
        ]
        for event in events:
            recorder.record_event(event)
        assert recorder.read_events() == events
        replayed = [event.as_replayed() for event in events]
        assert list(recorder.replay_events()) == replayed  # marked: the runtime publishes them
        assert list(recorder.replay_events()) == replayed  # a stream can be read again

    def test_event_values_keep_their_json_kinds(self, recorder: Recorder) -> None:
        event = Event.create("KINDS", {"int": 1, "float": 1.0, "bool": True, "list": [0, 0.0]})
        recorder.record_event(event)
        [read] = recorder.read_events()
        # JSON objects are unordered (a canonical store sorts keys): compare kinds by key.
        assert {k: type(v) for k, v in read.data.items()} == {
            "int": int,
            "float": float,
            "bool": bool,
            "list": list,
        }
        assert [type(v) for v in read.data["list"]] == [int, float]

    def test_event_timestamps_survive_to_the_microsecond(self, recorder: Recorder) -> None:
        event = attrs.evolve(Event.create("TIME"), timestamp=1_700_000_000.123456)
        recorder.record_event(event)
        assert recorder.read_events()[0].timestamp == 1_700_000_000.123456

    def test_replayed_is_not_recorded_content(self, recorder: Recorder) -> None:
        event = Event.create("X")
        recorder.record_event(attrs.evolve(event, replayed=True))
        assert recorder.read_events() == [event]

    @shared_backend
    @given(data=json_values(), metadata=json_objects())
    def test_any_json_survives_as_event_data(
        self, recorder: Recorder, data: JSON, metadata: dict[str, JSON]
    ) -> None:
        event = Event.create("ANY", data, metadata=metadata)
        recorder.record_event(event)
        [read] = [e for e in recorder.read_events() if e.id == event.id]
        assert json_equal(read.data, data)
        assert json_equal(read.metadata, metadata)

    def test_recording_an_identical_event_again_does_nothing(self, recorder: Recorder) -> None:
        event = Event.create("X", {"a": [1]}, metadata={"m": 1})
        recorder.record_event(event)
        recorder.record_event(attrs.evolve(event, data={"a": [1]}))
        assert recorder.read_events() == [event]

    def test_an_event_id_with_different_content_conflicts(self, recorder: Recorder) -> None:
        event = Event.create("X", 1)
        recorder.record_event(event)
        for changed in (
            attrs.evolve(event, data=True),
            attrs.evolve(event, type="Y"),
            attrs.evolve(event, source="other"),
            attrs.evolve(event, metadata={"m": 1}),
            attrs.evolve(event, timestamp=event.timestamp + 1),
        ):
            with pytest.raises(RecordConflictError):
                recorder.record_event(changed)
        assert recorder.read_events() == [event]

    def test_events_that_are_not_json_are_refused(self, recorder: Recorder) -> None:
        with pytest.raises(DeltaError):
            recorder.record_event(Event.create("X", {"set": {1}}))
        with pytest.raises(InvalidEventError, match="metadata") as caught:  # refused when built
            recorder.record_event(Event.create("X", metadata={"t": (1, 2)}))  # type: ignore[dict-item]
        assert isinstance(caught.value.__cause__, DeltaError)
        assert recorder.read_events() == []

    def test_versions_round_trip_with_their_operations(self, recorder: Recorder) -> None:
        records = committed([{"a": 1}, {"a": 1, "b": [1, 2.5]}, {"b": [2.5]}, AWKWARD_DATA])
        for version, ops in records:
            recorder.record_version("main", version, ops)
        assert recorder.read_versions("main") == records

    @shared_backend
    @given(states=st.lists(json_values(), min_size=1, max_size=4))
    def test_any_json_survives_as_versions(self, recorder: Recorder, states: list[JSON]) -> None:
        timeline = f"t-{uuid.uuid4()}"
        records = committed(states)
        for version, ops in records:
            recorder.record_version(timeline, version, ops)
        read = recorder.read_versions(timeline)
        assert [v.data_hash for v, _ in read] == [v.data_hash for v, _ in records]
        assert all(json_equal(v.data, state) for (v, _), state in zip(read, states, strict=True))
        assert [ops for _, ops in read] == [ops for _, ops in records]

    def test_timelines_are_independent(self, recorder: Recorder) -> None:
        first, second = committed([1, 2]), committed(["x"])
        recorder.record_version("one", *first[0])
        recorder.record_version("two", *second[0])
        recorder.record_version("one", *first[1])
        assert recorder.read_versions("one") == first
        assert recorder.read_versions("two") == second
        assert recorder.read_versions("three") == []

    def test_a_version_whose_parent_is_not_the_head_conflicts(self, recorder: Recorder) -> None:
        records = committed([1, 2])
        for version, ops in records:
            recorder.record_version("main", version, ops)
        [sibling] = committed_after(records[0][0], [3])
        with pytest.raises(ConcurrencyConflictError):
            recorder.record_version("main", *sibling)
        [rival_root] = committed([9])
        with pytest.raises(ConcurrencyConflictError):
            recorder.record_version("main", *rival_root)
        assert recorder.read_versions("main") == records

    def test_a_version_whose_parent_was_never_recorded_is_refused(self, recorder: Recorder) -> None:
        records = committed([1, 2])
        with pytest.raises(UnknownVersionError):
            recorder.record_version("main", *records[1])
        assert recorder.read_versions("main") == []

    def test_recording_an_identical_version_again_does_nothing(self, recorder: Recorder) -> None:
        records = committed([{"a": 1}, {"a": 2}])
        for version, ops in records + records:
            recorder.record_version("main", version, ops)
        assert recorder.read_versions("main") == records

    def test_a_version_id_with_different_content_conflicts(self, recorder: Recorder) -> None:
        [(version, ops)] = committed([{"a": 1}])
        recorder.record_version("main", version, ops)
        with pytest.raises(RecordConflictError):
            recorder.record_version("main", attrs.evolve(version, change_description="x"), ops)
        with pytest.raises(RecordConflictError):
            recorder.record_version("other", version, ops)
        assert recorder.read_versions("main") == [(version, ops)]
        assert recorder.read_versions("other") == []

    def test_deltas_round_trip_in_record_order(self, recorder: Recorder) -> None:
        records = applied([{"a": 1}, {"b": AWKWARD_DATA}, {"a": None}], tags=("x", "y"))
        for index, metadata, ops in records:
            recorder.record_delta("main", index, metadata, ops)
        assert recorder.read_deltas("main") == records

    def test_delta_indices_may_skip(self, recorder: Recorder) -> None:
        records = applied([{"a": 1}, {"b": 2}, {"c": 3}])
        kept = [records[0], records[2]]
        for index, metadata, ops in kept:
            recorder.record_delta("main", index, metadata, ops)
        assert recorder.read_deltas("main") == kept

    def test_streams_are_independent(self, recorder: Recorder) -> None:
        first, second = applied([{"a": 1}]), applied([{"b": 2}, {"c": 3}])
        for stream, records in (("one", first), ("two", second)):
            for index, metadata, ops in records:
                recorder.record_delta(stream, index, metadata, ops)
        assert recorder.read_deltas("one") == first
        assert recorder.read_deltas("two") == second

    def test_recording_an_identical_delta_again_does_nothing(self, recorder: Recorder) -> None:
        [(index, metadata, ops)] = applied([{"a": 1}])
        recorder.record_delta("main", index, metadata, ops)
        recorder.record_delta("main", index, attrs.evolve(metadata), list(ops))
        assert recorder.read_deltas("main") == [(index, metadata, ops)]

    def test_a_delta_index_with_different_content_conflicts(self, recorder: Recorder) -> None:
        [(index, metadata, ops)] = applied([{"a": 1}])
        recorder.record_delta("main", index, metadata, ops)
        with pytest.raises(RecordConflictError):
            recorder.record_delta("main", index, metadata, [Set("/a", 2)])
        with pytest.raises(RecordConflictError):
            recorder.record_delta("main", index, attrs.evolve(metadata, description="x"), ops)
        assert recorder.read_deltas("main") == [(index, metadata, ops)]

    def test_what_is_read_is_a_copy(self, recorder: Recorder) -> None:
        recorder.record_event(Event.create("X", {"list": [1]}))
        [(version, ops)] = committed([{"list": [1]}])
        recorder.record_version("main", version, ops)
        read: list[Any] = [
            recorder.read_events()[0].data,
            recorder.read_versions("main")[0][0].data,
        ]
        for copy in read:
            copy["list"].append(2)
        assert recorder.read_events()[0].data == {"list": [1]}
        assert recorder.read_versions("main")[0][0].data == {"list": [1]}

    def test_flush_and_close(self, recorder: Recorder) -> None:
        recorder.record_event(Event.create("X"))
        recorder.flush()
        assert len(recorder.read_events()) == 1
        recorder.close()
