"""An event whose text no store can carry (a lone surrogate, which UTF-8 cannot encode) fails
only itself, with a typed error, and leaves its id free: the corrected event is recorded.

`Event` refuses such text when built (tests/unit/nerv/test_events.py), and no public path is
known to let one by; these tests forge one past that check (``object.__setattr__`` on the
frozen event) to hold the recorder and the writer to their own guarantees for whatever might.
A version built by hand is not checked when built, so it reaches the writer as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nerv_inner_universe.client import ArgumentError
from nerv_inner_universe.delta import data_hash
from nerv_inner_universe.nerv import Event, VersionedState
from nerv_inner_universe.plugin import InnerUniverseRecorder
from nerv_inner_universe.plugin.errors import PersistenceError, WriteRefusedError
from nerv_inner_universe.plugin.outbox import Outbox
from tests.integration.http_api import Database

LONE = "\udc00"


def _forged(event: Event, source: str) -> Event:
    """``event`` with ``source`` set past Event's check."""
    object.__setattr__(event, "source", source)
    return event


@pytest.mark.parametrize("protocol", ["bsatn", "json"])
def test_an_event_the_client_cannot_encode_fails_only_itself_in_async_mode(
    inner_universe: Database,
    recorder_for: Callable[..., InnerUniverseRecorder],
    protocol: str,
) -> None:
    recorder = recorder_for(inner_universe, events="async", protocol=protocol, follow_remote=False)
    events = [Event.create("T", {"i": i}, source="ok") for i in range(20)]
    _forged(events[10], LONE)
    for event in events:
        recorder.record_event(event)
    with pytest.raises(PersistenceError, match="1 queued write") as failed:
        recorder.flush()
    assert isinstance(failed.value.__cause__, WriteRefusedError)
    assert events[10].id in str(failed.value.__cause__)
    assert isinstance(failed.value.__cause__.__cause__, ArgumentError)

    good = [event.id for i, event in enumerate(events) if i != 10]
    assert [event.id for event in recorder.read_events()] == good  # the others, in order
    fixed = Event(id=events[10].id, type="T", data={"i": 10}, timestamp=1.5, source="fixed")
    recorder.record_event(fixed)  # its id was released
    recorder.flush()
    assert [(e.id, e.source) for e in recorder.read_events()][-1] == (fixed.id, "fixed")


def test_a_refused_event_in_sync_mode_leaves_its_id_free(
    inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
) -> None:
    recorder = recorder_for(inner_universe, events="sync", follow_remote=False)
    bad = _forged(Event(id="ev-1", type="T", data={"a": 1}, timestamp=1.5), LONE)
    for _ in range(2):  # refused each time, never a silent no-op
        with pytest.raises(WriteRefusedError, match="ev-1"):
            recorder.record_event(bad)
    recorder.record_event(Event(id="ev-1", type="T", data={"a": 1}, timestamp=1.5, source="fixed"))
    assert [(e.id, e.source) for e in recorder.read_events()] == [("ev-1", "fixed")]


def test_an_event_the_outbox_cannot_store_is_refused_typed_and_changes_nothing(
    inner_universe: Database,
    outbox_recorder: Callable[[], InnerUniverseRecorder],
    outbox_path: Path,
) -> None:
    recorder = outbox_recorder()
    bad = _forged(Event(id="ev-1", type="T", data={"a": 1}, timestamp=1.5), LONE)
    for _ in range(2):  # refused each time, never a silent no-op
        with pytest.raises(PersistenceError, match="UnicodeEncodeError") as refused:
            recorder.record_event(bad)
        assert isinstance(refused.value.__cause__, UnicodeEncodeError)
    assert Outbox(outbox_path, inner_universe.name).pending() == []

    recorder.record_event(Event(id="ev-1", type="T", data={"a": 1}, timestamp=1.5, source="fixed"))
    recorder.flush()
    assert [(e.id, e.source) for e in recorder.read_events()] == [("ev-1", "fixed")]


def test_a_version_whose_text_the_client_cannot_encode_is_refused_typed_and_changes_nothing(
    inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
) -> None:
    # A VersionedState is not checked when built (TemporalStore.commit checks its arguments):
    # one made by hand reaches the writer, which refuses it as the client's encoder does.
    recorder = recorder_for(inner_universe, follow_remote=False)

    def version(description: str) -> VersionedState:
        return VersionedState(
            version_id="v-1",
            data={"a": 1},
            parent_version_id=None,
            timestamp=1.5,
            change_description=description,
            data_hash=data_hash({"a": 1}),
        )

    with pytest.raises(WriteRefusedError, match="v-1") as refused:
        recorder.record_version("main", version(LONE), [])
    assert isinstance(refused.value.__cause__, ArgumentError)
    assert recorder.timeline_names() == []

    recorder.record_version("main", version("fixed"), [])
    assert [v.change_description for v, _ in recorder.read_versions("main")] == ["fixed"]
