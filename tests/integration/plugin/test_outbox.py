"""``events = "outbox"``: a publish is in the local outbox before it returns, and what a dead
process left there is written by the next recorder on that outbox."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nerv_inner_universe.nerv import Event
from nerv_inner_universe.plugin import InnerUniverseRecorder
from nerv_inner_universe.plugin.errors import PersistenceError, WriteRefusedError
from nerv_inner_universe.plugin.outbox import Outbox
from nerv_inner_universe.plugin.translate import event_input
from tests.integration.http_api import Database


def test_events_a_dead_process_left_in_the_outbox_are_written_first(
    inner_universe: Database,
    outbox_recorder: Callable[[], InnerUniverseRecorder],
    outbox_path: Path,
) -> None:
    left = [Event.create("LEFT", {"n": n}, source="dead") for n in range(3)]
    dead = Outbox(outbox_path, inner_universe.name)  # what a process that died after publish left
    for event in left:
        dead.add(event_input(event))
    dead.close()

    recorder = outbox_recorder()
    later = Event.create("LATER", {"n": 3}, source="alive")
    recorder.record_event(later)
    pending = Outbox(outbox_path, inner_universe.name).pending()
    assert later.id in {event.event_id for event in pending}
    recorder.flush()

    assert [event.id for event in recorder.read_events()] == [e.id for e in [*left, later]]


def test_outbox_publishes_are_stored_and_survive_a_second_recorder(
    outbox_recorder: Callable[[], InnerUniverseRecorder],
) -> None:
    first = outbox_recorder()
    events = [Event.create("E", {"n": n}) for n in range(20)]
    for event in events:
        first.record_event(event)
    first.close()  # their window has not passed: they stay in the outbox, harmlessly

    second = outbox_recorder()
    second.flush()
    assert [event.id for event in second.read_events()] == [event.id for event in events]


def test_an_event_the_module_refuses_leaves_the_outbox_and_blocks_no_later_start(
    inner_universe: Database,
    outbox_recorder: Callable[[], InnerUniverseRecorder],
    outbox_path: Path,
) -> None:
    first = outbox_recorder()
    refused = Event.create("CONFIG_UPDATED", {"x": 1})  # reserved for the module's own events
    good = Event.create("GOOD", {"x": 2})
    first.record_event(refused)
    first.record_event(good)
    with pytest.raises(PersistenceError, match="1 queued write") as failed:
        first.flush()  # reported once, as refused: it can never be written
    assert isinstance(failed.value.__cause__, WriteRefusedError)
    assert refused.id not in {
        event.event_id for event in Outbox(outbox_path, inner_universe.name).pending()
    }
    first.close()

    second = outbox_recorder()
    second.flush()  # nothing refused is sent again, so nothing fails
    assert [event.id for event in second.read_events()] == [good.id]
