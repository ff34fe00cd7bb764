"""InMemoryRecorder: the Recorder contract, plus what is particular to keeping data in memory."""

from __future__ import annotations

import pytest

from nerv_inner_universe.nerv import Event, InMemoryRecorder, Recorder
from tests.recorder_contract import RecorderContract


class TestInMemoryRecorder(RecorderContract):
    @pytest.fixture
    def recorder(self) -> Recorder:
        return InMemoryRecorder()


def test_closing_keeps_the_data_for_the_next_runtime() -> None:
    recorder = InMemoryRecorder()
    event = Event.create("X")
    recorder.record_event(event)
    recorder.flush()
    recorder.close()
    assert recorder.read_events() == [event]
    recorder.record_event(Event.create("Y"))
    assert len(recorder.read_events()) == 2


def test_a_recorded_event_is_not_changed_by_its_caller() -> None:
    recorder = InMemoryRecorder()
    data = {"list": [1]}
    recorder.record_event(Event.create("X", data))
    data["list"].append(2)
    assert recorder.read_events()[0].data == {"list": [1]}
