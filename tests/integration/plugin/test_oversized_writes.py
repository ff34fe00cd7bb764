"""A write whose answer cannot fit the connection's ``max_message_bytes`` is refused before it
is sent (`OversizedWriteError`), and nothing changes: the answer to a write echoes it (and, to a
following connection, its rows), so sending it would drop the connection with the outcome
unknown on every try, stall the writer for ``retry_for`` and report a failure of a write that
was stored. A write within `writer.write_budget` is answered, even to a follower. Against the
real server, with both wire formats."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nerv_inner_universe.nerv import Event, EventBus
from nerv_inner_universe.plugin import InnerUniverseRecorder, OversizedWriteError
from nerv_inner_universe.plugin.translate import event_input
from nerv_inner_universe.plugin.writer import ECHO_FACTOR, event_bytes, write_budget
from tests.integration.http_api import Database
from tests.integration.plugin.conftest import RuntimeFactory, nerv_config, wait_for

SMALLEST_LIMIT = 64 << 10
"""The smallest ``max_message_bytes`` the settings accept."""
SMALL = {"max_message_bytes": SMALLEST_LIMIT, "retry_for": 30.0}
"""retry_for: were an answer over the limit, the writer would fail after it, not hang."""


@pytest.mark.parametrize("protocol", ["bsatn", "json"])
@pytest.mark.parametrize("events", ["sync", "async"])
def test_an_event_whose_answer_cannot_fit_is_refused_before_sending(
    inner_universe: Database,
    recorder_for: Callable[..., InnerUniverseRecorder],
    protocol: str,
    events: str,
) -> None:
    recorder = recorder_for(inner_universe, protocol=protocol, events=events, **SMALL)
    big = Event.create("BIG", {"pad": "x" * 100_000})
    with pytest.raises(OversizedWriteError, match="raise max_message_bytes") as refused:
        recorder.record_event(big)
    assert refused.value.budget == write_budget(SMALLEST_LIMIT)
    assert refused.value.size > refused.value.budget
    assert refused.value.needed == refused.value.size * ECHO_FACTOR
    assert repr(big.id) in str(refused.value)
    with pytest.raises(OversizedWriteError):  # not remembered as recorded: refused again
        recorder.record_event(big)

    later = [Event.create("SMALL", {"n": n}) for n in range(3)]
    for event in later:
        recorder.record_event(event)  # not held back behind the refused one
    recorder.flush()
    health = recorder.health().writer
    assert health.retries == 0  # nothing was sent that drops the connection
    assert health.failed == 0
    assert [event.id for event in recorder.read_events()] == [event.id for event in later]


@pytest.mark.parametrize("protocol", ["bsatn", "json"])
def test_the_largest_event_the_budget_admits_is_answered_to_a_follower(
    inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder], protocol: str
) -> None:
    settings = {"protocol": protocol, "events": "sync", **SMALL}
    writer = recorder_for(inner_universe, **settings)
    writer_bus, follower_bus = EventBus(), EventBus()
    writer.follow(writer_bus)  # the answer to the writer carries the row too
    follower = recorder_for(inner_universe, **settings)
    follower.follow(follower_bus)
    budget = write_budget(SMALLEST_LIMIT)
    bare = event_bytes(event_input(Event.create("EDGE", {"pad": ""})))
    edge = Event.create("EDGE", {"pad": "y" * (budget - bare)})
    assert event_bytes(event_input(edge)) == budget

    writer.record_event(edge)

    assert writer.health().writer.retries == 0  # its answer arrived: no drop
    wait_for(
        lambda: [e.id for e in follower_bus.get_history(limit=None)] == [edge.id],
        "the follower to receive the event",
    )
    assert follower.health().follow_error is None
    assert [event.id for event in follower.read_events()] == [edge.id]


def test_a_version_whose_answer_cannot_fit_is_refused_and_the_timeline_stays(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    runtime = runtimes(nerv_config(inner_universe, **SMALL))
    store = runtime.temporal_store
    first = store.commit({"small": True})
    with pytest.raises(OversizedWriteError, match="raise max_message_bytes"):
        store.commit({"pad": "z" * 100_000})
    assert store.get_current_version_id() == first
    recorder = runtime.recorder
    assert isinstance(recorder, InnerUniverseRecorder)
    assert [version.version_id for version, _ in recorder.read_versions("main")] == [first]
    second = store.commit({"small": False})  # the timeline goes on from its head
    assert [version.version_id for version, _ in recorder.read_versions("main")] == [first, second]
